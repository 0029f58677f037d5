import fs from 'node:fs/promises';
import path from 'node:path';
import { loadKernelLine, type KernelLineSpec } from '../catalog/kernel-line.ts';
import { uclibcNgClone } from '../catalog/libc.ts';
import type { Target } from '../model/target.ts';
import { assertTreeHas, prepareTree } from '../sources/prepare.ts';
import { resolveSource, type SourceOptions } from '../sources/resolve.ts';
import { readBundleManifest, type BundleManifest, type VariantManifest } from '../model/manifest.ts';
import { cacheKey } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import { repoRoot, type LabDirs } from '../util/paths.ts';
import { followLogs } from '../util/log-tail.ts';
import { glibcRecipe, type CompileRecipe } from './compile.ts';
import { writeBundle, type BundleImages } from './writer.ts';
import { buildKernel, kernelHeaders, precompileKernel, type KernelImage } from './kernel.ts';
import { loadSeries, type Patch } from '../sources/patches.ts';
import { buildProbes, buildTools, type ProbeSet, type ScenarioProbeBuilds, type ScenarioProbes } from './probes.ts';
import { buildRootfs, type Rootfs } from './rootfs.ts';
import { storeEntry } from '../store/store.ts';
import { Planner, planning, type PlannedStep } from '../store/plan.ts';
import { crossGlibcVersion, TOOLCHAINS, toolchainVersion, type Toolchain } from './toolchain.ts';
import { buildUclibc, uclibcSharedRecipe } from './uclibc.ts';
import { buildUclibcNg } from './uclibc-ng.ts';
import { openRepo, resolveRev } from '../sources/git-repo.ts';
import { buildUserland } from './userland.ts';
import { buildSourceUserland } from './userland-source.ts';
import { BASELINE_VARIANT, libcLibDir } from '../model/guest-layout.ts';

/**
 * Bumped when the recipe changes in a way no input digest captures (3: host/bin cc is the one cc
 * wrapper; 4: the probes and rl-fabric print flat result lines, which a repro pack's judge reads).
 */
export const RECIPE_VERSION = 4;

/** The first recipe whose probes and rl-fabric print the flat lines (REPROLAB-FLAT, -LINK, -ADDR, -DUMP). */
export const FLAT_RESULTS_RECIPE = 4;

export interface BuildRequest {
  target: Target;
  /** Which libc variants to build; default: all of the target's. */
  variants?: string[];
  /** Extra patches applied after the variant's series (not to "unpatched"). */
  extraPatches: string[];
  dirs: LabDirs;
  sources: SourceOptions;
  /** Directory for this run's step logs. */
  logDir: string;
  /** Progress callback: one short line per step. */
  progress?: (step: string) => void;
  /** Users' scenarios: their probes, built for every libc variant (static; and shared on uClibc), outside the image. */
  scenarioProbes?: ScenarioProbes[];
}

export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  hit: boolean;
  /** Which steps were rebuilt (for tests and the "rebuilds only what changed" promise). */
  rebuilt: string[];
  /** uClibc targets: the kernel headers its libcs were built on (bisect builds more on them). */
  kernelHeaders?: { headers: string; key: string };
  /** The probes of the users' scenarios asked for, per variant and linkage, and those that did not build (none for an imported product). */
  scenarioProbes: ScenarioProbeBuilds;
}

export async function buildBundle(req: BuildRequest): Promise<Bundle> {
  if (req.target.imported) return importedBundle(req.target);
  const started = new Map<string, string>();
  const step = (name: string) => {
    const log = path.join(req.logDir, `${name}.log`);
    started.set(name, log);
    req.progress?.(name);
    return log;
  };
  // Long steps (a kernel is minutes) show what they are doing right now.
  const stopFollowing = followLogs(
    () => started,
    (name, line) => req.progress?.(`${name}: ${line}`),
  );
  try {
    const bundle = await runSteps(req, step);
    if (!bundle) throw new LabError('buildBundle ran as a dry run: use planBundle');
    return bundle;
  } finally {
    stopFollowing();
  }
}

/**
 * The plan of a build without building anything: every step in order, its
 * store key, and whether it must run and why (which input changed). The same
 * code path as buildBundle, with the store in dry-run mode, so the plan's keys
 * are the keys a build uses. Nothing is downloaded (missing sources are errors).
 */
