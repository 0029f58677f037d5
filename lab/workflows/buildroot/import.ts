import fs from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readBundleManifest, type BundleManifest, type VariantManifest } from '../../model/manifest.ts';
import { RECIPE_VERSION } from '../../bundle/bundle.ts';
import { writeBundle, type BundleContents, type BundleVariant } from '../../bundle/writer.ts';
import { type CompileRecipe } from '../../bundle/compile.ts';
import { readCpio, writeCpio, type CpioEntry } from '../../formats/cpio.ts';
import { hostKeyFromSeed } from '../../formats/hostkey.ts';
import { buildProbes, buildTools, type ProbeSet } from '../../bundle/probes.ts';
import { labLayer, mergeEntries, treeEntries } from '../../bundle/rootfs.ts';
import { storeEntry } from '../../store/store.ts';
import { TOOLCHAINS } from '../../bundle/toolchain.ts';
import { buildUserland, type Userland } from '../../bundle/userland.ts';
import type { Target } from '../../model/target.ts';
import { cacheKey, sha256File } from '../../util/digest.ts';
import { LabError, UsageError } from '../../util/errors.ts';
import { writeImportedTarget } from '../../catalog/targets.ts';
import { capture } from '../../util/process.ts';
import type { LabDirs } from '../../util/paths.ts';
import { inspectBuildrootOutput, type BuildrootOutput } from './inspect.ts';

/** The libc variant name of an imported product: its own libc, as shipped. */
export const PRODUCT_VARIANT = 'product';

export interface ImportRequest {
  outputDir: string;
  /** QEMU board: a machine one of the lab's own targets runs (versatilepb, malta). */
  board: string;
  name?: string;
  /** A built-in target whose expectations this product should meet. */
  like?: string;
  dirs: LabDirs;
  builtins: Target[];
  logFile: string;
  progress?: (line: string) => void;
  /** More libc builds to carry beside the product's (validate-patch adds the lab-built candidate). */
  extra?: ExtraVariant[];
  /** Write <cache>/imported/<name>.json (an import); false for a one-off bundle such as a patch check. */
  register?: boolean;
}

export interface ExtraVariant {
  probes: ProbeSet;
  recipe: CompileRecipe;
  manifest: Omit<VariantManifest, 'probes' | 'cc'>;
}

export interface ImportResult {
  target: Target;
  bundleDir: string;
  manifest: BundleManifest;
  /** Product files the lab's layer replaced in the copy of the rootfs. */
  replaced: string[];
  output: BuildrootOutput;
}

/** Product paths such as /lib → usr/lib (merged /usr): lab files go through them instead of replacing the link with a directory. */
function throughSymlinks(lab: CpioEntry[], product: CpioEntry[]): CpioEntry[] {
  const links = new Map(product.filter((e): e is Extract<CpioEntry, { kind: 'symlink' }> => e.kind === 'symlink').map((e) => [e.path, e.target]));
  const resolve = (p: string): string => {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const head = `/${parts.slice(0, i).join('/')}`;
      const target = links.get(head);
      if (target) return resolve(path.posix.join(target.startsWith('/') ? target : path.posix.join(path.posix.dirname(head), target), ...parts.slice(i)));
    }
    return p;
  };
  return lab.map((e) => ({ ...e, path: resolve(e.path) }));
}

async function productEntries(o: BuildrootOutput, scratch: string): Promise<CpioEntry[]> {
  if (o.rootfs.format === 'ext2') {
    // debugfs reads the image without mounting it (no root, no loop device).
    const tree = path.join(scratch, 'ext2');
    await fs.mkdir(tree);
    await capture('debugfs', ['-R', `rdump / ${tree}`, o.rootfs.file]);
    return treeEntries(tree, '/');
  }
  const raw = await fs.readFile(o.rootfs.file);
  const { entries, skipped } = readCpio(o.rootfs.format === 'cpio.gz' ? gunzipSync(raw) : raw);
  if (skipped.length) console.error(`import: ${skipped.length} special file(s) of ${o.rootfs.file} not copied (block devices, FIFOs): ${skipped.slice(0, 5).join(', ')}`);
  return entries;
}

/** The flags and the output directory checked against each other before anything is built. */
async function checkImport(req: ImportRequest): Promise<{ preset: Target; o: BuildrootOutput; name: string }> {
  // The flag first: a bad --board is a usage error whatever the output directory holds.
  const preset = req.builtins.find((t) => t.qemu.machine === req.board);
  if (!preset) {
    const boards = [...new Set(req.builtins.map((t) => t.qemu.machine))];
    throw new UsageError(`--board ${req.board}: not a board the lab boots`, { fix: `use one of: ${boards.join(', ')}` });
  }
  const o = await inspectBuildrootOutput(path.resolve(req.outputDir));
  if (preset.arch !== o.arch) {
    throw new LabError(`--board ${req.board} runs ${preset.arch} guests, but ${path.join(o.dir, '.config')} is a ${o.arch} build`, {
      fix: `use the board of a ${o.arch} target: ${req.builtins.filter((t) => t.arch === o.arch).map((t) => t.qemu.machine).join(', ')}`,
    });
  }
  if (req.like && !req.builtins.some((t) => t.name === req.like)) throw new LabError(`--like ${req.like}: not a built-in target`, { fix: `use one of: ${req.builtins.map((t) => t.name).join(', ')}` });
  const name = req.name ?? `br-${req.board}-${o.kernel.version}-${o.libc.kind}`.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name)) throw new LabError(`--name ${name}: use lower-case letters, digits, dots and dashes`);
  if (req.builtins.some((t) => t.name === name)) throw new LabError(`--name ${name}: a built-in target has that name`, { fix: 'choose another --name' });

  return { preset, o, name };
}

