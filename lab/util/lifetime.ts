import { setMaxListeners } from 'node:events';
/**
 * One place that knows what the run must undo when it ends abnormally:
 * Ctrl-C, SIGTERM (a CI timeout) or an uncaught exception. Each cleanup is
 * synchronous (signal handlers cannot wait) and runs at most once.
 */
const cleanups = new Map<number, () => void>();
let nextId = 1;
let installed = false;

export function onAbnormalExit(cleanup: () => void): () => void {
  const id = nextId++;
  cleanups.set(id, cleanup);
  return () => {
    cleanups.delete(id);
  };
}

export function runCleanups(): void {
  for (const [id, fn] of [...cleanups]) {
    cleanups.delete(id);
    try {
      fn();
    } catch {
      // best effort: the next cleanup must still run
    }
  }
}

/** Installs the handlers once per process (the CLI and test fixtures call it). */
export function installExitHandlers(log: (msg: string) => void = (m) => console.error(m)): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      root.abort(new Error(`interrupted (${signal})`));
      runCleanups();
      log(`\nreprolab: interrupted (${signal}); virtual machines stopped and partial build outputs removed`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('exit', runCleanups);
}

/**
 * The lab's one cancellation signal: aborted on Ctrl-C, SIGTERM or SIGHUP just
 * before the synchronous cleanups run. Every wait (execa's cancelSignal, SSH
 * commands, QMP waits, sleeps) takes it, or a signal derived from it.
 */
const root = new AbortController();
export const labSignal: AbortSignal = root.signal;
// doctor checks about forty host requirements at once, each command listening here: that is not a leak.
setMaxListeners(64, labSignal);

/** A signal that aborts with any of its parents (AbortSignal.any holds them weakly: no listener piles up on a long-lived one). */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 1 ? present[0]! : AbortSignal.any(present);
}

/** Why a wait ended early: the reason the signal carries, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'cancelled');
}

/** setTimeout as a promise that a signal can end early (rejecting with the abort reason). */
export function sleep(ms: number, signal: AbortSignal = labSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * What a phase set up, undone in reverse order when the phase ends — normally
 * or by an error — with `await using scope = new Scope()`. Undoing is best
 * effort: a failing step does not stop the others and never hides the phase's
 * own error.
 */
export class Scope implements AsyncDisposable {
  private readonly undo: (() => Promise<unknown> | unknown)[] = [];

  /** Registers an undo step. */
  defer(fn: () => Promise<unknown> | unknown): void {
    this.undo.push(fn);
  }

  /** Keeps what was set up (the phase succeeded and hands it on): nothing is undone. */
  release(): void {
    this.undo.length = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    while (this.undo.length) {
      const fn = this.undo.pop()!;
      try {
        await fn();
      } catch {
        // best effort: the next undo step must still run
      }
    }
  }
}
