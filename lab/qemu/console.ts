/** What the guest console says about its fate. */
export type ConsoleSignal =
  | { kind: 'ready'; kernel: string; target: string }
  | { kind: 'fatal'; reason: string };

const READY = /REPROLAB-READY kernel=(\S+) target=(\S+)/;
const FATAL: [RegExp, string][] = [
  [/Kernel panic - not syncing[^\r\n]*/, 'kernel panic'],
  [/Attempted to kill init[^\r\n]*/, 'init died'],
  [/Internal error: Oops[^\r\n]*/, 'kernel oops'],
  [/\bOops\[#\d+\][^\r\n]*/, 'kernel oops'],
  [/Unable to handle kernel [^\r\n]*/, 'kernel oops'],
  [/BUG: [^\r\n]*/, 'kernel BUG'],
];

/** Reads one console line into a readiness or failure signal (or nothing). */
export function classifyConsoleLine(line: string): ConsoleSignal | undefined {
  const ready = READY.exec(line);
  if (ready) return { kind: 'ready', kernel: ready[1]!, target: ready[2]! };
  for (const [re, what] of FATAL) {
    const m = re.exec(line);
    if (m) return { kind: 'fatal', reason: `${what}: ${m[0].trim()}` };
  }
  return undefined;
}
