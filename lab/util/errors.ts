/**
 * What kind of failure a LabError is:
 * - lab: the lab's own (a lock, a copy, a tool that did not start, a signal): the default;
 * - usage: bad input (a flag, a file handed over): exit 2;
 * - source: a source archive or tree the lab cannot find;
 * - command: a command ran and exited non-zero (a make, a compile), with its first error;
 * - patch: a patch does not apply to its tree;
 * - config: a tree's Kconfig refused the settings (or is not a Kconfig tree);
 * - usb-stall: the guest's USB stack stalled, so a burst did not happen as asked.
 */
export type ErrorKind = 'lab' | 'usage' | 'source' | 'command' | 'patch' | 'config' | 'usb-stall';

export interface LabErrorOptions {
  fix?: string;
  logPath?: string;
  cause?: unknown;
  kind?: ErrorKind;
  firstError?: string;
  command?: string;
}

/**
 * An error a person can act on: what went wrong, and what to do about it.
 * Every stage reports failures as LabError so the CLI can print them plainly.
 */
export class LabError extends Error {
  readonly fix: string | undefined;
  readonly logPath: string | undefined;
  /** What failed, set where it is thrown: callers decide by this, never by the message. */
  readonly kind: ErrorKind;
  /** A failed command's first compiler or make error (a parallel make buries it under later output). */
  readonly firstError: string | undefined;
  /** A failed command's program name (make, arm-linux-gnueabi-gcc): whose failure it was. */
  readonly command: string | undefined;

  constructor(message: string, options: LabErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LabError';
    this.fix = options.fix;
    this.logPath = options.logPath;
    this.kind = options.kind ?? 'lab';
    this.firstError = options.firstError;
    this.command = options.command;
  }

  /** The message with its fix and log path, as printed to the user. */
  describe(): string {
    const lines = [this.message];
    if (this.fix) lines.push(`fix: ${this.fix}`);
    if (this.logPath) lines.push(`log: ${this.logPath}`);
    return lines.join('\n');
  }
}

/** A source archive or tree the lab needs and cannot find. Other targets still build. */
export class MissingSourceError extends LabError {
  override name = 'MissingSourceError';
  constructor(
    readonly archive: string,
    message: string,
    fix: string,
  ) {
    super(message, { fix, kind: 'source' });
  }
}

/** Bad input on the command line (a flag's value, an unknown target): exit code 2, one line, no stack. */
export class UsageError extends LabError {
  override name = 'UsageError';
  constructor(message: string, options: Omit<LabErrorOptions, 'kind'> = {}) {
    super(message, { ...options, kind: 'usage' });
  }
}

/**
 * A reader's refusal of a file the lab did not just write (a shard, a cell handed over) is bad input:
 * the same message as a UsageError (exit 2), its fix given by `fix` (the reader's fix passed in).
 */
export function asUsageError(err: unknown, fix: (given: string | undefined) => string | undefined = (given) => given): never {
  if (err instanceof LabError && !(err instanceof UsageError)) {
    const f = fix(err.fix);
    throw new UsageError(err.message, f ? { fix: f } : {});
  }
  throw err;
}

export function describeError(err: unknown): string {
  // `await using`: the phase failed (suppressed), then undoing it failed too (error); both are news.
  if (err instanceof Error && err.name === 'SuppressedError' && 'error' in err && 'suppressed' in err) {
    return `${describeError(err.suppressed)}\n(then, while undoing what it set up: ${describeError(err.error)})`;
  }
  if (err instanceof LabError) return err.describe();
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