export async function planBundle(req: Omit<BuildRequest, 'logDir' | 'progress'>): Promise<PlannedStep[]> {
  if (req.target.imported) return [{ step: 'import-bundle', key: path.basename(req.target.imported.bundleDir), dir: req.target.imported.bundleDir, run: false, why: 'imported: built by import-buildroot' }];
  const planner = new Planner();
  const phase = (name: string) => {
    planner.phase = name;
    return path.join(req.dirs.logs, 'dry-run', `${name}.log`);
  };
  await planner.run(() => runSteps({ ...req, sources: { ...req.sources, download: false }, logDir: path.join(req.dirs.logs, 'dry-run') }, phase));
  return planner.steps;
}

/** An imported product is built already: its bundle is what import-buildroot wrote. */
async function importedBundle(target: Target): Promise<Bundle> {
  const dir = target.imported!.bundleDir;
  const manifest = await readBundleManifest(dir).catch((err: unknown) => {
    throw new LabError(`${target.name}: its imported bundle is gone or unreadable (${dir}): ${(err as Error).message}`, { fix: `import it again: reprolab import-buildroot ${target.imported!.from} --board ${target.qemu.machine} --name ${target.name}` });
  });
  return { dir, manifest, hit: true, rebuilt: [], scenarioProbes: { sets: [], failed: [] } };
}

/** One libc build the probes link against, and what the manifest says of it. */
interface LibcBuild {
  variant: string;
  recipe: CompileRecipe;
  key: string;
  /** The loader's file name in the sysroot's lib/ (ld-uClibc.so.0; uClibc-ng: .so.1). */
  loader?: string;
  /** False for a uClibc-ng variant: the image's programs (linked against /lib's libc.so.0) cannot load it. */
  imagePrograms?: boolean;
  manifest: Omit<VariantManifest, 'probes' | 'cc'>;
}

/** What every step of one build shares: the request, the toolchain, and the log of the step in progress. */
interface StepContext {
  req: BuildRequest;
  tc: Toolchain;
  /** Starts a named step (progress, dry-run phase) and returns its log file. */
  step: (name: string) => string;
  /** Records a step that was rebuilt (not a cache hit). */
  note: (name: string, hit: boolean) => void;
}

/** A kernel line's source with the lab's patches applied: the tree every kernel step of the line builds in. */
export async function prepareKernelTree(line: KernelLineSpec, sources: SourceOptions, dirs: LabDirs, logFile: string) {
  const source = await resolveSource(line.source, sources);
  const patches: Patch[] = await loadSeries(line.patchesDir);
  const tree = await prepareTree(source, patches, `Linux ${line.version}`, dirs, logFile);
  await assertTreeHas(tree, 'Kbuild', `Linux ${line.version}`);
  return { source, patches, tree };
}

/** What the image is made of besides its kernel: the libcs, probes, tools, userland and rootfs. */
interface ImageParts {
  headers: string | undefined;
  builds: LibcBuild[];
  probeSets: ProbeSet[];
  sharedSets: ProbeSet[];
  userland: Awaited<ReturnType<typeof buildUserland>>;
  rootfs: Rootfs;
}

/** A step's outcome kept until it is awaited, so a failure while other steps run is not unhandled. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
const unwrap = <T>(s: Settled<T>): T => {
  if (!s.ok) throw s.error;
  return s.value;
};

/**
 * sources → [kernel ‖ kernel headers → libc variants → probes → userland → rootfs] → bundle.
 * The kernel compiles beside the libc chain (it needs only its tree), so two cores stay busy;
 * a kernel that links its rootfs in compiles early against a placeholder and re-links at the end.
 */
