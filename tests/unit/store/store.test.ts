import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { storeEntry } from '../../../lab/store/store.ts';
import { cacheKey } from '../../../lab/util/digest.ts';
import { tempDirs } from '../../helpers.ts';

/** Every `sync -f DIR` the lab runs, and whether a .complete existed under the store then. */
const syncs: { dir: string; markerYet: boolean }[] = [];
let storeRoot = '';
vi.mock('../../../lab/util/process.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../../lab/util/process.ts')>();
  return {
    ...orig,
    capture: async (file: string, args: string[], ...rest: []) => {
      if (file === 'sync' && args[0] === '-f') syncs.push({ dir: args[1]!, markerYet: storeRoot ? await markerExists(storeRoot) : false });
      return orig.capture(file, args, ...rest);
    },
  };
});

afterEach(() => vi.restoreAllMocks());

describe('a store entry', () => {
  it('is never removed once complete, even by a second builder that ran anyway', async () => {
    const { dirs } = await tempDirs();
    const inputs = { k: 1 };
    const dir = path.join(dirs.store, 'step', cacheKey({ step: 'step', inputs }));
    const e = await storeEntry(dirs.store, 'step', inputs, async (out) => {
      // Meanwhile another holder finished the same entry, and a reader has it open.
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'who'), 'first');
      await fs.writeFile(path.join(dir, '.complete'), 'x');
      await fs.writeFile(path.join(out, 'who'), 'second');
    });
    expect(e.dir).toBe(dir);
    expect(await fs.readFile(path.join(dir, 'who'), 'utf8')).toBe('first');
    expect((await fs.readdir(path.dirname(dir))).filter((n) => n !== path.basename(dir))).toEqual([]);
  });

  it('has every file on disk (the filesystem synced) before its .complete marker exists', async () => {
    const { dirs } = await tempDirs();
    storeRoot = dirs.store;
    let built = '';
    await storeEntry(dirs.store, 'step', { k: 2 }, async (out) => {
      built = out;
      await fs.mkdir(path.join(out, 'lib'));
      await fs.writeFile(path.join(out, 'zImage'), 'kernel');
      await fs.writeFile(path.join(out, 'lib', 'libc.so'), 'libc');
    });
    // One syncfs of the entry's filesystem, while its marker did not exist yet.
    expect(syncs).toContainEqual({ dir: built, markerYet: false });
    syncs.length = 0;
  });
});

/** Is there a .complete anywhere under the store's step folder (in the temporary entry or the final one)? */
async function markerExists(store: string): Promise<boolean> {
  const step = path.join(store, 'step');
  for (const name of await fs.readdir(step).catch(() => [] as string[])) {
    if (await fs.access(path.join(step, name, '.complete')).then(() => true, () => false)) return true;
  }
  return false;
}
