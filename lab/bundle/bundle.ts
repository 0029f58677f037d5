import fs from 'node:fs/promises';
import path from 'node:path';
import { loadKernelLine } from '../catalog/kernel-line.ts';
import type { Target } from '../model/target.ts';
import { assertTreeHas, prepareTree } from '../sources/prepare.ts';
import { resolveSource, type SourceOptions } from '../sources/resolve.ts';
import { readBundleManifest, type BundleManifest, type VariantManifest } from '../model/manifest.ts';
import { cacheKey } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import { repoRoot, type LabDirs } from '../util/paths.ts';
import { followLog } from '../util/log-tail.ts';
import { glibcRecipe, type CompileRecipe } from './compile.ts';
import { writeBundle } from './writer.ts';
import { buildKernel, kernelHeaders, type KernelImage } from './kernel.ts';
import { loadSeries, type Patch } from '../sources/patches.ts';
import { buildProbes, buildTools, type ProbeSet } from './probes.ts';
import { buildRootfs, type Rootfs } from './rootfs.ts';
import { storeEntry } from '../store/store.ts';
import { Planner, planning, type PlannedStep } from '../store/plan.ts';
import { crossGlibcVersion, TOOLCHAINS, toolchainVersion } from './toolchain.ts';
import { buildUclibc } from './uclibc.ts';
import { buildUserland } from './userland.ts';

/** Bumped when the recipe changes in a way no input digest captures. */
export const RECIPE_VERSION = 1;

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
}

export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  hit: boolean;
  /** Which steps were rebuilt (for tests and the "rebuilds only what changed" promise). */
  rebuilt: string[];
}