/** A copy of the product's rootfs with the lab's layer added (what it replaced is recorded), in the store. */
async function importRootfs(req: ImportRequest, o: BuildrootOutput, name: string, parts: { probes: ProbeSet; extra: ExtraVariant[]; tools: ProbeSet; userland: Userland }) {
  const { probes, extra, tools, userland } = parts;
  const productRootfs = await sha256File(o.rootfs.file);
  const sets = [probes, ...extra.map((e) => e.probes)];
  const rootfsInputs = { product: productRootfs, format: o.rootfs.format, name, userland: userland.dir, probes: probes.dir, tools: tools.dir, layer: 'import-v1', ...(extra.length ? { extra: extra.map((e) => e.probes.dir) } : {}) };
  const hostKey = hostKeyFromSeed(Buffer.from(cacheKey({ hostKeyFor: rootfsInputs }), 'hex'));
  const rootfs = await storeEntry(req.dirs.store, 'import-rootfs', rootfsInputs, async (out, scratch) => {
    const product = await productEntries(o, scratch);
    const layer = throughSymlinks(await labLayer({ targetName: name, userland, probes: sets, tools, hostKeyDropbear: hostKey.dropbear }), product);
    const productFiles = new Set(product.filter((e) => e.kind !== 'dir').map((e) => e.path));
    const replaced = layer.filter((e) => e.kind !== 'dir' && productFiles.has(e.path)).map((e) => e.path).sort();
    await fs.writeFile(path.join(out, 'rootfs.cpio'), writeCpio(mergeEntries([...product, ...layer])));
    await fs.writeFile(path.join(out, 'replaced.json'), `${JSON.stringify(replaced, null, 2)}\n`);
    await fs.writeFile(path.join(out, 'host_key.pub'), `${hostKey.publicLine}\n`);
  });
  // Read back rather than kept from the build: a cache hit builds nothing.
  const replaced = JSON.parse(await fs.readFile(path.join(rootfs.dir, 'replaced.json'), 'utf8')) as string[];
  const cpio = path.join(rootfs.dir, 'rootfs.cpio');

  return { rootfs, replaced, cpio };
}

/** The product's compiler and its static libc, as the probes' link and the store keys name them. */
async function productLink(o: BuildrootOutput): Promise<{ toolchain: string; libcKey: string; recipe: CompileRecipe }> {
  // The product toolchain's identity: its version line and the wrapper binary itself.
  const toolchain = `${(await capture(o.cc, ['--version'])).split('\n')[0]} ${await sha256File(o.cc)}`;
  const libcA = (await fs.access(path.join(o.sysroot, 'usr/lib/libc.a')).then(() => path.join(o.sysroot, 'usr/lib/libc.a'), () => undefined)) ?? path.join(o.sysroot, 'lib/libc.a');
  const libcKey = `buildroot ${o.libc.kind} ${o.libc.version} ${await sha256File(libcA).catch(() => {
    throw new LabError(`${o.sysroot}: no static libc (usr/lib/libc.a)`, { fix: 'the probes are linked statically against the product libc: build the product with BR2_STATIC_LIBS or BR2_SHARED_STATIC_LIBS' });
  })}`;
  return { toolchain, libcKey, recipe: { cc: o.cc, compile: [], linkBefore: ['-static'], linkAfter: [] } };
}

/** What the import built, for the bundle. */
interface ImportParts {
  name: string;
  preset: Target;
  link: Awaited<ReturnType<typeof productLink>>;
  probes: ProbeSet;
  userland: Userland;
  rootfsDir: string;
  cpio: string;
}

