import fs from 'node:fs/promises';
import path from 'node:path';

let counter = 0;
/** A name no other process or call in this process will pick for a temporary sibling of `target`. */
export function tempSibling(target: string): string {
  counter += 1;
  return `${target}.tmp-${process.pid}-${Date.now()}-${counter}`;
}

/**
 * Readers see the old file or the new one, never half of it, and after a power
 * loss never a new name over empty content (the data is synced before the rename).
 */
export async function writeFileAtomic(file: string, data: string | Buffer, mode?: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempSibling(file);
  try {
    await writeFileSynced(tmp, data, mode);
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  await syncPath(path.dirname(file));
}

/** writeFile, then fsync: on disk before anything that vouches for it. */
export async function writeFileSynced(file: string, data: string | Buffer, mode?: number): Promise<void> {
  const h = await fs.open(file, 'w', mode);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** fsync one file or folder (a folder: the names in it). */
export async function syncPath(p: string): Promise<void> {
  const h = await fs.open(p, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** fsync every file and folder under `dir`, folders after their contents: before a marker that vouches for them. */
export async function syncTree(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  // A few at a time: a sysroot has thousands of files, and each fsync waits on the disk.
  for (let i = 0; i < entries.length; i += 16) {
    await Promise.all(
      entries.slice(i, i + 16).map((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? syncTree(p) : e.isFile() ? syncPath(p) : undefined;
      }),
    );
  }
  await syncPath(dir);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
