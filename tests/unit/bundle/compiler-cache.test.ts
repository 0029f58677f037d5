import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCompilerCache, compilerCache } from '../../../lab/bundle/compiler-cache.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { TOOLCHAINS } from '../../../lab/bundle/toolchain.ts';
import { runCommand, runLogged } from '../../../lab/util/process.ts';
import { tempDirs } from '../../helpers.ts';

/** A make that compiles one object with -MD, as uClibc-ng's rules do. */
const MAKEFILE = 'x.o: x.c\n\t$(CC) -MD -MF .x.o.dep -O2 -I$(CURDIR)/include -c x.c -o x.o\n';

async function tree(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(path.join(dir, 'include'), { recursive: true });
  await fs.writeFile(path.join(dir, 'include', 'x.h'), '#define X 41\n');
  await fs.writeFile(path.join(dir, 'x.c'), '#include "x.h"\nint x(void) { return X + 1; }\n');
  await fs.writeFile(path.join(dir, 'Makefile'), MAKEFILE);
  return dir;
}

describe('the compiler cache of the uClibc-ng builds', () => {
  it('answers the same compile in another scratch folder from the cache, and a changed header misses', async () => {
    const { root, dirs } = await tempDirs();
    const tc = { ...TOOLCHAINS.arm, prefix: '' }; // the host's gcc: the test needs no cross compiler
    const logFile = path.join(root, 'make.log');
    const build = async (name: string) => {
      const dir = await tree(root, name);
      const cache = compilerCache(dirs, tc, dir);
      await runLogged('make', ['-C', dir, ...cache.makeArgs], { logFile, env: cache.env });
      return { dir, cache };
    };
    const hits = async (env: Record<string, string>) => Number(/^direct_cache_hit\t(\d+)$/m.exec((await runCommand('ccache', ['--print-stats'], { env })).stdout)?.[1]);
    const a = await build('scratch-a');
    expect(a.cache.makeArgs).toEqual(['CC=ccache gcc']);
    expect(await hits(a.cache.env)).toBe(0);
    const b = await build('scratch-b');
    expect(await hits(b.cache.env)).toBe(1);
    expect(await fs.readFile(path.join(b.dir, 'x.o'))).toEqual(await fs.readFile(path.join(a.dir, 'x.o')));
    // A header the dependency file names changes: a miss, not the old object.
    const c = await tree(root, 'scratch-c');
    await fs.writeFile(path.join(c, 'include', 'x.h'), '#define X 1\n');
    const cc = compilerCache(dirs, tc, c);
    await runLogged('make', ['-C', c, ...cc.makeArgs], { logFile, env: cc.env });
    expect(await hits(cc.env)).toBe(1);
    expect(await fs.readFile(path.join(c, 'x.o'))).not.toEqual(await fs.readFile(path.join(a.dir, 'x.o')));
  });

  it("the user's CCACHE_* settings do not reach the lab's builds, and a ccache that does not run is the lab's error", async () => {
    const { root, dirs } = await tempDirs();
    const tc = { ...TOOLCHAINS.arm, prefix: '' };
    const saved = process.env.CCACHE_PREFIX;
    // A prefix command that fails every compile: if it leaked in, the make would fail.
    process.env.CCACHE_PREFIX = '/bin/false';
    try {
      const dir = await tree(root, 'scratch-p');
      const cache = compilerCache(dirs, tc, dir);
      await checkCompilerCache(cache);
      await runLogged('make', ['-C', dir, ...cache.makeArgs], { logFile: path.join(root, 'make.log'), env: cache.env });
    } finally {
      if (saved === undefined) delete process.env.CCACHE_PREFIX;
      else process.env.CCACHE_PREFIX = saved;
    }
    const missing = await checkCompilerCache({ makeArgs: ['CC=ccache gcc'], env: { PATH: path.join(root, 'no-bin') }, viaCcache: true }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LabError);
    expect(missing).toMatchObject({ kind: 'lab', message: expect.stringMatching(/ccache does not run/) });
  });

  it('REPROLAB_CCACHE=0 compiles without it', () => {
    const tc = { ...TOOLCHAINS.arm };
    expect(compilerCache({ cache: '/c' } as never, tc, '/s', { REPROLAB_CCACHE: '0' })).toEqual({ makeArgs: ['CC=arm-linux-gnueabi-gcc'], env: {}, viaCcache: false });
  });
});
