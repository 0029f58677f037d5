import fs from 'node:fs/promises';
import path from 'node:path';
import { loadKernelLine } from '../catalog/kernel-line.ts';
import type { Arch, Target } from '../catalog/target.ts';
import { assertTreeHas, prepareTree } from '../sources/prepare.ts';
import { resolveSource, type ResolvedSource, type SourceOptions } from '../sources/resolve.ts';
import { cacheKey } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import { repoRoot, type LabDirs } from '../util/paths.ts';
import { followLog } from '../util/log-tail.ts';
import { glibcRecipe, wrapperScript, expandRecipe, type CompileRecipe } from './compile.ts';
import { buildKernel, kernelHeaders, type KernelImage } from './kernel.ts';
import { loadSeries, type Patch } from './patches.ts';
import { buildProbes, buildTools, type ProbeSet } from './probes.ts';
import { buildRootfs, type Rootfs } from './rootfs.ts';
import { storeEntry } from './store.ts';
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

export interface VariantManifest {
  variant: string;
  libc: string;
  source?: ResolvedSource;
  patches: { file: string; sha256: string }[];
  sysroot: string;
  cc: string;
  probes: string[];
}

/** Everything a verdict depends on, written as <bundle>/manifest.json. */
export interface BundleManifest {
  schema: 1;
  target: string;
  key: string;
  arch: Arch;
  qemu: Target['qemu'];
  cmdline: string;
  recipeVersion: number;
  toolchain: string;
  kernel: {
    line: string;
    version: string;
    release: string;
    source: ResolvedSource;
    patches: { file: string; sha256: string }[];
    configSha256: string;
    image: string;
    dtb?: string;
    initramfs: 'external' | 'builtin';
    pageSizeKiB: number;
  };
  libc: { kind: string; variants: VariantManifest[] };
  userland: { packages: { name: string; file: string; sha256: string }[] };
  rootfs: { image: string; sha256: string; sizeBytes: number; hostKey: string };
}

export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  hit: boolean;
  /** Which steps were rebuilt (for tests and the "rebuilds only what changed" promise). */
  rebuilt: string[];
}

function rel(p: string, base: string): string {
  return path.relative(base, p);
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
    return await runSteps(req, step);
  } finally {
    stopFollowing();
  }
}

/** An imported product is built already: its bundle is what import-buildroot wrote. */
async function importedBundle(target: Target): Promise<Bundle> {
  const dir = target.imported!.bundleDir;
  const text = await fs.readFile(path.join(dir, 'manifest.json'), 'utf8').catch(() => {
    throw new LabError(`${target.name}: its imported bundle is gone (${dir})`, { fix: `import it again: reprolab import-buildroot ${target.imported!.from} --board ${target.qemu.machine} --name ${target.name}` });
  });
  return { dir, manifest: JSON.parse(text) as BundleManifest, hit: true, rebuilt: [] };
}

/** target → sources → kernel headers → libc variants → probes → userland → rootfs → kernel → bundle. */
async function runSteps(req: BuildRequest, step: (name: string) => string): Promise<Bundle> {
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
  const entry = await storeEntry(dirs.store, 'bundle', parts, async (out) => {
    const images = path.join(out, 'images');
    await fs.mkdir(images, { recursive: true });
    await fs.copyFile(kernel.image, path.join(images, path.basename(kernel.image)));
    if (kernel.dtb) await fs.copyFile(kernel.dtb, path.join(images, path.basename(kernel.dtb)));
    if (target.kernel.initramfs === 'external') await fs.copyFile(rootfs.cpio, path.join(images, 'rootfs.cpio'));
    await fs.copyFile(path.join(kernel.dir, 'config'), path.join(images, 'kernel.config'));
    await fs.mkdir(path.join(out, 'staging'), { recursive: true });
    await fs.mkdir(path.join(out, 'host', 'bin'), { recursive: true });
    await fs.mkdir(path.join(out, 'target-probes'), { recursive: true });
    const variantManifests: VariantManifest[] = [];
    for (const [i, b] of builds.entries()) {
      const set = probeSets[i]!;
      if (target.libc.kind === 'uclibc') await fs.symlink(b.manifest.sysroot, path.join(out, 'staging', b.variant));
      const cc = path.join(out, 'host', 'bin', `${tc.prefix}${b.variant}-cc`);
      await fs.writeFile(cc, wrapperScript(await expandRecipe(b.recipe)), { mode: 0o755 });
      await fs.symlink(set.dir, path.join(out, 'target-probes', b.variant));
      variantManifests.push({ ...b.manifest, cc: rel(cc, out), probes: set.names });
    }
    const manifest: BundleManifest = {
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
        image: `images/${path.basename(kernel.image)}`,
        ...(kernel.dtb ? { dtb: `images/${path.basename(kernel.dtb)}` } : {}),
        initramfs: target.kernel.initramfs,
        pageSizeKiB: target.kernel.pageSizeKiB,
      },
      libc: { kind: target.libc.kind, variants: variantManifests },
      userland: { packages: userland.packages.map((p) => ({ name: p.name, file: path.basename(p.file), sha256: p.sha256 })) },
      rootfs: {
        image: target.kernel.initramfs === 'external' ? 'images/rootfs.cpio' : `${`images/${path.basename(kernel.image)}`} (built in)`,
        sha256: rootfs.sha256,
        sizeBytes: rootfs.sizeBytes,
        hostKey: rootfs.hostKey,
      },
    };
    await fs.writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  note('bundle', entry.hit);
  const manifest = JSON.parse(await fs.readFile(path.join(entry.dir, 'manifest.json'), 'utf8')) as BundleManifest;
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

