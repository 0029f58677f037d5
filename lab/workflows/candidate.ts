import fs from 'node:fs/promises';
import path from 'node:path';
import { relPatch } from '../bundle/bundle.ts';
import { buildProbes } from '../bundle/probes.ts';
import { storeEntry } from '../store/store.ts';
import { TOOLCHAINS, toolchainVersion } from '../bundle/toolchain.ts';
import { buildUclibc, CANDIDATE_VARIANT } from '../bundle/uclibc.ts';
import type { Target } from '../model/target.ts';
import type { SourceOptions } from '../sources/resolve.ts';
import { sha256Tree } from '../util/digest.ts';
import { LabError } from '../util/errors.ts';
import type { LabDirs } from '../util/paths.ts';
import { importBuildroot } from './buildroot/import.ts';
import { inspectBuildrootOutput } from './buildroot/inspect.ts';

/** The kernel's uapi directories Buildroot installs into staging/usr/include beside the libc headers. */
const KERNEL_HEADER_DIRS = ['linux', 'asm', 'asm-generic', 'mtd', 'rdma', 'scsi', 'sound', 'video', 'xen', 'drm', 'misc'];

/**
 * validate-patch on an imported product: uClibc 0.9.33.2 from the lab's pinned
 * source plus the user's patches, built against the product's own kernel
 * headers, its probes beside the product's in a new bundle of the product
 * (unpatched role: the product's libc as shipped; patched role: the candidate).
 */
export async function importedCandidateBundle(opts: {
  target: Target;
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
  if (o.libc.kind !== 'uclibc' || !o.libc.version.startsWith('0.9.33')) {
    throw new LabError(`${target.name}: its libc is ${o.libc.kind} ${o.libc.version}; validate-patch builds uClibc 0.9.33.2 from source and compares it with that`, {
      fix: 'validate patches on a product whose libc is uClibc 0.9.33.x, or on the built-in uClibc targets',
    });
  }
  const include = path.join(o.sysroot, 'usr', 'include');
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
  const tc = TOOLCHAINS[o.arch];
  opts.progress?.(`uClibc ${CANDIDATE_VARIANT} with ${opts.patches.map((p) => path.basename(p)).join(', ')} on the product's kernel headers`);
  const libc = await buildUclibc({ target, variant: CANDIDATE_VARIANT, extraPatches: opts.patches, headers: path.join(headers.dir, 'include'), headersKey: headers.key, tc, dirs, sources: opts.sources, logFile: opts.logFile });
  const probes = await buildProbes({ variant: CANDIDATE_VARIANT, recipe: libc.recipe, libcKey: libc.sysroot, toolchain: await toolchainVersion(tc), dirs, logFile: opts.logFile });
  const r = await importBuildroot({
    outputDir: from,
    board: target.qemu.machine,
    name: target.name,
    dirs,
    builtins: opts.builtins,
    logFile: opts.logFile,
    register: false,
    extra: [
      {
        probes,
        recipe: libc.recipe,
        manifest: { variant: CANDIDATE_VARIANT, libc: 'uClibc 0.9.33.2', ...(libc.tree ? { source: libc.tree.source } : {}), patches: libc.patches.map(relPatch), sysroot: libc.sysroot },
      },
    ],
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
  return r.bundleDir;
}
