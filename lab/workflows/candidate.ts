import fs from 'node:fs/promises';
import path from 'node:path';
import { relPatch } from '../bundle/bundle.ts';
import { buildProbes } from '../bundle/probes.ts';
import { storeEntry } from '../store/store.ts';
import { TOOLCHAINS, toolchainVersion } from '../bundle/toolchain.ts';
import { buildUclibc, CANDIDATE_VARIANT } from '../bundle/uclibc.ts';
import { buildUclibcNg } from '../bundle/uclibc-ng.ts';
import { uclibcNgClone } from '../catalog/libc.ts';
import type { CompileRecipe } from '../bundle/compile.ts';
import type { Toolchain } from '../bundle/toolchain.ts';
import { openRepo, resolveRev } from '../sources/git-repo.ts';
import { describePatch, type Patch } from '../sources/patches.ts';
import type { VariantManifest } from '../model/manifest.ts';
import type { Target } from '../model/target.ts';
import type { SourceOptions } from '../sources/resolve.ts';
import { sha256Tree } from '../util/digest.ts';
import { describeError, LabError, UsageError } from '../util/errors.ts';
import type { LabDirs } from '../util/paths.ts';
import { importBuildroot } from './buildroot/import.ts';
import { inspectBuildrootOutput } from './buildroot/inspect.ts';
import { productUclibcConfig, productUclibcSettings } from './buildroot/uclibc-config.ts';

/** The kernel's uapi directories Buildroot installs into staging/usr/include beside the libc headers. */
const KERNEL_HEADER_DIRS = ['linux', 'asm', 'asm-generic', 'mtd', 'rdma', 'scsi', 'sound', 'video', 'xen', 'drm', 'misc'];

/** The libcs validate-patch builds from source: the name --libc takes → the libc kind of the targets it judges. */
export const CANDIDATE_LIBCS = { 'uclibc-0.9.33.2': 'uclibc', 'uclibc-ng': 'uclibc-ng' } as const;
export type CandidateLibc = keyof typeof CANDIDATE_LIBCS;

/** A uClibc-ng release number as Buildroot's output states it (it becomes a tag name: nothing else gets through). */
const NG_VERSION = /^\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The candidate libc: its static link recipe, its sysroot and how the bundle's manifest records it. */
interface CandidateLibcBuild {
  recipe: CompileRecipe;
  sysroot: string;
  manifest: Omit<VariantManifest, 'cc' | 'probes'>;
}

interface CandidateInput {
  target: Target;
  patches: string[];
  headers: { dir: string; key: string };
  tc: Toolchain;
  dirs: LabDirs;
  sources: SourceOptions;
  logFile: string;
}

/** uClibc 0.9.33.2 from the lab's pinned source plus the patches. */
async function classicCandidate(c: CandidateInput): Promise<CandidateLibcBuild> {
  const libc = await buildUclibc({ target: c.target, variant: CANDIDATE_VARIANT, extraPatches: c.patches, headers: c.headers.dir, headersKey: c.headers.key, tc: c.tc, dirs: c.dirs, sources: c.sources, logFile: c.logFile });
  return { recipe: libc.recipe, sysroot: libc.sysroot, manifest: { variant: CANDIDATE_VARIANT, libc: 'uClibc 0.9.33.2', ...(libc.tree ? { source: libc.tree.source } : {}), patches: libc.patches.map(relPatch), sysroot: libc.sysroot } };
}

/** The uClibc-ng clone validate-patch builds releases from, and the commit of a product's release tag in it. */
export async function ngRelease(target: Target, version: string, dirs: LabDirs): Promise<{ repo: string; tag: string; commit: string }> {
  if (!NG_VERSION.test(version)) throw new LabError(`${target.name}: its uClibc-ng release "${version}" is not MAJOR.MINOR.PATCH: no release tag can be named from it`);
  const tag = `v${version}`;
  const dir = uclibcNgClone(dirs.overrides);
  const fix = `clone uClibc-ng there (git clone https://github.com/wbx-github/uclibc-ng ${dir}) or set REPROLAB_UCLIBC_NG_REPO to a clone that has the tag (git -C CLONE fetch --tags)`;
  // The user named no revision: the usage errors below get this fix instead of openRepo's and resolveRev's own.
  const withFix = (err: unknown): never => {
    throw err instanceof UsageError ? new UsageError(err.message, { fix }) : err;
  };
  const repo = await openRepo(dir, `validate-patch --libc uclibc-ng builds ${target.name}'s release ${tag} from a uClibc-ng clone (REPROLAB_UCLIBC_NG_REPO, or <overrides>/uclibc-ng):`).catch(withFix);
  const commit = await resolveRev(repo, tag, `${target.name} ships uClibc-ng ${version}; its release tag`).catch(withFix);
  return { repo, tag, commit };
}

/**
 * Builds without the patches, then with them: a failure without them is the lab's (an ERROR, kind
 * 'lab'), so only a failure the patches bring is theirs (DOES_NOT_APPLY, DOES_NOT_BUILD).
 */
export async function patchesOnTopOf<T>(build: (patches: Patch[]) => Promise<T>, patches: Patch[], what: string): Promise<T> {
  await build([]).catch((err: unknown) => {
    throw new LabError(`the lab cannot build ${what}, without your patches: ${describeError(err)}`, { kind: 'lab' });
  });
  return build(patches);
}

/**
 * The product's own uClibc-ng release (tag v<version> of the uClibc-ng clone) plus the patches, built
 * with the product's own uClibc configuration. The release and configuration are built once without
 * the patches first: when that fails the lab cannot build this product's libc (ERROR), and a failure
 * with the patches is then the patches' own (DOES_NOT_BUILD).
 */