/** The product's kernel (and dtb), the merged rootfs and the probes as one bundle in the store. */
async function importBundle(req: ImportRequest, o: BuildrootOutput, p: ImportParts) {
  const { name, preset, link, probes, userland, cpio } = p;
  const kernelSha = await sha256File(o.kernel.image);
  const configSha = o.kernel.config ? await sha256File(o.kernel.config) : kernelSha;
  const cpioSha = await sha256File(cpio);
  const cpioSize = (await fs.stat(cpio)).size;
  const hostKeyLine = (await fs.readFile(path.join(p.rootfsDir, 'host_key.pub'), 'utf8')).trim();
  const extra = req.extra ?? [];
  const parts = { importer: 1, recipe: RECIPE_VERSION, name, board: req.board, kernel: kernelSha, dtb: o.kernel.dtb ? await sha256File(o.kernel.dtb) : null, rootfs: cpioSha, probes: probes.dir, libc: link.libcKey, ...(extra.length ? { extra: extra.map((e) => e.probes.dir) } : {}) };
  const productVariant: BundleVariant = {
    manifest: {
      variant: PRODUCT_VARIANT,
      libc: `${o.libc.kind === 'uclibc' ? 'uClibc' : o.libc.kind === 'uclibc-ng' ? 'uClibc-ng' : o.libc.kind} ${o.libc.version} (the product's, from ${o.sysroot})`,
      source: { package: 'buildroot-staging', origin: 'override', path: o.sysroot, sha256: link.libcKey.split(' ').at(-1)! },
      patches: [],
      sysroot: o.sysroot,
    },
    recipe: link.recipe,
    probes,
    staging: true,
  };
  const contents: BundleContents = {
    kernelImage: o.kernel.image,
    ...(o.kernel.dtb ? { dtb: o.kernel.dtb } : {}),
    rootfsCpio: cpio,
    ...(o.kernel.config ? { kernelConfig: o.kernel.config } : {}),
    ccPrefix: `${o.tuple}-`,
    variants: [productVariant, ...extra.map((e) => ({ ...e, staging: true }))],
  };
  return storeEntry(req.dirs.store, 'import-bundle', parts, (out) =>
    writeBundle(out, contents, (images, variants): BundleManifest => ({
      schema: 1,
      target: name,
      key: cacheKey(parts),
      arch: o.arch,
      qemu: preset.qemu,
      cmdline: preset.kernel.cmdline,
      recipeVersion: RECIPE_VERSION,
      toolchain: link.toolchain,
      kernel: {
        line: 'imported',
        version: o.kernel.version,
        release: o.kernel.version,
        source: { package: 'buildroot-output', origin: 'override', path: o.dir, sha256: kernelSha },
        patches: [],
        configSha256: configSha,
        image: images.kernel,
        ...(images.dtb ? { dtb: images.dtb } : {}),
        initramfs: 'external',
        pageSizeKiB: o.kernel.pageSizeKiB,
      },
      libc: { kind: o.libc.kind, variants },
      userland: { packages: userland.packages.map((u) => ({ name: u.name, file: path.basename(u.file), sha256: u.sha256 })) },
      rootfs: { image: images.rootfs!, sha256: cpioSha, sizeBytes: cpioSize, hostKey: hostKeyLine },
    })),
  );
}

/**
 * A Buildroot output → a lab bundle: the product's kernel, the probes linked by
 * the product's toolchain against its own staging libc, and a copy of its
 * rootfs with the lab's pieces (SSH, readiness, probes, fabric tools) added.
 */
export async function importBuildroot(req: ImportRequest): Promise<ImportResult> {
  const say = req.progress ?? (() => undefined);
  const { preset, o, name } = await checkImport(req);
  const tc = TOOLCHAINS[o.arch];
  const link = await productLink(o);
  say('probes (product toolchain and libc)');
  const probes = await buildProbes({ variant: PRODUCT_VARIANT, recipe: link.recipe, libcKey: link.libcKey, toolchain: link.toolchain, dirs: req.dirs, logFile: req.logFile });
  say('tools');
  const tools = await buildTools({ tc, dirs: req.dirs, logFile: req.logFile });
  say('userland');
  const userland = await buildUserland(tc.debianArch, req.dirs, req.logFile);
  say('rootfs');
  const { rootfs, replaced, cpio } = await importRootfs(req, o, name, { probes, extra: req.extra ?? [], tools, userland });
  say('bundle');
  const bundle = await importBundle(req, o, { name, preset, link, probes, userland, rootfsDir: rootfs.dir, cpio });
  const manifest = await readBundleManifest(bundle.dir);
  const file = path.join(req.dirs.imported, `${name}.json`);
  const target: Target = {
    name,
    description: `${req.board} (${o.arch}), Linux ${o.kernel.version} (${o.kernel.pageSizeKiB} KiB pages), ${manifest.libc.variants[0]!.libc.split(' (')[0]} — imported from ${o.dir}`,
    arch: o.arch,
    qemu: preset.qemu,
    kernel: { line: 'imported', board: req.board, pageSizeKiB: o.kernel.pageSizeKiB, initramfs: 'external', cmdline: preset.kernel.cmdline },
    libc: { kind: o.libc.kind, variants: [PRODUCT_VARIANT] },
    default: false,
    file,
    imported: { from: o.dir, bundleDir: bundle.dir, ...(req.like ? { like: req.like } : {}) },
  };
  if (req.register !== false) await writeImportedTarget(target);
  return { target, bundleDir: bundle.dir, manifest, replaced, output: o };
}
