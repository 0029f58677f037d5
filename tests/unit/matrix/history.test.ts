import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimRunDir, listRuns, pruneRuns, runIsLive } from '../../../lab/matrix/history.ts';
import { writeOwner } from '../../../lab/util/owner.ts';
import { tempDirs } from '../../helpers.ts';

const OLD = '2026-11-01T00-00-00-000Z';
const OTHERS = '2026-11-02T00-00-00-000Z';
const CRASHED = '2026-11-03T00-00-00-000Z';
const MINE = '2026-11-04T00-00-00-000Z';
/** Older than any --max-age-days a test uses, whatever today is. */
const ANCIENT = '2001-01-01T00-00-00-000Z';

describe('pruning run directories', () => {
  it('never removes a run still in progress (another matrix), but does remove one whose lab died', async () => {
    const { root } = await tempDirs();
    for (const name of [OLD, OTHERS, CRASHED, MINE]) await fs.mkdir(path.join(root, name, '.running'), { recursive: true });
    await fs.writeFile(path.join(root, OLD, 'matrix.json'), '{}');
    await fs.rm(path.join(root, OLD, '.running'), { recursive: true });
    // Another matrix, running in a live process (this one), still writing its run directory.
    await writeOwner(path.join(root, OTHERS, '.running'));
    await fs.writeFile(path.join(root, CRASHED, '.running', 'pid'), '999999999');
    const pruned = await pruneRuns(root, { keep: 1 }, path.join(root, MINE));
    expect(pruned.map((p) => path.basename(p)).sort()).toEqual([OLD, CRASHED]);
    expect(await listRuns(root)).toEqual([OTHERS, MINE]);
  });

  it('a claimed run directory is live from the moment it exists until released', async () => {
    const { root } = await tempDirs();
    const dir = path.join(root, ANCIENT);
    const release = await claimRunDir(dir);
    expect(await runIsLive(dir)).toBe(true);
    expect(await fs.readdir(root)).toEqual([ANCIENT]); // no temporary left beside it
    expect(await pruneRuns(root, { maxAgeDays: 1 })).toEqual([]);
    await release();
    expect(await runIsLive(dir)).toBe(false);
    expect(await pruneRuns(root, { maxAgeDays: 1 })).toEqual([dir]);
  });

  it('claiming an existing directory (--out) marks it live too', async () => {
    const { root } = await tempDirs();
    await fs.writeFile(path.join(root, 'kept.txt'), 'x');
    const release = await claimRunDir(root);
    expect(await runIsLive(root)).toBe(true);
    expect(await fs.readFile(path.join(root, 'kept.txt'), 'utf8')).toBe('x');
    await release();
    expect(await runIsLive(root)).toBe(false);
  });
});