async function runSteps(req: BuildRequest, step: (name: string) => string): Promise<Bundle | undefined> {
  const { target, dirs } = req;
  const rebuilt: string[] = [];
  const ctx: StepContext = { req, tc: TOOLCHAINS[target.arch], step, note: (name, hit) => void (hit || rebuilt.push(name)) };
  const toolchain = await toolchainVersion(ctx.tc);
  const line = await loadKernelLine(target.kernel.line);
  const { source: kernelSource, patches: kernelPatches, tree: kernelTree } = await prepareKernelTree(line, req.sources, dirs, step('kernel-source'));
  const kreq = { target, line, tree: kernelTree, tc: ctx.tc, dirs };
  const builtin = target.kernel.initramfs === 'builtin';
  // A dry run lists the steps in order, so nothing starts ahead there.
  const stopAhead = new AbortController();
  const early = () => ({ ...kreq, logFile: step('kernel'), signal: stopAhead.signal });
  const ahead = planning() ? undefined : settle(builtin ? precompileKernel(early()).then(() => undefined) : buildKernel(early()));
  let image: ImageParts;
  try {
    image = await imageSteps(ctx, kernelTree, toolchain);
  } catch (err) {
    // The build has failed: its kernel must neither hold it up nor outlive it.
    stopAhead.abort();
    await ahead;
    throw err;
  }
  const kernelLog = step('kernel');
  const built = ahead ? unwrap(await ahead) : undefined;
  const kernel = built ?? (await buildKernel({ ...kreq, logFile: kernelLog, ...(builtin ? { initramfs: { file: image.rootfs.cpio, sha256: image.rootfs.sha256 } } : {}) }));
  ctx.note('kernel', kernel.hit);
  step('bundle');
  const parts = bundleParts(target, kernel, image);
  const entry = await storeEntry(dirs.store, 'bundle', parts, (out) => writeBundle(out, bundleContents(ctx, kernel, image), (images, variants) => bundleManifest({ ctx, parts, toolchain, line, kernelSource, kernelPatches, kernel, image, images, variants })));
  ctx.note('bundle', entry.hit);
  // Not part of the image (its key stays the same): run.ts uploads them when the scenario runs.
  const scenarioProbes = await scenarioProbeSteps(ctx, image.builds, toolchain);
  // A dry run ends here: nothing was built, so there is no manifest to read and no link to move.
  if (planning()) return undefined;
  const manifest = await readBundleManifest(entry.dir);
  // A stable name for the latest bundle of each target, like Buildroot's output/.
  await linkLatest(path.join(dirs.cache, 'bundles', target.name), entry.dir);
  const headers = image.headers;
  return { dir: entry.dir, manifest, hit: entry.hit, rebuilt, scenarioProbes, ...(headers ? { kernelHeaders: { headers, key: path.basename(path.dirname(headers)) } } : {}) };
}

/**
 * kernel headers → libc variants → probes (static, and shared on uClibc) → tools → rootfs, with the
 * userland: on uClibc it needs only the baseline libc, so it compiles beside the other variants.
 */
async function imageSteps(ctx: StepContext, kernelTree: Awaited<ReturnType<typeof prepareTree>>, toolchain: string): Promise<ImageParts> {
  const { req } = ctx;
  const { target, dirs } = req;
  const uclibc = target.libc.kind === 'uclibc';
  const headers = uclibc ? await kernelHeaders(kernelTree, ctx.tc, dirs, ctx.step('linux-headers')) : undefined;
  const stopUserland = new AbortController();
  let ahead: Promise<Settled<ImageParts['userland']>> | undefined;
  // A dry run lists the steps in order, so nothing starts ahead there.
  const startUserland = (baseline: LibcBuild) => void (planning() || (ahead = settle(sourceUserland(ctx, baseline, stopUserland.signal))));
  let libcs: Awaited<ReturnType<typeof libcSteps>>;
  try {
    libcs = await libcSteps(ctx, headers, toolchain, startUserland);
  } catch (err) {
    // The image has failed: its userland must neither hold the error up nor outlive it.
    stopUserland.abort();
    await ahead;
    throw err;
  }
  const { builds, probeSets, sharedSets, tools } = libcs;
  const userland = ahead ? unwrap(await ahead) : uclibc ? await sourceUserland(ctx, baselineBuild(builds, target.name)) : await buildUserland(ctx.tc.debianArch, dirs, ctx.step('userland'));
  ctx.note('userland', userland.hit);
  ctx.step('rootfs');
  const rootfs: Rootfs = await buildRootfs({
    targetName: target.name,
    userland,
    ...(uclibc ? { libcs: builds.map((b) => ({ variant: b.variant, sysroot: b.key, ...(b.loader ? { loader: b.loader } : {}) })) } : {}),
    probes: [...probeSets, ...sharedSets],
    tools,
    dirs,
  });
  ctx.note('rootfs', rootfs.hit);
  return { headers, builds, probeSets, sharedSets, userland, rootfs };
}

