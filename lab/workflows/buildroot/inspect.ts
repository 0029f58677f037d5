import fs from 'node:fs/promises';
import path from 'node:path';
import type { Arch } from '../../model/target.ts';
import { LabError } from '../../util/errors.ts';
import { exists } from '../../util/fs.ts';
import { isSet, parseKconfig, stringOf, type Kconfig } from './kconfig.ts';

/** What the lab needs from a Buildroot `output/` directory, each part found where Buildroot puts it. */
export interface BuildrootOutput {
  dir: string;
  config: Kconfig;
  arch: Arch;
  /** GNU tuple of the product toolchain, e.g. arm-buildroot-linux-uclibcgnueabi. */
  tuple: string;
  /** The product's compiler (Buildroot's toolchain wrapper knows its sysroot). */
  cc: string;
  sysroot: string;
  libc: { kind: 'uclibc' | 'uclibc-ng' | 'glibc' | 'musl'; version: string };
  kernel: { version: string; image: string; dtb?: string; config?: string; pageSizeKiB: number };
  rootfs: { file: string; format: 'cpio' | 'cpio.gz' | 'ext2' };
}

function missing(what: string, where: string, fix: string): never {
  throw new LabError(`${what} not found: ${where}`, { fix });
}

function archOf(dir: string, c: Kconfig): Arch {
  const little = stringOf(c, 'BR2_ENDIAN') !== 'BIG';
  if (isSet(c, 'BR2_arm') && little) return 'arm';
  if (isSet(c, 'BR2_mipsel')) return 'mipsel';
  const arch = stringOf(c, 'BR2_ARCH') ?? 'unknown';
  throw new LabError(`${path.join(dir, '.config')}: BR2_ARCH="${arch}"${little ? '' : ' (big endian)'} is not a guest the lab runs`, {
    fix: 'import a little-endian ARM (BR2_arm, versatilepb) or MIPS (BR2_mipsel, malta) build',
  });
}

/** host/bin/<tuple>-gcc for this arch; staging/ names the tuple when it is the usual symlink. */
async function toolchainOf(dir: string, arch: Arch): Promise<{ tuple: string; cc: string; sysroot: string }> {
  const bin = path.join(dir, 'host', 'bin');
  const names = await fs.readdir(bin).catch(() => missing('the cross toolchain', `${bin}/`, 'Buildroot installs its toolchain in output/host/bin/<tuple>-gcc; import the whole output/ directory, after `make` has finished'));
  const prefix = arch === 'arm' ? /^arm[^-]*-/ : /^mipsel-/;
  const gccs = names.filter((n) => prefix.test(n) && /-linux-[^-]+-gcc$/.test(n)).sort();
  if (!gccs.length) missing(`a ${arch} cross compiler`, `${bin}/${arch === 'arm' ? 'arm' : 'mipsel'}-*-linux-*-gcc`, 'the output directory must be a complete Buildroot build (make finished); an external toolchain also installs its wrapper there');
  const staging = path.join(dir, 'staging');
  const sysroot = await fs.realpath(staging).catch(() => missing('the staging sysroot', `${staging}`, 'Buildroot links output/staging to host/<tuple>/sysroot; it holds the libc the probes are linked against'));
  const fromStaging = path.basename(path.dirname(sysroot));
  const gcc = gccs.find((g) => g === `${fromStaging}-gcc`) ?? gccs[0]!;
  return { tuple: gcc.slice(0, -'-gcc'.length), cc: path.join(bin, gcc), sysroot };
}

/** The libc in the sysroot, read from its own headers (the .config only says which option was picked). */
async function libcOf(sysroot: string, c: Kconfig): Promise<BuildrootOutput['libc']> {
  const inc = path.join(sysroot, 'usr', 'include');
  const uclibc = await fs.readFile(path.join(inc, 'bits', 'uClibc_config.h'), 'utf8').catch(() => undefined);
  if (uclibc) {
    const n = (k: string) => new RegExp(`#define ${k} (\\d+)`).exec(uclibc)?.[1] ?? '?';
    // The headers stop at the sublevel (0.9.33); Buildroot's .config of that era names the release (0.9.33.2).
    const headers = `${n('__UCLIBC_MAJOR__')}.${n('__UCLIBC_MINOR__')}.${n('__UCLIBC_SUBLEVEL__')}`;
    const named = stringOf(c, 'BR2_UCLIBC_VERSION_STRING');
    const version = named?.startsWith(headers) ? named : headers;
    const ng = /__UCLIBC_NG__|uClibc-ng/.test(uclibc) || Number(n('__UCLIBC_MAJOR__')) >= 1;
    return { kind: ng ? 'uclibc-ng' : 'uclibc', version };
  }
  const features = await fs.readFile(path.join(inc, 'features.h'), 'utf8').catch(() => undefined);
  const major = features && /#define\s+__GLIBC__\s+(\d+)/.exec(features)?.[1];
  const minor = features && /#define\s+__GLIBC_MINOR__\s+(\d+)/.exec(features)?.[1];
  if (major && minor) return { kind: 'glibc', version: `${major}.${minor}` };
  const lib = await fs.readdir(path.join(sysroot, 'lib')).catch(() => [] as string[]);
  if (lib.some((n) => n.startsWith('ld-musl-'))) return { kind: 'musl', version: 'unknown' };
  return missing('a libc', `${inc}/bits/uClibc_config.h or ${inc}/features.h`, 'the staging sysroot must hold the libc headers Buildroot installed (BR2_TOOLCHAIN_BUILDROOT_* or an external toolchain copied to staging)');
}

