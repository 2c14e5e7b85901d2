/** The one progress line: rewritten in place on a terminal, throttled lines otherwise. */
export interface Progress {
  /** A new step: always shown. */
  step(text: string): void;
  /** Progress within the step: shown at most every second when not on a terminal. */
  update(text: string): void;
  /** Ends the line (before printing anything else). */
  clear(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY;
  const started = Date.now();
  let current = '';
  let lastPrinted = 0;
  let dirty = false;
  const stamp = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    return `[${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}]`;
  };
  const print = (text: string) => {
    const line = `${stamp()} ${text}`;
    if (tty) {
      const width = stream.columns ?? 120;
      stream.write(`\r\x1b[K${line.slice(0, width - 1)}`);
      dirty = true;
    } else {
      stream.write(`${line}\n`);
    }
    lastPrinted = Date.now();
  };
  return {
    step(text) {
      current = text;
      print(text);
    },
    update(text) {
      if (!tty && Date.now() - lastPrinted < 1000) return;
      print(`${current}: ${text}`);
    },
    clear() {
      if (tty && dirty) stream.write('\n');
      dirty = false;
    },
  };
}
