/**
 * Just enough of the Dockerfile and .dockerignore formats for test/image.test.ts to read what the
 * image is made of: stages, their instructions, COPY sources and destinations, exec-form commands,
 * and whether a path of the build context is sent to the builder.
 */

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
}

export interface Stage {
  /** The `FROM` image. */
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Copy {
  /** `--from=<stage>`, or undefined for the build context. */
  from: string | undefined;
  sources: string[];
  destination: string;
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue; // comments (parser directives too), also inside an instruction
    const continued = /\\\s*$/.test(line);
    pending += continued ? line.replace(/\\\s*$/, ' ') : line;
    if (continued) continue;
    if (pending.trim()) logical.push(pending.trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`instruction before FROM: ${line}`);
    stage.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

export const instructions = (stage: Stage, keyword: string) =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword);

export function copies(stage: Stage): Copy[] {
  return instructions(stage, 'COPY').map(({ args }) => {
    const words = args.split(/\s+/);
    const flags = words.filter((word) => word.startsWith('--'));
    const paths = words.filter((word) => !word.startsWith('--'));
    const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
  });
}

/** An exec-form command (`["node", "-e", "…"]`) after the keyword and its `--options`. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

/** The `--name=value` options before a HEALTHCHECK's CMD. */
export function options(args: string): Record<string, string> {
  return Object.fromEntries(
    [...args.matchAll(/--([a-z-]+)=(\S+)/g)].map(([, name = '', value = '']) => [name, value]),
  );
}

/**
 * Whether `.dockerignore` lets `path` (relative, with /) into the build context: the last
 * pattern matching the path or one of its parent folders decides (`!` lets it in).
 */
export function sentToBuilder(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const parts = path.split('/');
  const prefixes = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
  let excluded = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${glob
        .split('**')
        .map((piece) =>
          piece
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('.*')}$`,
    );
    if (prefixes.some((prefix) => regex.test(prefix))) excluded = !negated;
  }
  return !excluded;
}
