import fs from 'node:fs/promises';
import path from 'node:path';

let counter = 0;
/** A name no other process or call in this process will pick for a temporary sibling of `target`. */
export function tempSibling(target: string): string {
  counter += 1;
  return `${target}.tmp-${process.pid}-${Date.now()}-${counter}`;
}

/** Readers see the old file or the new one, never half of it. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode?: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempSibling(file);
  await fs.writeFile(tmp, data, mode === undefined ? undefined : { mode });
  await fs.rename(tmp, file);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
