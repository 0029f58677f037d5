import fs from 'node:fs/promises';
import path from 'node:path';
import { loadRangedSeries, uclibcNgDir } from '../catalog/libc.ts';
import { exportTree, isAncestor } from '../sources/git-repo.ts';
import { applySeries, describePatch, type Patch } from '../sources/patches.ts';
import { storeEntry } from '../store/store.ts';
import type { CompileRecipe } from './compile.ts';
import type { Toolchain } from './toolchain.ts';
import type { ConfigSetting } from './config-fragment.ts';
import { compileUclibc, DROPPED_OPTIONS, uclibcRecipe, uclibcSharedRecipe, type UclibcBuildEnv } from './uclibc.ts';
import { planning } from '../store/plan.ts';
import { LabError } from '../util/errors.ts';

export interface UclibcNgBuild {
  commit: string;
  /** MAJOR.MINOR.SUBLEVEL[EXTRAVERSION] from the tree's own Rules.mak. */
  version: string;
  sysroot: string;
  /** The loader's file name in lib/ (uClibc-ng: ld-uClibc.so.1; a 0.9.3x tree: .so.0). */
  loader: string;
  /** Fragment settings this revision's Kconfig does not define, left out of its config. */
  droppedOptions: string[];
  /** Static link against libc.a (no threads in the lab's uClibc-ng config). */
  recipe: CompileRecipe;
  /** The compat patches the revision needed, then the caller's own (validate-patch's), in the order applied. */
  patches: Patch[];
  hit: boolean;
}

/** The compat patches a revision needs: those whose upstream replacement it does not contain. */
export async function compatPatchesFor(repo: string, commit: string): Promise<Patch[]> {
  const series = await loadRangedSeries(path.join(uclibcNgDir, 'compat'));
  const needed: Patch[] = [];
  for (const p of series) if (!(await isAncestor(repo, p.until.commit, commit))) needed.push(await describePatch(p.file));
  return needed;
}

/** "1.0.57", "1.0.1-git": what the tree says it is. */
export function versionFromRulesMak(text: string): string {
  const v = (name: string) => new RegExp(`^${name}[ \\t]*:=[ \\t]*(\\S*)`, 'm').exec(text)?.[1] ?? '';
  const base = [v('MAJOR_VERSION'), v('MINOR_VERSION'), v('SUBLEVEL')].filter(Boolean).join('.');
  return `${base || 'unknown'}${v('EXTRAVERSION')}`;
}

/**
 * uClibc-ng at one commit of the user's repository, for a target's arch on its
 * kernel headers. The exported tree is a store entry keyed by the commit and
 * the compat patches; the sysroot one by the tree, config, headers and
 * compiler — so a bisection that visits a commit twice builds it once. `extraPatches` (a user's,
 * for validate-patch) go on after the compat patches and are part of the tree's key.
 */
export async function buildUclibcNg(opts: UclibcBuildEnv & { repo: string; commit: string; extraPatches?: Patch[]; settings?: ConfigSetting[] }): Promise<UclibcNgBuild> {
  const { repo, commit, dirs, logFile } = opts;
  const patches = [...(await compatPatchesFor(repo, commit)), ...(opts.extraPatches ?? [])];
  const tree = await storeEntry(dirs.sources, 'uclibc-ng', { commit, patches: patches.map((p) => p.sha256) }, async (out, scratch) => {
    await exportTree(repo, commit, out, scratch, logFile);
    await applySeries(out, patches, `uClibc-ng ${commit.slice(0, 12)}`);
  });
  const version = versionFromRulesMak(await fs.readFile(path.join(tree.dir, 'Rules.mak'), 'utf8').catch(() => ''));
  const { repo: _repo, commit: _commit, extraPatches: _extra, settings, ...env } = opts;
  const sysroot = await compileUclibc({ ...env, treeDir: tree.dir, treeKey: tree.key, configDir: uclibcNgDir, label: `uClibc-ng ${version} (${commit.slice(0, 12)})`, skipUnknown: true, ...(settings ? { settings } : {}) });
  const loader = await loaderName(path.join(sysroot.dir, 'lib'));
  const droppedFile = path.join(sysroot.dir, DROPPED_OPTIONS);
  const droppedText = await fs.readFile(droppedFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    // A dry run has built nothing; a built sysroot without the file is not one this code wrote.
    if (planning()) return '';
    throw new LabError(`${droppedFile}: ${err.code ?? err.message}`, { fix: `remove ${sysroot.dir} from the store so it is built again` });
  });
  const droppedOptions = droppedText.split('\n').filter(Boolean);
  return { commit, version, sysroot: sysroot.dir, loader, droppedOptions, recipe: uclibcRecipe(opts.tc, sysroot.dir, { pthread: false }), patches, hit: sysroot.hit && tree.hit };
}

/** The dynamic link of the probes against this build, loading it from `guestLibDir`. */
export function uclibcNgSharedRecipe(tc: Toolchain, b: UclibcNgBuild, guestLibDir: string): CompileRecipe {
  return uclibcSharedRecipe(tc, b.sysroot, guestLibDir, b.loader);
}

/** The highest-numbered ld-uClibc.so.N in lib/: the ABI the tree built (1 for uClibc-ng, 0 before). */
async function loaderName(libDir: string): Promise<string> {
  const names = (await fs.readdir(libDir).catch(() => [] as string[])).filter((n) => /^ld-uClibc\.so\.\d+$/.test(n));
  const highest = names.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())).at(-1);
  // A dry run has built nothing yet: it plans with uClibc-ng's loader name.
  if (!highest && planning()) return 'ld-uClibc.so.1';
  if (!highest) throw new LabError(`${libDir}: the uClibc-ng build installed no ld-uClibc.so.N`, { fix: 'check HAVE_SHARED in images/libc/uclibc-ng/common.config and the build log' });
  return highest;
}
