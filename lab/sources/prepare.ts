import fs from 'node:fs/promises';
import path from 'node:path';
import { applySeries, type Patch } from './patches.ts';
import { storeEntry } from '../store/store.ts';
import { planning } from '../store/plan.ts';
import { exists } from '../util/fs.ts';
import { LabError } from '../util/errors.ts';
import { isInside, type LabDirs } from '../util/paths.ts';
import { capture, runLogged } from '../util/process.ts';
import { type ResolvedSource } from '../model/source.ts';

/** An unpacked source tree with its patch series applied, shared by every build that needs it. */
export interface PreparedTree {
  dir: string;
  /** Content key: source digest + patch digests. */
  key: string;
  source: ResolvedSource;
  patches: Patch[];
}

export async function prepareTree(
  source: ResolvedSource,
  patches: Patch[],
  what: string,
  dirs: LabDirs,
  logFile: string,
): Promise<PreparedTree> {
  const entry = await storeEntry(
    dirs.sources,
    source.package,
    { source: source.sha256, patches: patches.map((p) => p.sha256) },
    async (out, scratch) => {
      if (source.origin === 'override') {
        // Copy, never patch the user's own tree in place.
        await runLogged('cp', ['-a', `${source.path}/.`, out], { logFile });
        await copyLinksThatLeave(source.path, out, logFile);
      } else if (source.origin === 'debian-source') {
        // The package as Debian ships it: upstream tarball plus Debian's own patch series (security fixes included).
        const tree = path.join(scratch, 'tree');
        await runLogged('dpkg-source', ['-x', source.path, tree], { logFile });
        await runLogged('cp', ['-a', `${tree}/.`, out], { logFile });
      } else {
        await runLogged('tar', ['-xf', source.path, '-C', out, '--strip-components=1'], { logFile });
      }
      await applySeries(out, patches, what);
    },
  );
  return { dir: entry.dir, key: entry.key, source, patches };
}

/** Whether a prepared tree looks like what it claims to be (guards against a wrong override). */
export async function assertTreeHas(tree: PreparedTree, relFile: string, what: string): Promise<void> {
  // A dry run has not unpacked the tree yet: the check happens when it is.
  if (planning() && !(await exists(tree.dir))) return;
  try {
    await fs.access(path.join(tree.dir, relFile));
  } catch {
    throw new LabError(`${what} source at ${tree.source.path} has no ${relFile}: it is not a ${what} tree`, {
      fix: `point the override for ${tree.source.package} at the folder that holds ${relFile}`,
    });
  }
}

/**
 * A link in an override that leaves the tree is hashed by what it points at (sha256Tree); the
 * copy must hold that content too, or builds would read - and write - the user's files outside
 * the tree, and the store entry would not be what was hashed.
 */
async function copyLinksThatLeave(src: string, out: string, logFile: string): Promise<void> {
  const real = await fs.realpath(src);
  const links = (await capture('find', [out, '-type', 'l', '-printf', '%P\\0'])).split('\0').filter(Boolean);
  for (const rel of links) {
    const target = await fs.realpath(path.join(src, rel)).catch(() => undefined);
    if (target === undefined || isInside(real, target)) continue;
    await fs.rm(path.join(out, rel));
    await runLogged('cp', ['-a', '-L', path.join(src, rel), path.join(out, rel)], { logFile });
  }
}