/** The libc variants, their probes and the fabric tools; `afterBaseline` is told when the image's own libc is built. */
async function libcSteps(ctx: StepContext, headers: string | undefined, toolchain: string, afterBaseline: (b: LibcBuild) => void) {
  const builds = headers ? await uclibcBuilds(ctx, headers, afterBaseline) : [await systemGlibc(ctx.tc)];
  const { staticSets: probeSets, sharedSets } = await variantProbes(ctx, builds, toolchain, { step: 'probes' });
  const baseline = headers ? baselineBuild(builds, ctx.req.target.name) : undefined;
  const tools = await buildTools({ tc: ctx.tc, ...(baseline ? { baseline: { recipe: baseline.recipe, key: baseline.key } } : {}), dirs: ctx.req.dirs, logFile: ctx.step('tools') });
  ctx.note('tools', tools.hit);
  return { builds, probeSets, sharedSets, tools };
}

/** busybox and dropbear from source, linked against the image's baseline uClibc. */
function sourceUserland(ctx: StepContext, baseline: LibcBuild, signal?: AbortSignal) {
  return buildSourceUserland({ tc: ctx.tc, sysroot: baseline.key, dirs: ctx.req.dirs, sources: ctx.req.sources, logFile: ctx.step('userland'), ...(signal ? { signal } : {}) });
}

/** The bundle's store inputs: everything that went into the image. */
function bundleParts(target: Target, kernel: KernelImage, image: ImageParts) {
  const { probeSets, sharedSets, builds, rootfs } = image;
  return { recipe: RECIPE_VERSION, target: target.name, qemu: target.qemu, cmdline: target.kernel.cmdline, kernel: kernel.dir, rootfs: rootfs.sha256, probes: probeSets.map((p) => p.dir), libc: builds.map((b) => b.key), ...(sharedSets.length ? { shared: sharedSets.map((p) => p.dir) } : {}) };
}

/** The files writeBundle copies into the bundle. */
function bundleContents(ctx: StepContext, kernel: KernelImage, image: ImageParts) {
  const { target } = ctx.req;
  const uclibc = target.libc.kind === 'uclibc';
  return {
    kernelImage: kernel.image,
    ...(kernel.dtb ? { dtb: kernel.dtb } : {}),
    ...(target.kernel.initramfs === 'external' ? { rootfsCpio: image.rootfs.cpio } : { initramfsCpio: image.rootfs.cpio }),
    kernelConfig: path.join(kernel.dir, 'config'),
    ccPrefix: ctx.tc.prefix,
    variants: image.builds.map((b, i) => ({
      manifest: b.manifest,
      recipe: b.recipe,
      probes: image.probeSets[i]!,
      ...(image.sharedSets[i] ? { shared: { probes: image.sharedSets[i]!, libDir: libcLibDir(b.variant), ...(b.imagePrograms === false ? { imagePrograms: false as const } : {}) } } : {}),
      staging: uclibc,
    })),
  };
}

interface ManifestInputs {
  ctx: StepContext;
  parts: ReturnType<typeof bundleParts>;
  toolchain: string;
  line: Awaited<ReturnType<typeof loadKernelLine>>;
  kernelSource: Awaited<ReturnType<typeof resolveSource>>;
  kernelPatches: Patch[];
  kernel: KernelImage;
  image: ImageParts;
  images: BundleImages;
  variants: VariantManifest[];
}

