import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '../util/errors.ts';
import { tempSibling } from '../util/fs.ts';
import { onAbnormalExit } from '../util/lifetime.ts';
import { ownerAlive, readOwner, writeOwner } from '../util/owner.ts';

/** Run directories are named by their start time, so name order is time order. */
const RUN_DIR = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;

/** Start time back from a run directory's name. */
export function stampTime(name: string): number {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/.exec(name);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : NaN;
}

/** Is this directory name a run of a runs directory (<cache>/matrix/<time>)? */
export const isRunName = (name: string): boolean => RUN_DIR.test(name);

export async function listRuns(root: string): Promise<string[]> {
  const names = await fs.readdir(root).catch(() => [] as string[]);
  return names.filter((n) => RUN_DIR.test(n)).sort();
}

/** The newest finished run (one with a matrix.json) other than `except`. */
export async function previousRun(root: string, except?: string): Promise<string | undefined> {
  for (const name of (await listRuns(root)).reverse()) {
    const dir = path.join(root, name);
    if (except && path.resolve(dir) === path.resolve(except)) continue;
    const file = path.join(dir, 'matrix.json');
    if (await fs.access(file).then(() => true, () => false)) return file;
  }
  return undefined;
}

export interface PrunePolicy {
  /** Keep at most this many runs (newest first). */
  keep?: number;
  /** Remove runs that started more than this many days ago. */
  maxAgeDays?: number;
}

/** A run in progress holds this owner record (util/owner.ts) until it has written its reports. */
const LIVE_MARKER = '.running';

/**
 * Makes `dir` a run in progress: created together with its marker (a fresh run
 * directory is renamed into place whole, so pruning never sees it unmarked).
 * Returns the release, called once the run's reports are written; a run whose
 * lab died is no longer live (its owner is dead) without it.
 */
export async function claimRunDir(dir: string): Promise<() => Promise<void>> {
  const tmp = tempSibling(dir); // not a run name: listRuns never sees it
  const forget = onAbnormalExit(() => fsSync.rmSync(tmp, { recursive: true, force: true }));
  try {
    await fs.mkdir(path.join(tmp, LIVE_MARKER), { recursive: true });
    await writeOwner(path.join(tmp, LIVE_MARKER));
    const placed = await fs.rename(tmp, dir).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST' || err.code === 'ENOTEMPTY') return false;
        throw err;
      },
    );
    if (!placed) {
      // An existing directory (--out): the marker replaces an earlier run's.
      await fs.rm(path.join(dir, LIVE_MARKER), { recursive: true, force: true });
      await fs.rename(path.join(tmp, LIVE_MARKER), path.join(dir, LIVE_MARKER));
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
    forget();
  }
  return () => fs.rm(path.join(dir, LIVE_MARKER), { recursive: true, force: true });
}

/** Is a lab still running in this run directory? */
export async function runIsLive(dir: string): Promise<boolean> {
  const owner = await readOwner(path.join(dir, LIVE_MARKER));
  return owner !== undefined && ownerAlive(owner);
}

/**
 * Which run directories a policy removes; `protect` (the run just made) never
 * is, and counts as one of those kept; nor is a run in `live` (another matrix's, still running).
 */
export function runsToPrune(names: string[], policy: PrunePolicy, now: number, protect?: string, live: ReadonlySet<string> = new Set()): string[] {
  const newestFirst = [...names].sort().reverse();
  const ordered = protect && names.includes(protect) ? [protect, ...newestFirst.filter((n) => n !== protect)] : newestFirst;
  return ordered.filter((name, i) => {
    if (name === protect || live.has(name)) return false;
    if (policy.keep !== undefined && i >= policy.keep) return true;
    if (policy.maxAgeDays !== undefined && now - stampTime(name) > policy.maxAgeDays * 86_400_000) return true;
    return false;
  });
}

export async function pruneRuns(root: string, policy: PrunePolicy, protect?: string): Promise<string[]> {
  if (policy.keep !== undefined && (!Number.isInteger(policy.keep) || policy.keep < 1)) throw new LabError(`--keep-runs ${policy.keep}: expected a whole number >= 1`);
  if (policy.maxAgeDays !== undefined && !(policy.maxAgeDays > 0)) throw new LabError(`--max-age-days ${policy.maxAgeDays}: expected a number of days > 0`);
  const names = await listRuns(root);
  const live = new Set<string>();
  for (const name of names) if (await runIsLive(path.join(root, name))) live.add(name);
  const doomed = runsToPrune(names, policy, Date.now(), protect && path.basename(protect), live);
  for (const name of doomed) await fs.rm(path.join(root, name), { recursive: true, force: true });
  return doomed.map((n) => path.join(root, n));
}
