import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeEntry } from '../../../lab/store/store.ts';
import { Planner, pending } from '../../../lab/store/plan.ts';
import { cacheKey, sha256Tree } from '../../../lab/util/digest.ts';
import { tempDirs } from '../../helpers.ts';

describe('cache keys', () => {
  it('do not depend on object key order', () => {
    expect(cacheKey({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(cacheKey({ b: { d: 'x', c: [1, 2] }, a: 1 }));
  });

  it('change with any input', () => {
    const base = { source: 'aa', patches: ['p1', 'p2'], config: 'c', toolchain: 'gcc 12.2' };
    const variants = [
      { ...base, source: 'ab' },
      { ...base, patches: ['p2', 'p1'] },
      { ...base, patches: ['p1'] },
      { ...base, config: 'd' },
      { ...base, toolchain: 'gcc 12.3' },
    ];
    for (const v of variants) expect(cacheKey(v)).not.toBe(cacheKey(base));
  });

  it('tree digests follow content, not location', async () => {
    const { root } = await tempDirs();
    for (const d of ['a', 'b']) {
      await fs.mkdir(path.join(root, d, 'sub'), { recursive: true });
      await fs.writeFile(path.join(root, d, 'sub', 'f'), 'hello');
    }
    expect(await sha256Tree(path.join(root, 'a'))).toBe(await sha256Tree(path.join(root, 'b')));
    await fs.writeFile(path.join(root, 'b', 'sub', 'f'), 'hellO');
    expect(await sha256Tree(path.join(root, 'a'))).not.toBe(await sha256Tree(path.join(root, 'b')));
  });
});

describe('content-addressed store', () => {
  it('builds once, then hits', async () => {
    const { dirs } = await tempDirs();
    let builds = 0;
    const build = async (out: string) => {
      builds++;
      await fs.writeFile(path.join(out, 'x'), 'y');
    };
    const first = await storeEntry(dirs.store, 'step', { k: 1 }, build);
    const second = await storeEntry(dirs.store, 'step', { k: 1 }, build);
    expect(first.hit).toBe(false);
    expect(second.hit).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(builds).toBe(1);
  });

  it('leaves nothing half-written when a build fails', async () => {
    const { dirs } = await tempDirs();
    await expect(
      storeEntry(dirs.store, 'step', { k: 2 }, async (out) => {
        await fs.writeFile(path.join(out, 'partial'), 'x');
        throw new Error('compiler crashed');
      }),
    ).rejects.toThrow('compiler crashed');
    const left = await fs.readdir(path.join(dirs.store, 'step')).catch(() => []);
    expect(left).toEqual([]);
    let ran = false;
    const again = await storeEntry(dirs.store, 'step', { k: 2 }, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(again.hit).toBe(false);
  });

  it('two concurrent builds of the same key build it once and agree', async () => {
    const { dirs } = await tempDirs();
    let builds = 0;
    const build = async (out: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 300));
      await fs.writeFile(path.join(out, 'x'), 'y');
    };
    const [a, b] = await Promise.all([storeEntry(dirs.store, 's', { k: 3 }, build), storeEntry(dirs.store, 's', { k: 3 }, build)]);
    expect(builds).toBe(1);
    expect(a.dir).toBe(b.dir);
    expect(await fs.readFile(path.join(a.dir, 'x'), 'utf8')).toBe('y');
  });

  it('takes over a lock left by a dead process', async () => {
    const { dirs } = await tempDirs();
    const key = cacheKey({ step: 's', inputs: { k: 4 } });
    const lock = path.join(dirs.store, '.locks', `s-${key}`);
    await fs.mkdir(lock, { recursive: true });
    await fs.writeFile(path.join(lock, 'pid'), '999999999');
    const e = await storeEntry(dirs.store, 's', { k: 4 }, async () => undefined);
    expect(e.hit).toBe(false);
  });
});

describe('a dry run plans without building', () => {
  it('says which steps are cached, which must run and which input changed, and builds nothing', async () => {
    const { root } = await tempDirs();
    const store = path.join(root, 'store');
    await storeEntry(store, 'kernel', { config: 'a', tree: 't1' }, async (out) => fs.writeFile(path.join(out, 'zImage'), 'k'));
    let built = 0;
    const build = async () => void built++;
    const planner = new Planner();
    await planner.run(async () => {
      planner.phase = 'kernel';
      await storeEntry(store, 'kernel', { config: 'a', tree: 't1' }, build);
      await storeEntry(store, 'kernel', { config: 'b', tree: 't1' }, build);
      planner.phase = 'bundle';
      const kernel = await storeEntry(store, 'kernel', { initramfs: pending('rootfs') }, build);
      await storeEntry(store, 'bundle', { kernel: kernel.dir }, build);
      await storeEntry(store, 'probes', { sources: [{ file: 'x.c', sha256: '1' }] }, build);
    });
    expect(built).toBe(0);
    expect(planner.steps.map((s) => [s.step, s.run, s.why])).toEqual([
      ['kernel', false, 'cached: nothing it depends on changed'],
      ['kernel', true, 'not in the store; the closest earlier build differs in: config'],
      ['kernel', true, 'its inputs include the output of rootfs, which must run first'],
      ['bundle', true, 'its inputs include the output of kernel, which must run first'],
      ['probes', true, 'never built: no earlier entry of this step in the store'],
    ]);
    expect(planner.steps[4]!.phase).toBe('bundle');
    // Nothing was written for the planned steps.
    expect(await fs.readdir(path.join(store, 'kernel'))).toHaveLength(1);
  });
});
