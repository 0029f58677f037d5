import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { storeEntry } from '../../../lab/store/store.ts';
import { cacheKey } from '../../../lab/util/digest.ts';
import { tempDirs } from '../../helpers.ts';

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

  it('has every file on disk (fsynced) before its .complete marker exists', async () => {
    const { root, dirs } = await tempDirs();
    const probe = await fs.open(path.join(root, 'probe'), 'w');
    const handleProto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    // Which path each handle was opened on, and which were synced while no .complete existed yet.
    const opened = new WeakMap<object, string>();
    const realOpen = fs.open.bind(fs);
    vi.spyOn(fs, 'open').mockImplementation(async (...args: Parameters<typeof fs.open>) => {
      const h = await realOpen(...args);
      opened.set(h, String(args[0]));
      return h;
    });
    const syncedBeforeMarker = new Set<string>();
    const realSync = handleProto.sync;
    vi.spyOn(handleProto, 'sync').mockImplementation(async function (this: object) {
      const p = opened.get(this);
      if (p && !(await markerExists(dirs.store))) syncedBeforeMarker.add(path.basename(p));
      return realSync.call(this);
    });
    await storeEntry(dirs.store, 'step', { k: 2 }, async (out) => {
      await fs.mkdir(path.join(out, 'lib'));
      await fs.writeFile(path.join(out, 'zImage'), 'kernel');
      await fs.writeFile(path.join(out, 'lib', 'libc.so'), 'libc');
    });
    expect([...syncedBeforeMarker]).toEqual(expect.arrayContaining(['zImage', 'libc.so', 'lib']));
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