export async function buildBundle(req: BuildRequest): Promise<Bundle> {
  if (req.target.imported) return importedBundle(req.target);
  let currentStep = '';
  let currentLog: string | undefined;
  const step = (name: string) => {
    currentStep = name;
    currentLog = path.join(req.logDir, `${name}.log`);
    req.progress?.(name);
    return currentLog;
  };
  // Long steps (a kernel is minutes) show what they are doing right now.
  const stopFollowing = followLog(
    () => currentLog,
    (line) => req.progress?.(`${currentStep}: ${line}`),
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
  return { dir, manifest, hit: true, rebuilt: [] };
}

/** target → sources → kernel headers → libc variants → probes → userland → rootfs → kernel → bundle. */
async function runSteps(req: BuildRequest, step: (name: string) => string): Promise<Bundle | undefined> {
  const { target, dirs } = req;
  const tc = TOOLCHAINS[target.arch];
  const rebuilt: string[] = [];
  const note = (name: string, hit: boolean) => {
    if (!hit) rebuilt.push(name);
  };
  const toolchain = await toolchainVersion(tc);

  const line = await loadKernelLine(target.kernel.line);
  const kernelSource = await resolveSource(line.source, req.sources);
  const kernelPatches: Patch[] = await loadSeries(line.patchesDir);
  let log = step('kernel-source');
  const kernelTree = await prepareTree(kernelSource, kernelPatches, `Linux ${line.version}`, dirs, log);
  await assertTreeHas(kernelTree, 'Kbuild', `Linux ${line.version}`);

  const variants = req.variants ?? target.libc.variants;
  const builds: { variant: string; recipe: CompileRecipe; key: string; manifest: Omit<VariantManifest, 'probes' | 'cc'> }[] = [];
  if (target.libc.kind === 'uclibc') {
    log = step('linux-headers');
    const headers = await kernelHeaders(kernelTree, tc, dirs, log);
    for (const variant of variants) {
      log = step(`uclibc-${variant}`);
      const libc = await buildUclibc({
        target,
        variant,
        extraPatches: req.extraPatches,
        headers,
        headersKey: path.basename(path.dirname(headers)),
        tc,
        dirs,
        sources: req.sources,
        logFile: log,
      });
      note(`uclibc-${variant}`, libc.hit);
      builds.push({
        variant,
        recipe: libc.recipe,
        key: libc.sysroot,
        manifest: { variant, libc: 'uClibc 0.9.33.2', ...(libc.tree ? { source: libc.tree.source } : {}), patches: libc.patches.map(relPatch), sysroot: libc.sysroot },
      });
    }
  } else {
    const libcDev = await crossGlibcVersion(tc);
    builds.push({
      variant: 'system',
      recipe: glibcRecipe(tc.prefix),
      key: `glibc-cross ${tc.debianArch} ${libcDev}`,
      manifest: { variant: 'system', libc: `Debian glibc (libc6-dev-${tc.debianArch}-cross ${libcDev})`, patches: [], sysroot: `/usr/${tc.prefix.slice(0, -1)}` },
    });
  }

  const probeSets: ProbeSet[] = [];
  for (const b of builds) {
    log = step(`probes-${b.variant}`);
    const set = await buildProbes({ variant: b.variant, recipe: b.recipe, libcKey: b.key, toolchain, dirs, logFile: log });
    note(`probes-${b.variant}`, set.hit);
    probeSets.push(set);
  }

  log = step('tools');
  const tools = await buildTools({ tc, dirs, logFile: log });
  note('tools', tools.hit);

  log = step('userland');
  const userland = await buildUserland(tc.debianArch, dirs, log);
  note('userland', userland.hit);

  log = step('rootfs');
  const rootfs: Rootfs = await buildRootfs({ targetName: target.name, userland, probes: probeSets, tools, dirs });
  note('rootfs', rootfs.hit);

  log = step('kernel');
  const kernel: KernelImage = await buildKernel({
    target,
    line,
    tree: kernelTree,
    tc,
    dirs,
    logFile: log,
    ...(target.kernel.initramfs === 'builtin' ? { initramfs: { file: rootfs.cpio, sha256: rootfs.sha256 } } : {}),
  });
  note('kernel', kernel.hit);

  step('bundle');
  const parts = { recipe: RECIPE_VERSION, target: target.name, qemu: target.qemu, cmdline: target.kernel.cmdline, kernel: kernel.dir, rootfs: rootfs.sha256, probes: probeSets.map((p) => p.dir), libc: builds.map((b) => b.key) };
  const entry = await storeEntry(dirs.store, 'bundle', parts, (out) =>
    writeBundle(
      out,
      {
        kernelImage: kernel.image,
        ...(kernel.dtb ? { dtb: kernel.dtb } : {}),
        ...(target.kernel.initramfs === 'external' ? { rootfsCpio: rootfs.cpio } : {}),
        kernelConfig: path.join(kernel.dir, 'config'),
        ccPrefix: tc.prefix,
        variants: builds.map((b, i) => ({ manifest: b.manifest, recipe: b.recipe, probes: probeSets[i]!, staging: target.libc.kind === 'uclibc' })),
      },
      (images, variants): BundleManifest => ({
        schema: 1,
        target: target.name,
        key: cacheKey(parts),
        arch: target.arch,
        qemu: target.qemu,
        cmdline: target.kernel.cmdline,
        recipeVersion: RECIPE_VERSION,
        toolchain,
        kernel: {
          line: line.line,
          version: line.version,
          release: kernel.release,
          source: kernelSource,
          patches: kernelPatches.map(relPatch),
          configSha256: kernel.configSha256,
          image: images.kernel,
          ...(images.dtb ? { dtb: images.dtb } : {}),
          initramfs: target.kernel.initramfs,
          pageSizeKiB: target.kernel.pageSizeKiB,
        },
        libc: { kind: target.libc.kind, variants },
        userland: { packages: userland.packages.map((p) => ({ name: p.name, file: path.basename(p.file), sha256: p.sha256 })) },
        rootfs: {
          image: images.rootfs ?? `${images.kernel} (built in)`,
          sha256: rootfs.sha256,
          sizeBytes: rootfs.sizeBytes,
          hostKey: rootfs.hostKey,
        },
      }),
    ),
  );
  note('bundle', entry.hit);
  // A dry run ends here: nothing was built, so there is no manifest to read and no link to move.
  if (planning()) return undefined;
  const manifest = await readBundleManifest(entry.dir);
  // A stable name for the latest bundle of each target, like Buildroot's output/.
  await linkLatest(path.join(dirs.cache, 'bundles', target.name), entry.dir);
  return { dir: entry.dir, manifest, hit: entry.hit, rebuilt };
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

