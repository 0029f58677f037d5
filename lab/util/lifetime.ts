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
      runCleanups();
      log(`\nreprolab: interrupted (${signal}); virtual machines stopped and partial build outputs removed`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('exit', runCleanups);
}
