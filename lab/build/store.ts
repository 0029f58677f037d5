import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheKey } from '../util/digest.ts';
import { exists, tempSibling } from '../util/fs.ts';
import { withLock } from './lock.ts';

/** Temporary directories being built right now; removed if the run is interrupted. */
const inProgress = new Set<string>();

/** Called from signal handlers: synchronous, best effort. */
export function removeInProgress(): void {
  for (const dir of inProgress) fsSync.rmSync(dir, { recursive: true, force: true });
  inProgress.clear();
}

/**
 * Ctrl-C or a kill: child processes (make, gcc) get the signal from the
 * terminal or die with their pipes; what this process was building must not
 * stay behind in the store.
 */
export function removeInProgressOnSignal(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      removeInProgress();
      console.error(`\nreprolab: interrupted (${signal}); partial build outputs removed`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export interface StoreEntry {
  dir: string;
  key: string;
  hit: boolean;
}

/**
 * The content-addressed build store: <store>/<step>/<key>/ where key is the
 * sha256 of every input of the step. An entry is built in a temporary sibling
 * and renamed into place when complete, so a crash never leaves half an entry,
 * and a lock per key makes two concurrent builds of the same thing build it once.
 */
export async function storeEntry(
  storeRoot: string,
  step: string,
  inputs: unknown,
  /** Writes the entry into `outDir`; `scratch` is a private empty directory removed afterwards. */
  build: (outDir: string, scratch: string) => Promise<void>,
  onWait?: () => void,
): Promise<StoreEntry> {
  const key = cacheKey({ step, inputs });
  const dir = path.join(storeRoot, step, key);
  if (await exists(path.join(dir, '.complete'))) return { dir, key, hit: true };
  return withLock(
    path.join(storeRoot, '.locks', `${step}-${key}`),
    async () => {
      if (await exists(path.join(dir, '.complete'))) return { dir, key, hit: true };
      const tmp = tempSibling(dir);
      await fs.mkdir(tmp, { recursive: true });
      const scratch = `${tmp}.scratch`;
      inProgress.add(tmp);
      inProgress.add(scratch);
      try {
        await fs.mkdir(scratch);
        await build(tmp, scratch);
        await fs.writeFile(path.join(tmp, '.inputs.json'), JSON.stringify({ step, inputs }, null, 2));
        await fs.writeFile(path.join(tmp, '.complete'), new Date().toISOString());
        await fs.rm(dir, { recursive: true, force: true });
        await fs.rename(tmp, dir);
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true });
        throw err;
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
        inProgress.delete(tmp);
        inProgress.delete(scratch);
      }
      return { dir, key, hit: false };
    },
    onWait,
  );
}
