import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError } from './errors.ts';
import { isInside } from './paths.ts';

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
 * for "executable" and content, and every symlink, in sorted order. Two trees
 * with the same files give the same digest wherever they live.
 *
 * A symlink that stays inside the tree is recorded by its target (that target's
 * content is in the digest where it lives). One that leaves the tree is
 * followed and hashed by what it points at: a build reads that content, so an
 * edit behind it must change the digest. A link out of the tree that points at
 * nothing, or a loop, is refused.
 */
export async function sha256Tree(root: string, ignore: (rel: string) => boolean = () => false): Promise<string> {
  const hash = createHash('sha256');
  const realRoot = await fs.realpath(root);
  const inside = (p: string) => isInside(realRoot, p);
  // Directories entered through links out of the tree: a loop among them is refused.
  const entered = new Set<string>();
  async function entry(child: string, full: string, kind: 'd' | 'l' | 'f' | 'other'): Promise<void> {
    if (kind === 'd') {
      hash.update(`d ${child}\n`);
      await walk(child, full);
    } else if (kind === 'l') {
      const target = await fs.realpath(full).catch(() => undefined);
      const written = await fs.readlink(full);
      if (target !== undefined && !inside(target)) return followOut(child, full, target);
      if (target === undefined && !inside(path.resolve(path.dirname(full), written))) {
        throw new LabError(`${path.join(root, child)}: a symlink out of the tree to ${written}, which does not exist`, {
          fix: 'remove the link or copy what it should point at into the tree',
        });
      }
      hash.update(`l ${child} ${written}\n`);
    } else if (kind === 'f') {
      const stat = await fs.stat(full);
      hash.update(`f ${child} ${stat.mode & 0o111 ? 'x' : '-'} ${await sha256File(full)}\n`);
    }
  }
  async function followOut(child: string, full: string, target: string): Promise<void> {
    const stat = await fs.stat(full);
    if (!stat.isDirectory()) return entry(child, full, stat.isFile() ? 'f' : 'other');
    if (entered.has(target)) throw new LabError(`${path.join(root, child)}: a symlink loop through ${target}`, { fix: 'remove the link that leads back' });
    entered.add(target);
    await entry(child, full, 'd');
    entered.delete(target);
  }
  async function walk(rel: string, dir: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (ignore(child)) continue;
      await entry(child, path.join(dir, e.name), e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isFile() ? 'f' : 'other');
    }
  }
  await walk('', realRoot);
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
