import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256, sha256File, sha256Tree } from '../util/digest.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { capture } from '../util/process.ts';
import { planning } from '../store/plan.ts';

/**
 * Hashing a 600 MB kernel tree on every run would break the "no-op rebuild in
 * under 2 s" promise, so digests are remembered next to the cache, keyed by a
 * cheap fingerprint (paths, sizes, mtimes). Any edit changes the fingerprint
 * and forces a real re-hash.
 */
export async function memoTreeDigest(memoDir: string, root: string): Promise<string> {
  // The tree the links lead to, not the link: a symlinked override is keyed by what it holds.
  const real = await fs.realpath(root);
  // find -L refuses a loop (a link to a folder above it): no cheap fingerprint then, so hash it
  // every time; sha256Tree keeps such a link inside the tree as a link, and names a loop out of it.
  const fingerprint = await treeFingerprint(real).catch(() => undefined);
  if (fingerprint === undefined) return sha256Tree(real);
  return memoized(memoDir, `tree:${real}`, fingerprint, () => sha256Tree(real));
}

export async function memoFileDigest(memoDir: string, file: string): Promise<string> {
  const st = await fs.stat(file);
  return memoized(memoDir, `file:${path.resolve(file)}`, `${st.size}:${st.mtimeMs}:${st.ino}`, () => sha256File(file));
}

async function memoized(memoDir: string, id: string, fingerprint: string, compute: () => Promise<string>): Promise<string> {
  const memoFile = path.join(memoDir, `${sha256(id).slice(0, 32)}.json`);
  try {
    const memo = JSON.parse(await fs.readFile(memoFile, 'utf8')) as { id: string; fingerprint: string; digest: string };
    if (memo.id === id && memo.fingerprint === fingerprint) return memo.digest;
  } catch {
    // no memo yet
  }
  const digest = await compute();
  // A dry run writes nothing, not even this memo.
  if (!planning()) await writeFileAtomic(memoFile, JSON.stringify({ id, fingerprint, digest }));
  return digest;
}

/**
 * Paths, sizes, mtimes and modes of every entry; `find` walks 45k files far faster than fs.lstat from Node.
 * `-L` reports what each symlink leads to (a file edited behind a link changes its line) and walks linked folders.
 */
async function treeFingerprint(root: string): Promise<string> {
  const listing = await capture('find', ['-L', root, '-printf', '%P\\0%s\\0%T@\\0%m\\0%y\\0%l\\n']);
  return sha256(listing.split('\n').sort().join('\n'));
}