function bundleManifest(m: ManifestInputs): BundleManifest {
  const { target } = m.ctx.req;
  const { kernel, line, images, image } = m;
  return {
    schema: 1,
    target: target.name,
    key: cacheKey(m.parts),
    arch: target.arch,
    qemu: target.qemu,
    cmdline: target.kernel.cmdline,
    recipeVersion: RECIPE_VERSION,
    toolchain: m.toolchain,
    kernel: {
      line: line.line,
      version: line.version,
      release: kernel.release,
      source: m.kernelSource,
      patches: m.kernelPatches.map(relPatch),
      configSha256: kernel.configSha256,
      image: images.kernel,
      ...(images.dtb ? { dtb: images.dtb } : {}),
      initramfs: target.kernel.initramfs,
      pageSizeKiB: target.kernel.pageSizeKiB,
    },
    libc: { kind: target.libc.kind, variants: m.variants },
    userland: { packages: image.userland.packages.map((p) => ({ name: p.name, file: path.basename(p.file), sha256: p.sha256 })) },
    rootfs: { image: images.rootfs ?? `${images.kernel} (built in)`, sha256: image.rootfs.sha256, sizeBytes: image.rootfs.sizeBytes, hostKey: image.rootfs.hostKey },
  };
}

/**
 * One probe set per libc variant, from `srcDir` (default: the lab's own probes), each a store step
 * named `<step>-<variant>`; on uClibc also linked dynamically (`…-shared`), loading that variant's
 * own loader and libc.so.0.
 */
async function variantProbes(ctx: StepContext, builds: LibcBuild[], toolchain: string, o: { step: string; srcDir?: string }): Promise<{ staticSets: ProbeSet[]; sharedSets: ProbeSet[] }> {
  const { req, tc } = ctx;
  const uclibc = req.target.libc.kind === 'uclibc';
  const from = o.srcDir ? { srcDir: o.srcDir } : {};
  const staticSets: ProbeSet[] = [];
  const sharedSets: ProbeSet[] = [];
  for (const b of builds) {
    const name = `${o.step}-${b.variant}`;
    const set = await buildProbes({ variant: b.variant, recipe: b.recipe, libcKey: b.key, toolchain, dirs: req.dirs, logFile: ctx.step(name), ...from });
    ctx.note(name, set.hit);
    staticSets.push(set);
  }
  for (const b of uclibc ? builds : []) {
    const recipe = uclibcSharedRecipe(tc, b.key, libcLibDir(b.variant), b.loader);
    const set = await buildProbes({ variant: b.variant, linkage: 'shared', recipe, libcKey: b.key, toolchain, dirs: req.dirs, logFile: ctx.step(`${o.step}-${b.variant}-shared`), ...from });
    ctx.note(`${o.step}-${b.variant}-shared`, set.hit);
    sharedSets.push(set);
  }
  return { staticSets, sharedSets };
}

/** The users' scenarios' probes, per variant (and shared on uClibc); one that does not compile is that scenario's ERROR. */
async function scenarioProbeSteps(ctx: StepContext, builds: LibcBuild[], toolchain: string): Promise<ScenarioProbeBuilds> {
  const out: ScenarioProbeBuilds = { sets: [], failed: [] };
  for (const sp of ctx.req.scenarioProbes ?? []) {
    try {
      const { staticSets, sharedSets } = await variantProbes(ctx, builds, toolchain, { step: `scenario-${sp.scenario}`, srcDir: sp.dir });
      out.sets.push(...[...staticSets, ...sharedSets].map((set) => ({ ...set, scenario: sp.scenario })));
    } catch (err) {
      // A user's probe that does not compile is that scenario's ERROR; the image and the other scenarios go on.
      if (!(err instanceof LabError) || err.kind !== 'command' || planning()) throw err;
      out.failed.push({ scenario: sp.scenario, message: err.message, ...(err.logPath ? { logPath: err.logPath } : {}) });
    }
  }
  return out;
}

/** One uClibc per variant on the kernel headers, the baseline (the image's own libc) first; returned in the variants' order. */
async function uclibcBuilds(ctx: StepContext, headers: string, afterBaseline: (b: LibcBuild) => void): Promise<LibcBuild[]> {
  const variants = ctx.req.variants ?? ctx.req.target.libc.variants;
  const order = [...variants.filter((v) => v === BASELINE_VARIANT), ...variants.filter((v) => v !== BASELINE_VARIANT)];
  const built = new Map<string, LibcBuild>();
  for (const variant of order) {
    const b = await uclibcBuild(ctx, headers, variant);
    built.set(variant, b);
    if (variant === BASELINE_VARIANT) afterBaseline(b);
  }
  return variants.map((v) => built.get(v)!);
}