async function firstExisting(files: string[]): Promise<string | undefined> {
  for (const f of files) if (await exists(f)) return f;
  return undefined;
}

async function kernelOf(dir: string, c: Kconfig): Promise<BuildrootOutput['kernel']> {
  const images = path.join(dir, 'images');
  if (!isSet(c, 'BR2_LINUX_KERNEL')) {
    throw new LabError(`${path.join(dir, '.config')}: BR2_LINUX_KERNEL is not set, so Buildroot built no kernel`, { fix: 'enable BR2_LINUX_KERNEL (the lab boots the product kernel from output/images/)' });
  }
  const image = await firstExisting(['zImage', 'vmlinux', 'uImage', 'Image'].map((n) => path.join(images, n)));
  if (!image || path.basename(image) === 'uImage') {
    missing('a kernel image QEMU can boot', `${images}/zImage (ARM) or ${images}/vmlinux (MIPS)`, 'Buildroot writes it there with BR2_LINUX_KERNEL_ZIMAGE=y (ARM) or BR2_LINUX_KERNEL_VMLINUX=y (MIPS)');
  }
  const dtbs = (await fs.readdir(images)).filter((n) => n.endsWith('.dtb')).sort();
  const version = stringOf(c, 'BR2_LINUX_KERNEL_VERSION') ?? stringOf(c, 'BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE');
  if (!version) throw new LabError(`${path.join(dir, '.config')}: no BR2_LINUX_KERNEL_VERSION`, { fix: 'import the .config Buildroot wrote for this output (make savedefconfig does not keep it)' });
  const build = path.join(dir, 'build');
  const kdir = (await fs.readdir(build).catch(() => [] as string[])).filter((n) => n === `linux-${version}` || n === 'linux-custom').sort();
  const config = await firstExisting(kdir.map((d) => path.join(build, d, '.config')));
  const kc = config ? parseKconfig(await fs.readFile(config, 'utf8')) : new Map<string, string | boolean>();
  if (config && stringOf(kc, 'CONFIG_INITRAMFS_SOURCE')) {
    throw new LabError(`${config}: CONFIG_INITRAMFS_SOURCE="${stringOf(kc, 'CONFIG_INITRAMFS_SOURCE')}": the rootfs is linked into the kernel, so the lab cannot add its probes to it`, {
      fix: 'build the product with BR2_TARGET_ROOTFS_CPIO=y and without BR2_TARGET_ROOTFS_INITRAMFS, so output/images/rootfs.cpio is booted with -initrd',
    });
  }
  const pageSizeKiB = isSet(kc, 'CONFIG_PAGE_SIZE_64KB') ? 64 : isSet(kc, 'CONFIG_PAGE_SIZE_16KB') ? 16 : 4;
  return { version, image: image!, ...(dtbs.length ? { dtb: path.join(images, dtbs[0]!) } : {}), ...(config ? { config } : {}), pageSizeKiB };
}

async function rootfsOf(dir: string): Promise<BuildrootOutput['rootfs']> {
  const images = path.join(dir, 'images');
  for (const [name, format] of [['rootfs.cpio', 'cpio'], ['rootfs.cpio.gz', 'cpio.gz'], ['rootfs.ext2', 'ext2']] as const) {
    const file = path.join(images, name);
    if (await exists(file)) return { file, format };
  }
  return missing('a root filesystem', `${images}/rootfs.cpio, rootfs.cpio.gz or rootfs.ext2`, 'Buildroot writes it there with BR2_TARGET_ROOTFS_CPIO=y or BR2_TARGET_ROOTFS_EXT2=y');
}

/** Reads a Buildroot output directory, or says exactly what is missing and where Buildroot would have put it. */
export async function inspectBuildrootOutput(dir: string): Promise<BuildrootOutput> {
  const configFile = path.join(dir, '.config');
  const text = await fs.readFile(configFile, 'utf8').catch(() =>
    missing('a Buildroot .config', configFile, 'pass the output/ directory of a Buildroot build (the one holding .config, images/, host/ and staging/), or its O= directory'),
  );
  const config = parseKconfig(text);
  const arch = archOf(dir, config);
  const tc = await toolchainOf(dir, arch);
  return { dir, config, arch, ...tc, libc: await libcOf(tc.sysroot, config), kernel: await kernelOf(dir, config), rootfs: await rootfsOf(dir) };
}
