/** The contract between building and running: <bundle>/manifest.json, its one writer and its one reader. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Fields, parseJson, readTextFile } from './fields.ts';
import { relativePathField } from './paths.ts';
import type { ResolvedSource } from './source.ts';
import { readQemuSpec, type Arch, type Target } from './target.ts';

export const MANIFEST_SCHEMA = 1;
export const MANIFEST_FILE = 'manifest.json';

export interface VariantManifest {
  variant: string;
  libc: string;
  source?: ResolvedSource;
  patches: { file: string; sha256: string }[];
  sysroot: string;
  cc: string;
  probes: string[];
  /** uClibc images: the variant's shared runtime in the guest (libcLibDir) and the probes linked against it (sharedProbeDir). */
  shared?: { libDir: string; probes: string[]; imagePrograms?: false };
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

type Digest = { file: string; sha256: string };
const SHA256 = /^[0-9a-f]{64}$/;

function source(f: Fields): ResolvedSource {
  f.only(['package', 'origin', 'path', 'sha256', 'pinned']);
  return {
    package: f.string('package'),
    origin: f.oneOf('origin', ['override', 'archive', 'debian-file', 'debian-source'] as const),
    path: f.string('path'),
    sha256: f.string('sha256', SHA256),
    ...(f.has('pinned') ? { pinned: f.string('pinned') } : {}),
  };
}

function digests(f: Fields, key: string): Digest[] {
  return f.list(key).map((d) => {
    d.only(['file', 'sha256']);
    return { file: d.string('file'), sha256: d.string('sha256', SHA256) };
  });
}

function variant(f: Fields): VariantManifest {
  f.only(['variant', 'libc', 'source', 'patches', 'sysroot', 'cc', 'probes', 'shared']);
  return {
    variant: f.string('variant'),
    libc: f.string('libc'),
    ...(f.has('source') ? { source: source(f.object('source')) } : {}),
    patches: digests(f, 'patches'),
    sysroot: f.string('sysroot'),
    cc: f.string('cc'),
    probes: f.strings('probes'),
    ...(f.has('shared') ? { shared: sharedRuntime(f.object('shared')) } : {}),
  };
}

function sharedRuntime(f: Fields): { libDir: string; probes: string[]; imagePrograms?: false } {
  f.only(['libDir', 'probes', 'imagePrograms']);
  // false: a libc of another ABI (uClibc-ng's libc.so.1) that the image's own programs cannot load.
  const imagePrograms = f.boolean('imagePrograms', true);
  return { libDir: f.string('libDir', /^\//), probes: f.strings('probes'), ...(imagePrograms ? {} : { imagePrograms: false as const }) };
}

/** Checks every field a stage reads; an older or hand-edited manifest fails here, naming the file and field. */
export function parseBundleManifest(file: string, doc: unknown): BundleManifest {
  const m = new Fields(file, doc);
  m.only(['schema', 'target', 'key', 'arch', 'qemu', 'cmdline', 'recipeVersion', 'toolchain', 'kernel', 'libc', 'userland', 'rootfs']);
  m.oneOf('schema', [MANIFEST_SCHEMA]);
  const k = m.object('kernel');
  k.only(['line', 'version', 'release', 'source', 'patches', 'configSha256', 'image', 'dtb', 'initramfs', 'pageSizeKiB']);
  const libc = m.object('libc');
  libc.only(['kind', 'variants']);
  const userland = m.object('userland');
  userland.only(['packages']);
  const rootfs = m.object('rootfs');
  rootfs.only(['image', 'sha256', 'sizeBytes', 'hostKey']);
  return {
    schema: MANIFEST_SCHEMA,
    target: m.string('target'),
    key: m.string('key'),
    arch: m.oneOf('arch', ['arm', 'mipsel', 'mips'] as const),
    qemu: readQemuSpec(m.object('qemu')),
    cmdline: m.string('cmdline'),
    recipeVersion: m.integer('recipeVersion', 1, 1 << 30),
    toolchain: m.string('toolchain'),
    kernel: {
      line: k.string('line'),
      version: k.string('version'),
      release: k.string('release'),
      source: source(k.object('source')),
      patches: digests(k, 'patches'),
      configSha256: k.string('configSha256', SHA256),
      // Inside the bundle: a repro pack copies them to the same place in the pack.
      image: relativePathField(k, 'image'),
      ...(k.has('dtb') ? { dtb: relativePathField(k, 'dtb') } : {}),
      initramfs: k.oneOf('initramfs', ['external', 'builtin'] as const),
      // 64: an imported Buildroot product may use 64 KiB pages; the lab's own targets use 4 or 16.
      pageSizeKiB: k.oneOf('pageSizeKiB', [4, 16, 64] as const),
    },
    libc: { kind: libc.string('kind'), variants: libc.list('variants').map(variant) },
    userland: {
      packages: userland.list('packages').map((p) => {
        p.only(['name', 'file', 'sha256']);
        return { name: p.string('name'), file: p.string('file'), sha256: p.string('sha256', SHA256) };
      }),
    },
    rootfs: { image: rootfs.string('image'), sha256: rootfs.string('sha256', SHA256), sizeBytes: rootfs.integer('sizeBytes', 1, Number.MAX_SAFE_INTEGER), hostKey: rootfs.string('hostKey', /^ssh-ed25519 /) },
  };
}

/** The one reader: every stage that needs a bundle's manifest comes through here. */
export async function readBundleManifest(bundleDir: string): Promise<BundleManifest> {
  const file = path.join(bundleDir, MANIFEST_FILE);
  const text = await readTextFile(file, 'cannot read the bundle manifest', 'build the bundle again: reprolab build <target>');
  return parseBundleManifest(file, parseJson(file, text));
}

/** The one writer: checks what it writes with the reader, so nothing the reader would refuse reaches disk. */
export async function writeBundleManifest(bundleDir: string, manifest: BundleManifest): Promise<void> {
  const file = path.join(bundleDir, MANIFEST_FILE);
  parseBundleManifest(file, JSON.parse(JSON.stringify(manifest)));
  await fs.writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
}
