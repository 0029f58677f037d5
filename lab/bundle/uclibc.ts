import fs from 'node:fs/promises';
import path from 'node:path';
import type { Target } from '../model/target.ts';
import { uclibcDir } from '../catalog/libc.ts';
import { loadSourceSpec } from '../catalog/source-spec.ts';
import { prepareTree, type PreparedTree } from '../sources/prepare.ts';
import { resolveSource, type SourceOptions } from '../sources/resolve.ts';
import { sha256 } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import { repoRoot, type LabDirs } from '../util/paths.ts';
import { runLogged } from '../util/process.ts';
import { applyFragment, parseFragment, verifyFragment, type ConfigSetting } from './config-fragment.ts';
import { jobs } from './kernel.ts';
import { describePatch, loadSeries, type Patch } from '../sources/patches.ts';
import { storeEntry } from '../store/store.ts';
import { toolchainVersion, type Toolchain } from './toolchain.ts';
import type { CompileRecipe } from './compile.ts';
import { checkCompilerCache, compilerCache } from './compiler-cache.ts';

export interface LibcBuild {
  variant: string;
  /** Sysroot with usr/include (libc + kernel headers) and usr/lib (crt objects, static libs). */
  sysroot: string;
  recipe: CompileRecipe;
  patches: Patch[];
  tree?: PreparedTree;
  hit: boolean;
}

/** The variant validate-patch builds: the user's patches straight on the unpatched libc. */
export const CANDIDATE_VARIANT = 'candidate';

/** compat series + the variant's series + extra patches for non-baseline variants ("candidate": compat + extra only). */
export async function uclibcPatches(variant: string, extra: string[]): Promise<Patch[]> {
  const compat = await loadSeries(path.join(uclibcDir, 'compat'));
  if (variant === 'unpatched') return compat;
  const series = variant === CANDIDATE_VARIANT ? [] : await loadSeries(path.join(uclibcDir, 'variants', variant));
  const added = await Promise.all(extra.map((f) => describePatch(path.resolve(f))));
  return [...compat, ...series, ...added];
}

export async function buildUclibc(opts: {
  target: Target;
  variant: string;
  extraPatches: string[];
  headers: string;
  headersKey: string;
  tc: Toolchain;
  dirs: LabDirs;
  sources: SourceOptions;
  logFile: string;
}): Promise<LibcBuild> {
  const { variant, tc, dirs, logFile } = opts;
  const spec = await loadSourceSpec(path.join(uclibcDir, 'source.json'));
  const source = await resolveSource(spec, opts.sources);
  const patches = await uclibcPatches(variant, opts.extraPatches);
  const tree = await prepareTree(source, patches, 'uClibc', dirs, logFile);
  const sysroot = await compileUclibc({ treeDir: tree.dir, treeKey: tree.key, configDir: uclibcDir, label: `uClibc (${variant})`, arch: opts.target.arch, headers: opts.headers, headersKey: opts.headersKey, tc, dirs, logFile });
  return { variant, sysroot: sysroot.dir, recipe: uclibcRecipe(tc, sysroot.dir), patches, tree, hit: sysroot.hit };
}

/** What every uClibc-family build of a target needs besides its tree: the arch, its kernel headers, the compiler, where to put things. */
export interface UclibcBuildEnv {
  arch: string;
  headers: string;
  headersKey: string;
  tc: Toolchain;
  dirs: LabDirs;
  logFile: string;
}

/** The fragment settings a tree's Kconfig does not define (skipUnknown), one NAME=value per line. */
export const DROPPED_OPTIONS = 'lab-dropped-options.txt';

/**
 * Configures, builds and installs one uClibc-family tree (uClibc 0.9.33.2 or
 * uClibc-ng) into a sysroot store entry: the config fragments of `configDir`
 * (common + the arch's), the kernel headers, the cross compiler.
 */
