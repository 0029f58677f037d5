import fs from 'node:fs/promises';
import path from 'node:path';
import { Fields, parseJson } from '../model/fields.ts';
import { repoRoot } from '../util/paths.ts';

/** images/libc/uclibc-0.9.33.2: the uClibc release the lab builds — its pinned source, config fragments, compatibility patches and variant series. */
export const uclibcDir = path.join(repoRoot, 'images', 'libc', 'uclibc-0.9.33.2');

/** images/libc/uclibc-ng: uClibc-ng, built at any revision of a git repository the user gives (bisect). */
export const uclibcNgDir = path.join(repoRoot, 'images', 'libc', 'uclibc-ng');

/** The uClibc-ng git clone the lab builds revisions and releases from: REPROLAB_UCLIBC_NG_REPO, or <overrides>/uclibc-ng. */
export function uclibcNgClone(overrides: string, env: NodeJS.ProcessEnv = process.env): string {
  return env['REPROLAB_UCLIBC_NG_REPO'] ?? path.join(overrides, 'uclibc-ng');
}

/**
 * A build-compatibility patch of a libc kept in git, for the revisions that
 * need it: those that do not contain `until.commit` (the upstream change that
 * made it unnecessary). Ancestry, not a version number, so every commit
 * between two releases is placed exactly.
 */
export interface RangedPatch {
  file: string;
  until: { commit: string; release: string };
  why: string;
}

export async function loadRangedSeries(dir: string): Promise<RangedPatch[]> {
  const file = path.join(dir, 'series.json');
  const f = new Fields(file, parseJson(file, await fs.readFile(file, 'utf8')));
  f.only(['comment', 'patches']);
  return f.list('patches').map((p) => {
    p.only(['file', 'until', 'why']);
    const until = p.object('until');
    until.only(['commit', 'release']);
    return {
      file: path.join(dir, p.string('file', /^[A-Za-z0-9._-]+\.patch$/)),
      until: { commit: until.string('commit', /^[0-9a-f]{40}$/), release: until.string('release') },
      why: p.string('why'),
    };
  });
}
