import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError, UsageError } from '../util/errors.ts';
import { ending, runCommand } from '../util/process.ts';

/**
 * Read-only queries on a user's git repository (a libc's history). Nothing here
 * checks out, resets or writes into the repository: trees are exported with
 * `git archive`, so the user's work tree and refs are never touched.
 */
export interface CommitInfo {
  commit: string;
  short: string;
  title: string;
  author: string;
  date: string;
  parents: string[];
  /** `git describe --tags`: the nearest release tag and the distance from it. */
  describe?: string;
  /** `git describe --contains`: the first release tag that contains the commit. */
  firstRelease?: string;
}

async function git(repo: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<{ ok: boolean; code: number | undefined; out: string; err: string }> {
  const r = await runCommand('git', ['-C', repo, ...args]);
  if (r.exitCode !== 0 && !opts.allowFail) {
    throw new LabError(`git ${args.join(' ')} in ${repo} failed (${ending(r)}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
  return { ok: r.exitCode === 0, code: r.exitCode, out: r.stdout, err: r.stderr };
}

/** The repository at `dir`, or a usage error naming the option and what to give it (the user gave it). */
export async function openRepo(dir: string, option: string): Promise<string> {
  const abs = path.resolve(dir);
  if (!(await fs.stat(abs).then((s) => s.isDirectory(), () => false))) {
    throw new UsageError(`${option} ${dir}: no such directory`, { fix: 'give a git clone of the libc, e.g. git clone https://github.com/wbx-github/uclibc-ng' });
  }
  const r = await git(abs, ['rev-parse', '--git-dir'], { allowFail: true });
  if (!r.ok) throw new UsageError(`${option} ${dir}: not a git repository (${r.err.trim()})`, { fix: 'give a git clone of the libc (bisecting needs its history)' });
  return abs;
}

/** A revision (tag, branch, hash, HEAD~3) to its full commit hash; `option` names where the user gave it. */
export async function resolveRev(repo: string, rev: string, option: string): Promise<string> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { allowFail: true });
  if (!r.ok || !/^[0-9a-f]{40}$/.test(r.out.trim())) {
    throw new UsageError(`${option} ${rev}: no such commit in ${repo}`, { fix: 'give a tag (e.g. v1.0.0), a branch or a commit hash of that repository (git -C REPO log --oneline)' });
  }
  return r.out.trim();
}

export async function commitInfo(repo: string, commit: string): Promise<CommitInfo> {
  const r = await git(repo, ['log', '-1', '--format=%H%x00%h%x00%s%x00%an <%ae>%x00%aI%x00%P', commit]);
  const [full, short, title, author, date, parents] = r.out.split('\0');
  const describe = await git(repo, ['describe', '--tags', commit], { allowFail: true });
  // Only release tags (v1.0.2), not whatever tag is nearest.
  const contains = await git(repo, ['describe', '--contains', '--match', 'v[0-9]*', commit], { allowFail: true });
  return {
    commit: full!,
    short: short!,
    title: title!,
    author: author!,
    date: date!,
    parents: (parents ?? '').split(' ').filter(Boolean),
    ...(describe.ok ? { describe: describe.out.trim() } : {}),
    // "v1.0.2~2^2~9": the release is the tag the path starts from.
    ...(contains.ok ? { firstRelease: contains.out.trim().split(/[~^]/)[0]! } : {}),
  };
}

export async function parentsOf(repo: string, commit: string): Promise<string[]> {
  return (await git(repo, ['rev-list', '--parents', '-n', '1', commit])).out.trim().split(' ').slice(1);
}

/** Exit 1 is "no"; anything else (an unknown commit, e.g. in a shallow clone) is an error, never a quiet "no". */
export async function isAncestor(repo: string, ancestor: string, commit: string): Promise<boolean> {
  const r = await git(repo, ['merge-base', '--is-ancestor', ancestor, commit], { allowFail: true });
  if (r.code === 0) return true;
  if (r.code === 1) return false;
  throw new LabError(`git merge-base --is-ancestor ${ancestor.slice(0, 12)} ${commit.slice(0, 12)} in ${repo} failed: ${r.err.trim()}`, { fix: 'the repository lacks one of these commits: fetch the full history (git fetch --unshallow, or a fresh clone)' });
}

export async function mergeBase(repo: string, a: string, b: string): Promise<string> {
  return (await git(repo, ['merge-base', a, b])).out.trim();
}

/** The first-parent chain from `old` (excluded) to `new` (included), oldest first: the mainline as it was committed. */
export async function firstParentChain(repo: string, old: string, newer: string): Promise<string[]> {
  const out = (await git(repo, ['rev-list', '--first-parent', '--reverse', `${old}..${newer}`])).out.trim();
  return out ? out.split('\n') : [];
}

/** Release tags (vMAJOR.MINOR.PATCH) in version order, each with its commit. */
export async function releaseTags(repo: string): Promise<{ tag: string; commit: string }[]> {
  const out = (await git(repo, ['for-each-ref', '--format=%(refname:short) %(objectname) %(*objectname)', 'refs/tags'])).out.trim();
  const tags = out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    // Annotated tags point at a tag object; the commit is the peeled object.
    .map(([tag, obj, peeled]) => ({ tag: tag!, commit: peeled || obj! }))
    .filter((t) => /^v?\d+(\.\d+)+$/.test(t.tag));
  const num = (t: string) => t.replace(/^v/, '').split('.').map(Number);
  return tags.sort((a, b) => {
    const x = num(a.tag);
    const y = num(b.tag);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  });
}

/** Writes the commit's tree into `dest` (which must exist), without touching the repository's work tree. */
export async function exportTree(repo: string, commit: string, dest: string, scratch: string, logFile: string): Promise<void> {
  // The archive goes to the store entry's scratch folder: removed with it, whatever happens.
  const tar = path.join(scratch, 'tree.tar');
  await git(repo, ['archive', '--format=tar', '-o', tar, commit]);
  const r = await runCommand('tar', ['-xf', tar, '-C', dest]);
  await fs.rm(tar, { force: true });
  if (r.exitCode !== 0) throw new LabError(`unpacking ${commit} of ${repo} failed: ${r.stderr.trim()}`, { logPath: logFile });
}

/** The commit as a mail-style patch (what a backport starts from). */
export async function commitPatch(repo: string, commit: string): Promise<string> {
  return (await git(repo, ['format-patch', '-1', '--stdout', commit])).out + '\n';
}

/** `git show --stat` of the commit: which files it changed and by how much. */
export async function diffStat(repo: string, commit: string): Promise<string> {
  return (await git(repo, ['show', '--stat', '--format=', commit])).out.trim();
}

/** A file of the commit's tree, or undefined when the commit has no such file. */
export async function fileAt(repo: string, commit: string, file: string): Promise<string | undefined> {
  const r = await git(repo, ['show', `${commit}:${file}`], { allowFail: true });
  return r.ok ? r.out : undefined;
}
