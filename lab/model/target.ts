import type { Fields } from './fields.ts';

/** What the lab builds and boots: one emulated board with one kernel and one libc. */
/** Guest architectures: ARM (little-endian EABI), MIPS32r2 little-endian (mipsel) and big-endian (mips). */
export type Arch = 'arm' | 'mipsel' | 'mips';
/** uclibc-ng and musl only come from imported Buildroot outputs; the lab builds uclibc and uses Debian's glibc. */
export type LibcKind = 'uclibc' | 'glibc' | 'uclibc-ng' | 'musl';
export type KernelLine = '3.10' | '6.1';

export interface QemuSpec {
  binary: string;
  machine: string;
  cpu: string;
  memoryMiB: number;
  nic: string;
  /** USB host controller to hotplug devices on (a -device name, with enough ports). */
  usb: string;
}

export interface KernelSpec {
  /** "imported": the product's own kernel, not built by the lab. */
  line: KernelLine | 'imported';
  /** Board folder under kernels/<line>/boards (its config fragment). */
  board: string;
  pageSizeKiB: number;
  /** Where the initramfs goes: a separate -initrd, or linked into the kernel image. */
  initramfs: 'external' | 'builtin';
  cmdline: string;
}

export interface LibcSpec {
  kind: LibcKind;
  /** libc builds the probes are linked against; glibc targets have one: "system". */
  variants: string[];
  /** uClibc targets: variants built from a uClibc-ng revision (variant name → tag, branch or commit) instead of 0.9.33.2. */
  uclibcNg?: Record<string, string>;
}

export interface Target {
  name: string;
  description: string;
  arch: Arch;
  qemu: QemuSpec;
  kernel: KernelSpec;
  libc: LibcSpec;
  /** Whether `reprolab build` with no target names builds it. */
  default: boolean;
  /** The file it was loaded from, for error messages. */
  file: string;
  /** Set for a product imported from a Buildroot output (reprolab import-buildroot): nothing is built. */
  imported?: ImportedFrom;
}

export interface ImportedFrom {
  /** The Buildroot output directory it came from. */
  from: string;
  bundleDir: string;
  /** A built-in target whose expectations it should meet. */
  like?: string;
}

/** Whose expectations a target is judged against: its own, or those of the built-in target it is like. */
export const expectationsName = (t: Target): string => t.imported?.like ?? t.name;

/** A target's QEMU settings, wherever they are written down (target files, imported targets, bundle manifests). */
export function readQemuSpec(qemu: Fields): QemuSpec {
  qemu.only(['binary', 'machine', 'cpu', 'memoryMiB', 'nic', 'usb']);
  return {
    binary: qemu.string('binary', /^qemu-system-[a-z0-9_]+$/),
    machine: qemu.string('machine'),
    cpu: qemu.string('cpu'),
    memoryMiB: qemu.integer('memoryMiB', 32, 2048),
    nic: qemu.string('nic'),
    usb: qemu.string('usb'),
  };
}