export async function compileUclibc(opts: UclibcBuildEnv & {
  treeDir: string;
  treeKey: string;
  configDir: string;
  label: string;
  /**
   * One fragment for many revisions (uClibc-ng): a setting whose option the
   * tree's Kconfig does not define is left out (and logged), not failed on.
   */
  skipUnknown?: boolean;
  /** A whole config in place of configDir's fragments: a product's own, checked by whoever read it. */
  settings?: ConfigSetting[];
}): Promise<{ dir: string; hit: boolean }> {
  const { tc, logFile } = opts;
  const fragmentFiles = opts.settings ? [] : ['common.config', `${opts.arch}.config`];
  const texts = opts.settings ? [applyFragment('', opts.settings)] : await Promise.all(fragmentFiles.map((f) => fs.readFile(path.join(opts.configDir, f), 'utf8')));
  const shown = path.relative(repoRoot, opts.configDir);
  return storeEntry(
    opts.dirs.store,
    'uclibc',
    {
      /** 2: kconfig writes no time into .config and uClibc_config.h (KCONFIG_NOTIMESTAMP), objects through ccache. */
      recipe: 2,
      tree: opts.treeKey,
      arch: tc.arch,
      config: texts.map((t) => sha256(t)),
      headers: opts.headersKey,
      toolchain: await toolchainVersion(tc),
      ...(opts.skipUnknown ? { skipUnknown: true } : {}),
    },
    async (out, scratch) => {
      // uClibc builds in its source directory: build in a private copy.
      const work = path.join(scratch, 'uClibc');
      await runLogged('cp', ['-a', `${opts.treeDir}/.`, work], { logFile });
      const fromFragments = opts.settings ?? fragmentFiles.flatMap((f, i) => parseFragment(`${shown}/${f}`, texts[i]!));
      const known = opts.skipUnknown ? await kconfigSymbols(path.join(work, 'extra', 'Configs'), logFile) : undefined;
      const kept = known ? fromFragments.filter((s) => known.has(s.name)) : fromFragments;
      const dropped = fromFragments.filter((s) => !kept.includes(s));
      if (dropped.length) await fs.appendFile(logFile, `\n# options this tree does not have (left out): ${dropped.map((s) => `${s.name} (${s.origin})`).join(', ')}\n`);
      // Kept beside the sysroot: a bisection shows which options each step went without.
      await fs.writeFile(path.join(out, DROPPED_OPTIONS), dropped.map((s) => `${s.name}=${s.value}\n`).join(''));
      const settings = [
        ...kept,
        { name: 'KERNEL_HEADERS', value: JSON.stringify(opts.headers), origin: 'lab (kernel headers)' },
        { name: 'CROSS_COMPILER_PREFIX', value: JSON.stringify(tc.prefix), origin: 'lab (toolchain)' },
      ];
      await fs.writeFile(path.join(work, '.config'), applyFragment('', settings));
      // Without the time in .config (uClibc_config.h is made from it and every object includes it),
      // the unpatched and patched variants, validate-patch's candidates and neighbouring uClibc-ng
      // commits share their unchanged objects through ccache.
      const cache = compilerCache(opts.dirs, tc, scratch);
      const { makeArgs } = cache;
      const env = { ...cache.env, KCONFIG_NOTIMESTAMP: '1' };
      await runLogged('make', ['-C', work, 'oldconfig'], { logFile, input: '\n'.repeat(2000), env });
      verifyFragment(await fs.readFile(path.join(work, '.config'), 'utf8'), settings, `${opts.label} for ${tc.arch}`);
      await checkCompilerCache(cache);
      await runLogged('make', ['-C', work, `-j${jobs()}`, ...makeArgs], { logFile, env });
      await runLogged('make', ['-C', work, ...makeArgs, `PREFIX=${out}`, 'install'], { logFile, env });
      await fs.copyFile(path.join(work, '.config'), path.join(out, 'uclibc.config'));
      await runLogged('cp', ['-a', `${opts.headers}/.`, path.join(out, 'usr', 'include')], { logFile });
    },
  );
}

/** Every `config NAME` a Kconfig directory defines. */
async function kconfigSymbols(dir: string, logFile: string): Promise<Set<string>> {
  const names = new Set<string>();
  const files = await fs.readdir(dir).catch(() => {
    throw new LabError(`${path.dirname(path.dirname(dir))}: this tree has no extra/Configs (not a uClibc tree?)`, { logPath: logFile, kind: 'config' });
  });
  for (const f of files) {
    const text = await fs.readFile(path.join(dir, f), 'utf8').catch(() => '');
    for (const m of text.matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)/gm)) names.add(m[1]!);
  }
  return names;
}

/** The static link against a uClibc sysroot; `pthread: false` for a build without threads (the lab's uClibc-ng). */
export function uclibcRecipe(tc: Toolchain, sysroot: string, opts: { pthread?: boolean } = {}): CompileRecipe {
  const lib = path.join(sysroot, 'usr', 'lib');
  return {
    cc: `${tc.prefix}gcc`,
    compile: ['-nostdinc', '-isystem', path.join(sysroot, 'usr', 'include'), '-isystem', '@GCC_INCLUDE@', '-fno-pie'],
    linkBefore: ['-nostdlib', '-static', '-no-pie', path.join(lib, 'crt1.o'), path.join(lib, 'crti.o')],
    linkAfter: [
      '-Wl,--start-group',
      ...(opts.pthread === false ? [] : [path.join(lib, 'libpthread.a')]),
      path.join(lib, 'libc.a'),
      '@LIBGCC@',
      ...(tc.arch === 'arm' ? ['@LIBGCC_EH@'] : []),
      '-Wl,--end-group',
      path.join(lib, 'crtn.o'),
    ],
  };
}

/**
 * Dynamic link of a program against the variant's shared uClibc as the guest
 * will load it: the loader at `guestLibDir`/ld-uClibc.so.0 and, under a
 * prefix, an rpath there, so its libc.so.0 is the variant's, not /lib's.
 * ld's --sysroot resolves the absolute /lib paths of usr/lib/libc.so (a linker script) inside the sysroot.
 */
export function uclibcSharedRecipe(tc: Toolchain, sysroot: string, guestLibDir: string, loader = 'ld-uClibc.so.0'): CompileRecipe {
  const lib = path.join(sysroot, 'usr', 'lib');
  // Compiled exactly as for the static link; only the link differs.
  const { cc, compile } = uclibcRecipe(tc, sysroot);
  return {
    cc,
    compile,
    linkBefore: [
      '-nostdlib',
      '-no-pie',
      `-Wl,--sysroot=${sysroot}`,
      `-L${lib}`,
      `-Wl,-rpath-link,${path.join(sysroot, 'lib')}`,
      `-Wl,--dynamic-linker=${guestLibDir}/${loader}`,
      ...(guestLibDir === '/lib' ? [] : [`-Wl,-rpath,${guestLibDir}`]),
      path.join(lib, 'crt1.o'),
      path.join(lib, 'crti.o'),
    ],
    linkAfter: ['-lc', '@LIBGCC@', path.join(lib, 'crtn.o')],
  };
}
