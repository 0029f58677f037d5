import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * A cross-process lock: a directory created atomically with mkdir, holding the
 * owner's pid. A lock whose owner is dead (a crashed or killed build) is taken over.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      await fs.mkdir(lockPath);
      await fs.writeFile(path.join(lockPath, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await ownerIsDead(lockPath)) {
        await fs.rm(lockPath, { recursive: true, force: true });
        continue;
      }
      if (!waited) onWait?.();
      waited = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockPath, { recursive: true, force: true });
  }
}

async function ownerIsDead(lockPath: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await fs.readFile(path.join(lockPath, 'pid'), 'utf8'));
  } catch {
    // Created but pid not written yet, or removed meanwhile: judge by age.
    const st = await fs.stat(lockPath).catch(() => undefined);
    return st ? Date.now() - st.mtimeMs > 10_000 : false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
