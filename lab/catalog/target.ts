/** What the lab builds and boots: one emulated board with one kernel and one libc. */
export type Arch = 'arm' | 'mipsel';
export type LibcKind = 'uclibc' | 'glibc';
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
  line: KernelLine;
  /** Board folder under kernels/<line>/boards (its config fragment). */
  board: string;
  pageSizeKiB: 4 | 16;
  /** Where the initramfs goes: a separate -initrd, or linked into the kernel image. */
  initramfs: 'external' | 'builtin';
  cmdline: string;
}

export interface LibcSpec {
  kind: LibcKind;
  /** libc builds the probes are linked against; glibc targets have one: "system". */
  variants: string[];
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
}
