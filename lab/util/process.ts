import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { LabError } from './errors.ts';
import { labSignal } from './lifetime.ts';

export interface LoggedCommandOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Every byte the command prints is appended here; on failure the error names it. */
  logFile: string;
  /** Fed to the command's stdin (e.g. `yes ""` answers for oldconfig). */
  input?: string;
  /** Cancels the command (default: the lab's signal, aborted on Ctrl-C and SIGTERM). */
  signal?: AbortSignal;
}

/**
 * Builds die with the lab. setpriv gives this sh a parent-death signal, which the
 * kernel sends even when the lab is SIGKILLed and no handler runs; sh then kills
 * its whole process group: the command and everything it started (a make's
 * compilers and sub-makes, which a signal to make alone would orphan). So no
 * build outlives the store lock it was started under. The command runs in the
 * background so that sh can take the signal; stdin is handed on through fd 3
 * (a background job's stdin is /dev/null). $1 is the lab's pid: a lab that died
 * before setpriv armed the signal is caught by the PPID check.
 */
const DIE_WITH_LAB = [
  '[ "$PPID" = "$1" ] || exit 125; shift',
  // A command that is not there must read as "failed to start", not as the command's own exit.
  'command -v -- "$1" >/dev/null 2>&1 || exit 127',
  'exec 3<&0; trap \'trap - TERM; kill -KILL 0\' TERM',
  '"$@" <&3 3<&- & wait $!; s=$?',
  // A command killed by a signal (OOM, a crash) must read as that signal, not as an exit code:
  // sh dies by the same signal, so the lab sees what it would have seen without this wrapper.
  'if [ "$s" -gt 128 ]; then trap - TERM; kill -s "$(kill -l "$s")" $$; fi; exit "$s"',
].join('\n');

/**
 * Runs one build command (argument array, never a shell string), logging its
 * output. A failure becomes a LabError carrying the last lines and the log path.
 */
export async function runLogged(file: string, args: string[], opts: LoggedCommandOptions): Promise<void> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  fs.appendFileSync(opts.logFile, `\n$ ${[file, ...args].join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}\n`);
  // Only what this command prints counts (not earlier commands, not its own header).
  const startOffset = fs.statSync(opts.logFile).size;
  const result = await execa('setpriv', ['--pdeathsig', 'TERM', '--', 'sh', '-c', DIE_WITH_LAB, 'sh', String(process.pid), file, ...args], {
    detached: true, // a process group of its own, for DIE_WITH_LAB's kill 0
    cwd: opts.cwd,
    env: { LC_ALL: 'C', ...opts.env },
    stdout: { file: opts.logFile, append: true },
    stderr: { file: opts.logFile, append: true },
    reject: false,
    input: opts.input ?? '',
    cancelSignal: opts.signal ?? labSignal,
  });
  if (result.exitCode !== 0 || result.failed) {
    // 127 comes from DIE_WITH_LAB's check before the command runs: it was not found.
    const reason = result.exitCode === undefined ? (result.signal ?? 'failed to start') : result.exitCode === 127 ? `failed to start: ${file} not found` : `exit ${result.exitCode}`;
    const first = firstError(opts.logFile, startOffset);
    const headline = `${path.basename(file)} ${args.slice(0, 3).join(' ')}… failed (${reason})`;
    // It ran and said no (a compile error): the command's failure. A signal or a missing program is the lab's.
    const ran = result.exitCode !== undefined && result.exitCode !== 127;
    throw new LabError(`${headline}${first ? `\nfirst error: ${first}` : ''}\n${tailOf(opts.logFile, 25)}`, {
      logPath: opts.logFile,
      kind: ran ? 'command' : 'lab',
      command: path.basename(file),
      ...(first ? { firstError: first } : {}),
    });
  }
}

/** What a short command printed and how it ended. */
export interface CommandResult {
  /** undefined when it did not start or was killed by a signal. */
  exitCode: number | undefined;
  /** The signal that ended it (SIGTERM when the lab was cancelled). */
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  /** Added to the environment (LC_ALL=C is always set: messages are parsed). */
  env?: Record<string, string>;
  input?: string;
  /** Cancels the command (default: the lab's signal, aborted on Ctrl-C and SIGTERM). */
  signal?: AbortSignal;
  /** The user's terminal gets its output (apt-get during doctor --install); nothing is captured. */
  inherit?: boolean;
}

/**
 * Runs a short command (an argument array, never a shell string built from input) to its end.
 * A non-zero exit is returned, not thrown: the caller says what it means.
 */
export async function runCommand(file: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const r = await execa(file, args, {
    cwd: opts.cwd,
    env: { LC_ALL: 'C', ...opts.env },
    reject: false,
    cancelSignal: opts.signal ?? labSignal,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.inherit ? { stdio: 'inherit' as const } : {}),
  });
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return { exitCode: r.exitCode, signal: r.signal, stdout: text(r.stdout), stderr: text(r.stderr) };
}

/** Runs a command and returns its stdout (for short queries like `gcc --version`); a failure is a LabError. */
export async function capture(file: string, args: string[], cwd?: string, signal: AbortSignal = labSignal): Promise<string> {
  const result = await runCommand(file, args, { ...(cwd ? { cwd } : {}), signal });
  if (result.exitCode !== 0) throw new LabError(`${file} ${args.join(' ')} failed (${ending(result)}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return result.stdout;
}

/** "exit 2", "SIGTERM", "failed to start": how a command ended, for a message. */
export function ending(r: CommandResult): string {
  return r.exitCode !== undefined ? `exit ${r.exitCode}` : (r.signal ?? 'failed to start');
}

export function tailOf(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).map((l) => `  | ${l}`).join('\n');
  } catch {
    return '';
  }
}

/** The first compiler/make error this command wrote (a parallel make buries it under later output). */
export function firstError(file: string, fromOffset = 0): string | undefined {
  try {
    const text = fs.readFileSync(file).subarray(fromOffset).toString('utf8');
    const line = text.split('\n').find((l) => /(\berror:|\*\*\* |Error \d+|FAILED)/.test(l));
    return line?.trim().slice(0, 400);
  } catch {
    return undefined;
  }
}
