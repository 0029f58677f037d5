import { capture } from '../util/process.ts';
import type { Arch } from '../model/target.ts';

/** Host cross toolchains per guest architecture (Debian's gcc-<triplet> packages). */
export interface Toolchain {
  arch: Arch;
  /** Kernel ARCH= value. */
  kernelArch: string;
  /** CROSS_COMPILE prefix, e.g. arm-linux-gnueabi- */
  prefix: string;
  /** Debian architecture of the guest userland packages. */
  debianArch: string;
  /** e.g. "ELF 32-bit LSB executable, ARM" — what `file` says about a guest binary. */
  fileMachine: string;
}

export const TOOLCHAINS: Record<Arch, Toolchain> = {
  arm: { arch: 'arm', kernelArch: 'arm', prefix: 'arm-linux-gnueabi-', debianArch: 'armel', fileMachine: 'ARM' },
  mipsel: { arch: 'mipsel', kernelArch: 'mips', prefix: 'mipsel-linux-gnu-', debianArch: 'mipsel', fileMachine: 'MIPS' },
  // Debian has no big-endian MIPS port any more: only the cross compiler, so these images are built from source only.
  mips: { arch: 'mips', kernelArch: 'mips', prefix: 'mips-linux-gnu-', debianArch: 'mips', fileMachine: 'MIPS' },
};

const versions = new Map<string, Promise<string>>();

/** The exact compiler and binutils versions: part of every build key. */
export function toolchainVersion(tc: Toolchain): Promise<string> {
  let v = versions.get(tc.prefix);
  if (!v) {
    v = Promise.all([capture(`${tc.prefix}gcc`, ['--version']), capture(`${tc.prefix}ld`, ['--version'])]).then(
      ([gcc, ld]) => `${gcc.split('\n')[0]} / ${ld.split('\n')[0]}`,
    );
    versions.set(tc.prefix, v);
  }
  return v;
}

export function hostMakeVersion(): Promise<string> {
  return capture('make', ['--version']).then((out) => out.split('\n')[0] ?? out);
}

/** Debian's cross glibc (libc6-dev-<arch>-cross) version: the key of everything linked against it. */
export function crossGlibcVersion(tc: Toolchain): Promise<string> {
  return capture('dpkg-query', ['-W', '-f', '${Version}', `libc6-dev-${tc.debianArch}-cross`]).catch(() => 'unknown');
}
