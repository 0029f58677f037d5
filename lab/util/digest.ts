import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A digest over a directory tree: every regular file's relative path, mode bit
 * for "executable" and content, and every symlink's target, in sorted order.
 * Two trees with the same files give the same digest wherever they live.
 */
export async function sha256Tree(root: string, ignore: (rel: string) => boolean = () => false): Promise<string> {
  const hash = createHash('sha256');
  async function walk(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (ignore(child)) continue;
      const full = path.join(root, child);
      if (entry.isDirectory()) {
        hash.update(`d ${child}\n`);
        await walk(child);
      } else if (entry.isSymbolicLink()) {
        hash.update(`l ${child} ${await fs.readlink(full)}\n`);
      } else if (entry.isFile()) {
        const stat = await fs.stat(full);
        hash.update(`f ${child} ${stat.mode & 0o111 ? 'x' : '-'} ${await sha256File(full)}\n`);
      }
    }
  }
  await walk('');
  return hash.digest('hex');
}

/** A stable key over structured inputs (object keys sorted, so order never matters). */
export function cacheKey(inputs: unknown): string {
  return sha256(stableStringify(inputs));
}

export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
