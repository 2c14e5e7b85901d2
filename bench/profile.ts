/**
 * Summaries of V8 profiles: a CPU profile (.cpuprofile) by self time, a sampling heap profile
 * (.heapprofile) by the memory still allocated, each by function and by package.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

export interface ProfileEntry {
  name: string;
  /** ms of CPU (cpu profiles) or bytes (heap profiles). */
  amount: number;
  percent: number;
}

export interface ProfileSummary {
  kind: 'cpu' | 'heap';
  label: string;
  file: string;
  /** cpu: ms sampled outside idle; heap: bytes still allocated. */
  total: number;
  byPackage: ProfileEntry[];
  byFunction: ProfileEntry[];
}

/** A frame with where it lives: its package, or our file. */
interface Frame {
  callFrame: CallFrame;
  parent: Frame | null;
}

const ROOT = process.cwd();
const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String']);

function place(url: string): { file: string; pkg: string } {
  if (url.startsWith('node:')) return { file: url, pkg: 'node core' };
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return { file: `${pkg}/${rest.slice(pkg.split('/').length).join('/')}`, pkg };
  }
  const file = relative(ROOT, path);
  const pkg = file.startsWith('src/')
    ? `our code (${file.split('/').slice(0, 2).join('/')})`
    : file;
  return { file, pkg };
}

/** Native frames (no url) count for the package that called them; socket writes stand apart. */
function packageOf(frame: Frame): string {
  const { functionName, url } = frame.callFrame;
  if (url) return place(url).pkg;
  if (SOCKET_WRITES.has(functionName)) return 'socket writes (syscalls)';
  if (functionName.startsWith('(')) return functionName;
  for (let at = frame.parent; at; at = at.parent) {
    if (at.callFrame.url) return place(at.callFrame.url).pkg;
  }
  return '(native)';
}

function isProfiler(frame: Frame): boolean {
  for (let at: Frame | null = frame; at; at = at.parent) {
    if (at.callFrame.url === 'node:inspector') return true;
  }
  return false;
}

function functionOf({ callFrame: { functionName, url, lineNumber } }: Frame): string {
  if (!url) return functionName || '(anonymous native)';
  return `${functionName || '(anonymous)'}  ${place(url).file}:${lineNumber + 1}`;
}

function summarise(
  kind: ProfileSummary['kind'],
  label: string,
  file: string,
  amounts: [Frame, number][],
  count: number,
): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const [frame, amount] of amounts) {
    // The profiler's own work (stopping, serialising the profile) is not the process's.
    if (isProfiler(frame)) continue;
    total += amount;
    const name = functionOf(frame);
    byFunction.set(name, (byFunction.get(name) ?? 0) + amount);
    const pkg = packageOf(frame);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + amount);
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, amount]) => ({ name, amount, percent: (100 * amount) / total }));
  return {
    kind,
    label,
    file: relative(ROOT, file),
    total,
    byPackage: top(byPackage, 12),
    byFunction: top(byFunction, count),
  };
}

export async function summariseCpuProfile(label: string, file: string, count = 15) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const frames = new Map<number, Frame>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  const frameOf = (id: number): Frame => {
    let frame = frames.get(id);
    if (!frame) {
      const node = profile.nodes.find((candidate) => candidate.id === id)!;
      const parent = parentOf.get(id);
      frame = { callFrame: node.callFrame, parent: parent === undefined ? null : frameOf(parent) };
      frames.set(id, frame);
    }
    return frame;
  };
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  const amounts: [Frame, number][] = [];
  for (const [id, ms] of selfMs) {
    const frame = frameOf(id);
    if (frame.callFrame.functionName !== '(idle)') amounts.push([frame, ms]);
  }
  return summarise('cpu', label, file, amounts, count);
}

export async function summariseHeapProfile(label: string, file: string, count = 15) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { head: HeapNode };
  const amounts: [Frame, number][] = [];
  const walk = (node: HeapNode, parent: Frame | null) => {
    const frame: Frame = { callFrame: node.callFrame, parent };
    if (node.selfSize > 0) amounts.push([frame, node.selfSize]);
    for (const child of node.children) walk(child, frame);
  };
  walk(profile.head, null);
  return summarise('heap', label, file, amounts, count);
}
