import fs from 'node:fs/promises';
import path from 'node:path';
import { writeBundleManifest, type BundleManifest, type VariantManifest } from '../model/manifest.ts';
import { expandRecipe, type CompileRecipe } from './compile.ts';
import { ccWrapperScript } from './cc-wrapper.ts';
import type { ProbeSet } from './probes.ts';

/** One libc variant as a bundle carries it: its sysroot (linked under staging/), a cc wrapper and its probes. */
export interface BundleVariant {
  manifest: Omit<VariantManifest, 'probes' | 'cc'>;
  recipe: CompileRecipe;
  probes: ProbeSet;
  /** uClibc images: the dynamically linked probes and where the variant's shared libraries sit in the guest. */
  shared?: { probes: ProbeSet; libDir: string; imagePrograms?: false };
  /** Link the sysroot as staging/<variant> (a lab- or product-built libc; not the system's glibc). */
  staging: boolean;
}

export interface BundleContents {
  kernelImage: string;
  dtb?: string;
  /** Copied as images/rootfs.cpio (absent when the rootfs is linked into the kernel image). */
  rootfsCpio?: string;
  /** The rootfs linked into the kernel image, copied as images/initramfs.cpio so it can be inspected without unpacking the kernel. */
  initramfsCpio?: string;
  kernelConfig?: string;
  /** Prefix of the cc wrappers in host/bin/ (`<prefix><variant>-cc`). */
  ccPrefix: string;
  variants: BundleVariant[];
}

/** Where the writer put things, for the manifest. */
export interface BundleImages {
  kernel: string;
  dtb?: string;
  rootfs?: string;
}

/**
 * The one bundle writer (built targets and imported Buildroot products alike):
 * images/, staging/<variant>, host/bin/<prefix><variant>-cc, target-probes/<variant>,
 * then manifest.json through the model's writer.
 */
export async function writeBundle(out: string, c: BundleContents, manifestFor: (images: BundleImages, variants: VariantManifest[]) => BundleManifest): Promise<void> {
  const imagesDir = path.join(out, 'images');
  await fs.mkdir(imagesDir, { recursive: true });
  const image = (file: string, name = path.basename(file)) => fs.copyFile(file, path.join(imagesDir, name)).then(() => `images/${name}`);
  const images: BundleImages = {
    kernel: await image(c.kernelImage),
    ...(c.dtb ? { dtb: await image(c.dtb) } : {}),
    ...(c.rootfsCpio ? { rootfs: await image(c.rootfsCpio, 'rootfs.cpio') } : {}),
  };
  if (c.kernelConfig) await image(c.kernelConfig, 'kernel.config');
  if (c.initramfsCpio) await image(c.initramfsCpio, 'initramfs.cpio');
  for (const d of ['staging', 'host/bin', 'target-probes']) await fs.mkdir(path.join(out, d), { recursive: true });
  const variants: VariantManifest[] = [];
  for (const v of c.variants) {
    const name = v.manifest.variant;
    if (v.staging) await fs.symlink(v.manifest.sysroot, path.join(out, 'staging', name));
    const cc = path.join(out, 'host', 'bin', `${c.ccPrefix}${name}-cc`);
    // Static: what a user builds runs in any image of this target, whichever libc is in /lib.
    await fs.writeFile(cc, ccWrapperScript({ static: await expandRecipe(v.recipe) }, undefined, `a cc for users: ${name}'s headers and libc, static`), { mode: 0o755 });
    await fs.symlink(v.probes.dir, path.join(out, 'target-probes', name));
    if (v.shared) await fs.symlink(v.shared.probes.dir, path.join(out, 'target-probes', `${name}-shared`));
    variants.push({ ...v.manifest, cc: path.relative(out, cc), probes: v.probes.names, ...(v.shared ? { shared: { libDir: v.shared.libDir, probes: v.shared.probes.names, ...(v.shared.imagePrograms === false ? { imagePrograms: false } : {}) } } : {}) });
  }
  await writeBundleManifest(out, manifestFor(images, variants));
}
