import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { tempSibling } from '../util/fs.ts';
import { onAbnormalExit, sleep } from '../util/lifetime.ts';
import { ownerAlive, readOwner, writeOwner } from '../util/owner.ts';

/** A lock folder without a readable owner record (an older lab between mkdir and writing its pid) is left alone this long. */
const UNOWNED_GRACE_MS = 10_000;
/** Tombstones of broken locks are kept this long (see breakIfStale), then swept. */
const TOMBSTONE_KEEP_MS = 3_600_000;

/**
 * A cross-process lock: a folder holding its owner's record (pid, start time,
 * boot id), written in a private folder and renamed into place, so the lock is
 * never visible without its owner. A lock whose owner is dead (a crashed or
 * killed lab; its builds die with it, see util/process.ts) is taken over.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  let waited = false;
  while (!(await tryAcquire(lockPath))) {
    if (await breakIfStale(lockPath)) continue;
    if (!waited) onWait?.();
    waited = true;
    await sleep(250); // Ctrl-C ends the wait
  }
  try {
    return await fn();
  } finally {
    await release(lockPath);
  }
}

async function tryAcquire(lockPath: string): Promise<boolean> {
  const tmp = tempSibling(lockPath);
  const forget = onAbnormalExit(() => fsSync.rmSync(tmp, { recursive: true, force: true }));
  try {
    await fs.mkdir(tmp);
    await writeOwner(tmp);
    // rename onto an existing (non-empty) folder fails: only one process gets the lock.
    await fs.rename(tmp, lockPath);
    return true;
  } catch (err) {
    if (['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
    forget();
  }
}

/** Moved away in one step, then removed: a waiter never sees the lock without its owner. */
async function release(lockPath: string): Promise<void> {
  const gone = tempSibling(lockPath);
  await fs.rename(lockPath, gone).catch(() => undefined);
  await fs.rm(gone, { recursive: true, force: true });
}

/**
 * Takes a dead owner's lock away; true when the caller should try again at once.
 * The lock is renamed to a tombstone named after the folder judged dead (its
 * inode, which the kept tombstone stops being reused). Two waiters that judged
 * the same dead lock: the second finds the name taken and its rename fails, so
 * it can never move away the live lock the first one has taken meanwhile.
 */
async function breakIfStale(lockPath: string): Promise<boolean> {
  const before = await fs.stat(lockPath).catch(() => undefined);
  if (!before) return true;
  const owner = await readOwner(lockPath);
  const after = await fs.stat(lockPath).catch(() => undefined);
  if (!after || after.ino !== before.ino) return true; // replaced while reading: judge again
  // An empty folder is replaced by tryAcquire's rename; as a tombstone it would not block a rename.
  if (!owner && (await fs.readdir(lockPath).catch(() => [])).length === 0) return true;
  const stale = owner ? !ownerAlive(owner) : Date.now() - after.mtimeMs > UNOWNED_GRACE_MS;
  if (!stale) return false;
  await sweepTombstones(lockPath);
  await fs.rename(lockPath, `${lockPath}.dead-${after.ino}`).catch(() => undefined);
  return true;
}

async function sweepTombstones(lockPath: string): Promise<void> {
  const dir = path.dirname(lockPath);
  const prefix = `${path.basename(lockPath)}.dead-`;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (st && Date.now() - st.ctimeMs > TOMBSTONE_KEEP_MS) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
}