async function ngCandidate(c: CandidateInput, output: string, version: string): Promise<CandidateLibcBuild> {
  const config = await productUclibcConfig(output, version);
  const settings = await productUclibcSettings(config.file);
  const { repo, tag, commit } = await ngRelease(c.target, version, c.dirs);
  const env = { repo, commit, settings, arch: c.target.arch, headers: c.headers.dir, headersKey: c.headers.key, tc: c.tc, dirs: c.dirs, logFile: c.logFile };
  const patches = await Promise.all(c.patches.map(describePatch));
  const ng = await patchesOnTopOf((extraPatches) => buildUclibcNg({ ...env, extraPatches }), patches, `${c.target.name}'s uClibc-ng (${tag} with ${config.file})`);
  // An override tree (build/uclibc-custom) is the product's own source; the candidate is the release tag.
  const source = config.override ? `; the product built an override tree, the candidate is the release tag` : '';
  return { recipe: ng.recipe, sysroot: ng.sysroot, manifest: { variant: CANDIDATE_VARIANT, libc: `uClibc-ng ${ng.version} (${tag} = ${commit}, configured as ${config.file}${source})`, patches: ng.patches.map(relPatch), sysroot: ng.sysroot } };
}

/** The product's libc must be the one --libc builds: its candidate is that libc's release plus the patches. */
export function mustBeCandidateLibc(target: Target, libc: { kind: string; version: string }, wanted: CandidateLibc): void {
  const ok = wanted === 'uclibc-ng' ? libc.kind === 'uclibc-ng' && NG_VERSION.test(libc.version) : libc.kind === 'uclibc' && libc.version.startsWith('0.9.33');
  if (ok) return;
  const builds = wanted === 'uclibc-ng' ? "uClibc-ng at the product's own release (vMAJOR.MINOR.PATCH)" : 'uClibc 0.9.33.2';
  throw new LabError(`${target.name}: its libc is ${libc.kind} ${libc.version}; validate-patch --libc ${wanted} builds ${builds} from source and compares it with that`, {
    fix: `validate patches on a product whose libc is ${wanted === 'uclibc-ng' ? 'uClibc-ng' : 'uClibc 0.9.33.x'}${wanted === 'uclibc-ng' ? '' : ', or on the built-in uClibc targets'}`,
  });
}

/** The product's kernel headers (Buildroot's staging/usr/include), as a store entry the candidate builds against. */
async function productHeaders(sysroot: string, dirs: LabDirs): Promise<{ dir: string; key: string }> {
  const include = path.join(sysroot, 'usr', 'include');
  const present: string[] = [];
  for (const d of KERNEL_HEADER_DIRS) if (await fs.access(path.join(include, d)).then(() => true, () => false)) present.push(d);
  if (!present.includes('linux') || !present.includes('asm')) {
    throw new LabError(`${include}: no kernel headers (linux/, asm/)`, { fix: 'Buildroot installs them into staging/usr/include with the toolchain; import the complete output directory' });
  }
  const digest = (await Promise.all(present.map((d) => sha256Tree(path.join(include, d))))).join(' ');
  const headers = await storeEntry(dirs.store, 'import-headers', { from: 'buildroot staging', present, digest }, async (out) => {
    await fs.mkdir(path.join(out, 'include'), { recursive: true });
    for (const d of present) await fs.cp(path.join(include, d), path.join(out, 'include', d), { recursive: true, dereference: true });
  });
  return { dir: path.join(headers.dir, 'include'), key: headers.key };
}

/**
 * validate-patch on an imported product: the libc --libc names (uClibc 0.9.33.2 from the lab's pinned
 * source, or uClibc-ng at the product's own release) plus the user's patches, built against the
 * product's own kernel headers, its probes beside the product's in a new bundle of the product
 * (unpatched role: the product's libc as shipped; patched role: the candidate).
 */
export async function importedCandidateBundle(opts: {
  target: Target;
  libc: CandidateLibc;
  patches: string[];
  builtins: Target[];
  dirs: LabDirs;
  sources: SourceOptions;
  logFile: string;
  progress?: (line: string) => void;
}): Promise<string> {
  const { target, dirs } = opts;
  const from = target.imported!.from;
  const o = await inspectBuildrootOutput(from);
  mustBeCandidateLibc(target, o.libc, opts.libc);
  const input: CandidateInput = { target, patches: opts.patches, headers: await productHeaders(o.sysroot, dirs), tc: TOOLCHAINS[o.arch], dirs, sources: opts.sources, logFile: opts.logFile };
  opts.progress?.(`${opts.libc === 'uclibc-ng' ? `uClibc-ng ${o.libc.version}` : 'uClibc'} ${CANDIDATE_VARIANT} with ${opts.patches.map((p) => path.basename(p)).join(', ')} on the product's kernel headers`);
  const libc = opts.libc === 'uclibc-ng' ? await ngCandidate(input, o.dir, o.libc.version) : await classicCandidate(input);
  const probes = await buildProbes({ variant: CANDIDATE_VARIANT, recipe: libc.recipe, libcKey: libc.sysroot, toolchain: await toolchainVersion(input.tc), dirs, logFile: opts.logFile });
  const r = await importBuildroot({
    outputDir: from,
    board: target.qemu.machine,
    name: target.name,
    dirs,
    builtins: opts.builtins,
    logFile: opts.logFile,
    register: false,
    extra: [{ probes, recipe: libc.recipe, manifest: libc.manifest }],
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
  return r.bundleDir;
}
