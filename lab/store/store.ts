import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError } from '../util/errors.ts';
import { cacheKey } from '../util/digest.ts';
import { exists, syncPath, syncTree, tempSibling, writeFileSynced } from '../util/fs.ts';
import { withLock } from './lock.ts';
import { onAbnormalExit } from '../util/lifetime.ts';
import { planning } from './plan.ts';

export interface StoreEntry {
  dir: string;
  key: string;
  hit: boolean;
}

/**
 * The content-addressed build store: <store>/<step>/<key>/ where key is the
 * sha256 of every input of the step. An entry is built in a temporary sibling
 * and renamed into place when complete, so a crash never leaves half an entry,
 * and a lock per key makes two concurrent builds of the same thing build it once.
 */
export async function storeEntry(
  storeRoot: string,
  step: string,
  inputs: unknown,
  /** Writes the entry into `outDir`; `scratch` is a private empty directory removed afterwards. */
  build: (outDir: string, scratch: string) => Promise<void>,
  onWait?: () => void,
): Promise<StoreEntry> {
  const key = cacheKey({ step, inputs });
  const dir = path.join(storeRoot, step, key);
  // A dry run (reprolab build --dry-run): record the step, build nothing.
  const planner = planning();
  // A step that waits for another has no real key yet: what depends on it waits too.
  if (planner) return { key, ...(await planner.record(storeRoot, step, inputs, key, dir)) };
  if (await exists(path.join(dir, '.complete'))) return { dir, key, hit: true };
  return withLock(
    path.join(storeRoot, '.locks', `${step}-${key}`),
    async () => {
      if (await exists(path.join(dir, '.complete'))) return { dir, key, hit: true };
      const tmp = tempSibling(dir);
      await fs.mkdir(tmp, { recursive: true });
      const scratch = `${tmp}.scratch`;
      // Interrupted mid-build: remove the half-built entry and its scratch space.
      const forget = onAbnormalExit(() => {
        for (const d of [tmp, scratch]) fsSync.rmSync(d, { recursive: true, force: true });
      });
      let placed: boolean;
      try {
        await fs.mkdir(scratch);
        await build(tmp, scratch);
        await fs.writeFile(path.join(tmp, '.inputs.json'), JSON.stringify({ step, inputs }, null, 2));
        // .complete vouches for every file: they reach the disk before it does (a power loss must not leave the marker alone).
        await syncTree(tmp);
        await writeFileSynced(path.join(tmp, '.complete'), new Date().toISOString());
        await syncPath(tmp);
        placed = await placeEntry(tmp, dir);
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true });
        throw err;
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
        forget();
      }
      return { dir, key, hit: !placed };
    },
    onWait,
  );
}

function parseInputs(text: string): unknown {
  try {
    return (JSON.parse(text) as { inputs?: unknown }).inputs;
  } catch {
    return undefined;
  }
}

/** Whether a complete entry of `step` was built from inputs that `match` accepts (read from its .inputs.json). */
export async function hasEntryWhere(storeRoot: string, step: string, match: (inputs: Record<string, unknown>) => boolean): Promise<boolean> {
  const stepDir = path.join(storeRoot, step);
  const names = await fs.readdir(stepDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!(await exists(path.join(stepDir, name, '.complete')))) continue;
    const text = await fs.readFile(path.join(stepDir, name, '.inputs.json'), 'utf8').catch(() => undefined);
    // An unreadable record is not a match: this is a shortcut, never a reason to fail a build.
    const recorded = text === undefined ? undefined : parseInputs(text);
    if (recorded && typeof recorded === 'object' && match(recorded as Record<string, unknown>)) return true;
  }
  return false;
}

/**
 * Renames the finished build to its key; false when a complete entry is already
 * there (then ours is dropped: a complete entry is never removed, someone may be
 * reading it). A folder without .complete (an older lab's leftover) is moved away.
 */
async function placeEntry(tmp: string, dir: string): Promise<boolean> {
  for (;;) {
    try {
      await fs.rename(tmp, dir);
      await syncPath(path.dirname(dir));
      return true;
    } catch (err) {
      if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    if (await exists(path.join(dir, '.complete'))) {
      await fs.rm(tmp, { recursive: true, force: true });
      return false;
    }
    const junk = tempSibling(dir);
    await fs.rename(dir, junk).catch(() => undefined);
    await fs.rm(junk, { recursive: true, force: true });
  }
}

/** The inputs a finished entry was built from (its .inputs.json), e.g. a probe build's source digests. */
export async function entryInputs(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, '.inputs.json');
  try {
    const doc = JSON.parse(await fs.readFile(file, 'utf8')) as { inputs?: unknown };
    if (doc.inputs && typeof doc.inputs === 'object') return doc.inputs as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new LabError(`${file}: missing or unreadable: the store entry is incomplete`, { fix: 'build it again' });
}