async function uclibcBuild(ctx: StepContext, headers: string, variant: string): Promise<LibcBuild> {
  const { req, tc } = ctx;
  const ngRev = req.target.libc.uclibcNg?.[variant];
  if (ngRev) return uclibcNgBuild(ctx, variant, ngRev, headers);
  const libc = await buildUclibc({
    target: req.target,
    variant,
    extraPatches: req.extraPatches,
    headers,
    headersKey: path.basename(path.dirname(headers)),
    tc,
    dirs: req.dirs,
    sources: req.sources,
    logFile: ctx.step(`uclibc-${variant}`),
  });
  ctx.note(`uclibc-${variant}`, libc.hit);
  return {
    variant,
    recipe: libc.recipe,
    key: libc.sysroot,
    manifest: { variant, libc: 'uClibc 0.9.33.2', ...(libc.tree ? { source: libc.tree.source } : {}), patches: libc.patches.map(relPatch), sysroot: libc.sysroot },
  };
}

/** A variant the target names as a uClibc-ng revision, from the uClibc-ng clone (REPROLAB_UCLIBC_NG_REPO or <overrides>/uclibc-ng). */
async function uclibcNgBuild(ctx: StepContext, variant: string, rev: string, headers: string): Promise<LibcBuild> {
  const { req, tc } = ctx;
  const where = `${req.target.file}: libc.uclibcNg.${variant}`;
  if (req.extraPatches.length) throw new LabError(`--patch: ${where} is a uClibc-ng revision, and patches apply to uClibc 0.9.33.2 only`, { fix: `build the other variants with --variant, or commit the change to the uClibc-ng clone and name that commit` });
  const repo = await openRepo(uclibcNgClone(req.dirs.overrides), `${where} names a uClibc-ng revision; its clone (REPROLAB_UCLIBC_NG_REPO, or <overrides>/uclibc-ng)`);
  const commit = await resolveRev(repo, rev, where);
  const logFile = ctx.step(`uclibc-${variant}`);
  const ng = await buildUclibcNg({ repo, commit, arch: req.target.arch, headers, headersKey: path.basename(path.dirname(headers)), tc, dirs: req.dirs, logFile });
  ctx.note(`uclibc-${variant}`, ng.hit);
  return {
    variant,
    recipe: ng.recipe,
    key: ng.sysroot,
    loader: ng.loader,
    imagePrograms: false,
    manifest: { variant, libc: `uClibc-ng ${ng.version} (${rev} = ${commit})`, patches: ng.patches.map(relPatch), sysroot: ng.sysroot },
  };
}

/** The uClibc the image ships in /lib: its programs and the lab's tools are linked against it. */
function baselineBuild(builds: LibcBuild[], target: string): LibcBuild {
  const b = builds.find((x) => x.variant === BASELINE_VARIANT);
  if (!b) throw new LabError(`${target}: the "${BASELINE_VARIANT}" uClibc is not among the variants to build (${builds.map((x) => x.variant).join(', ')})`, { fix: `build it too: its libc is the one the image ships in /lib` });
  return b;
}

/** A glibc target's one libc: Debian's cross glibc, as installed. */
async function systemGlibc(tc: Toolchain): Promise<LibcBuild> {
  const libcDev = await crossGlibcVersion(tc);
  return {
    variant: 'system',
    recipe: glibcRecipe(tc.prefix),
    key: `glibc-cross ${tc.debianArch} ${libcDev}`,
    manifest: { variant: 'system', libc: `Debian glibc (libc6-dev-${tc.debianArch}-cross ${libcDev})`, patches: [], sysroot: `/usr/${tc.prefix.slice(0, -1)}` },
  };
}

/** Patches of the repository are recorded by their path in it; others (--patch) by absolute path. */
export function relPatch(p: Patch): { file: string; sha256: string } {
  return { file: p.file.startsWith(`${repoRoot}/`) ? path.relative(repoRoot, p.file) : p.file, sha256: p.sha256 };
}

async function linkLatest(link: string, dir: string): Promise<void> {
  await fs.mkdir(path.dirname(link), { recursive: true });
  const tmp = `${link}.tmp-${process.pid}`;
  await fs.rm(tmp, { force: true });
  await fs.symlink(dir, tmp);
  await fs.rename(tmp, link);
}
