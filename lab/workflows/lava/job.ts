import fs from 'node:fs/promises';
import type { BundleManifest } from '../../model/manifest.ts';
import { VERDICTS } from '../../model/verdict.ts';
import { UsageError } from '../../util/errors.ts';
import { untrustedYaml } from './yaml-input.ts';

/** The URLs a job deploys from (file:// for the local dispatcher, the farm's artifact server otherwise). */
export interface JobArtifacts {
  kernel: string;
  dtb?: string;
  /** The target's rootfs with the scenarios' scripts, a gzip'd cpio.newc LAVA appends its overlay into. */
  ramdisk: string;
  ramdiskBytes: number;
}

export interface JobInput {
  target: string;
  scenario: { name: string; bug: string };
  manifest: BundleManifest;
  artifacts: JobArtifacts;
  test: Record<string, unknown>;
  /** Minutes, already scaled by the lab's timeout multiplier. */
  minutes: { boot: number; test: number };
  /** The lab's own facts about the job, for a person reading it on the server (and the lab reading it back). */
  metadata: Record<string, string>;
}

/**
 * malta + Linux 3.10 hangs when QEMU's -initrd puts the ramdisk at the top of RAM (its bootmem takes
 * only what lies above the initrd; ../shared/FINDINGS.md), which is why those kernels link their rootfs
 * in. LAVA's overlay still needs a ramdisk: it is loaded low with QEMU's generic loader and named on the
 * command line (rd_start/rd_size, which this kernel reads). Zeros after it are skipped by the unpacker.
 */
const LOW_RAMDISK = { physical: 0x02000000, kseg0: 0x82000000 };

/** A kernel command line that goes inside LAVA's double quotes as it is (an imported product names its own). */
function checkedCmdline(m: BundleManifest): string {
  if (!/^[A-Za-z0-9_.,=:/@+ -]*$/.test(m.cmdline)) {
    throw new UsageError(`${m.target}: its kernel command line ${JSON.stringify(m.cmdline)} holds characters a LAVA job cannot quote`, { fix: 'use letters, digits, spaces and _ . , = : / @ + - only' });
  }
  return m.cmdline;
}

/** The ramdisk's image_arg and the command line that goes with it, as the kernel needs it loaded. */
function ramdiskBoot(m: BundleManifest, bytes: number): { imageArg: string; cmdline: string[] } {
  if (m.kernel.initramfs === 'external') return { imageArg: '-initrd {initrd}', cmdline: [] };
  if (m.arch === 'arm') throw new UsageError(`${m.target}: a kernel with its rootfs linked in is known here only on MIPS (malta + 3.10); this ARM one cannot take LAVA's ramdisk`);
  // Room for LAVA's overlay, appended into the archive after this size was taken.
  const size = Math.ceil((bytes + 8 * 2 ** 20) / 2 ** 20) * 2 ** 20;
  if (LOW_RAMDISK.physical + size > (m.qemu.memoryMiB * 2 ** 20) / 2) throw new UsageError(`${m.target}: its ramdisk (${bytes} bytes) does not fit low in ${m.qemu.memoryMiB} MiB of RAM`);
  return {
    imageArg: `-device loader,file={initrd},addr=0x${LOW_RAMDISK.physical.toString(16)},force-raw=on`,
    cmdline: [`rd_start=0x${LOW_RAMDISK.kseg0.toString(16)}`, `rd_size=${size}`],
  };
}

/**
 * The job context LAVA's qemu.jinja2 reads. Its template sets -machine and -cpu itself only on some
 * architectures (arm: both; mips: -machine; mipsel: neither), so the rest goes in extra_options.
 * These guests run under TCG (no_kvm), with the lab's NIC and USB controller and no way out of
 * QEMU's user network (restrict=on), as in the lab.
 */
export function qemuContext(m: BundleManifest): Record<string, unknown> {
  const q = m.qemu;
  // LAVA splits each option on spaces into the QEMU command it runs as root: a value is one word.
  for (const [field, v] of Object.entries({ machine: q.machine, cpu: q.cpu, nic: q.nic, usb: q.usb })) {
    if (!/^[A-Za-z0-9_.,=:-]+$/.test(v)) throw new UsageError(`${m.target}: qemu.${field} ${JSON.stringify(v)} is not one word LAVA can pass to QEMU`, { fix: 'use letters, digits and _ . , = : - only' });
  }
  const extra = [
    ...(m.arch === 'mipsel' ? [`-machine ${q.machine}`] : []),
    ...(m.arch === 'arm' ? [] : [`-cpu ${q.cpu}`]),
    `-device ${q.usb},id=usbhc`,
    '-vga none',
    '-no-reboot',
  ];
  return { arch: m.arch, machine: q.machine, cpu: q.cpu, memory: q.memoryMiB, model: `model=${q.nic}`, netdevice: 'user,restrict=on', no_kvm: 'True', extra_options: extra };
}

function common(i: JobInput, deviceType: string, context?: Record<string, unknown>): Record<string, unknown> {
  return {
    device_type: deviceType,
    job_name: `reprolab ${i.scenario.name} (${i.scenario.bug}) on ${i.target}`,
    timeouts: { job: { minutes: i.minutes.boot + i.minutes.test + 5 }, action: { minutes: Math.max(i.minutes.boot, i.minutes.test) }, connection: { minutes: 2 } },
    priority: 'medium',
    visibility: 'public',
    metadata: i.metadata,
    ...(context ? { context } : {}),
  };
}

function testAction(i: JobInput): Record<string, unknown> {
  return { test: { timeout: { minutes: i.minutes.test }, definitions: [i.test] } };
}

/** A job for LAVA's qemu device type: the bundle's kernel (and dtb) and the ramdisk, booted as the lab boots it. */
export function qemuJob(i: JobInput): Record<string, unknown> {
  const m = i.manifest;
  const rd = ramdiskBoot(m, i.artifacts.ramdiskBytes);
  const cmdline = [checkedCmdline(m), 'panic=1', ...rd.cmdline].join(' ');
  const images: Record<string, unknown> = {
    kernel: { image_arg: `-kernel {kernel} -append "${cmdline}"`, url: i.artifacts.kernel },
    ...(i.artifacts.dtb ? { dtb: { image_arg: '-dtb {dtb}', url: i.artifacts.dtb } } : {}),
    initrd: { image_arg: rd.imageArg, url: i.artifacts.ramdisk, compression: 'gz', format: 'cpio.newc', overlays: { lava: true } },
  };
  return {
    ...common(i, 'qemu', qemuContext(m)),
    actions: [
      { deploy: { timeout: { minutes: 3 }, to: 'tmpfs', os: 'oe', images } },
      { boot: { timeout: { minutes: i.minutes.boot }, method: 'qemu', media: 'tmpfs', prompts: ['/ # '] } },
      testAction(i),
    ],
  };
}

/**
 * A job for a real board booted by u-boot: its own kernel and dtb over TFTP (the bundle's kernel is for
 * QEMU's machine), the lab's userland of the same architecture as a ramdisk LAVA adds its overlay to,
 * the board's bootargs from its device type (root=/dev/ram0 is ignored: the ramdisk has /init).
 */
export function boardJob(i: JobInput, deviceType: string): Record<string, unknown> {
  return {
    ...common(i, deviceType),
    // What is the board's and not the lab's, for the person who submits it (metadata shows on the server).
    metadata: {
      ...i.metadata,
      'reprolab.board-kernel': `the board's own kernel (zImage) and dtb over TFTP: it needs CONFIG_DUMMY, IPv6, CONFIG_UNIX, CONFIG_INET_DIAG and CONFIG_UNIX_DIAG, initramfs with gzip, and the console the device type names`,
      'reprolab.board-rootfs': `the lab's ${i.manifest.arch} userland of ${i.target} as the ramdisk (/init starts a shell on the console; bootargs root=/dev/ram0 is ignored)`,
      'reprolab.board-device': `power, serial and TFTP come from the farm's device dictionary for ${deviceType}`,
    },
    actions: [
      { deploy: { timeout: { minutes: 5 }, to: 'tftp', os: 'oe', kernel: { url: i.artifacts.kernel, type: 'zimage' }, ...(i.artifacts.dtb ? { dtb: { url: i.artifacts.dtb } } : {}), ramdisk: { url: i.artifacts.ramdisk, compression: 'gz' } } },
      { boot: { timeout: { minutes: i.minutes.boot }, method: 'u-boot', commands: 'ramdisk', prompts: ['/ # '] } },
      testAction(i),
    ],
  };
}

/** What the lab reads back from a job file (one it exported, handed back: untrusted). */
export interface JobFacts {
  deviceType: string;
  /** context.memory, else 256 (qemu.jinja2 needs one; a board's dictionary ignores it). */
  memory: number;
  /** timeouts.job.minutes, else 30. */
  jobMinutes: number;
  /** The cell its metadata names, when it was written by `lava export`. */
  cell?: { target: string; scenario: string; roles: ('unpatched' | 'patched')[]; repeats: number; expected: string };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The reprolab.* metadata of a job, each field checked; undefined when the job has none. */
function jobCell(file: string, meta: Record<string, unknown> | undefined): JobFacts['cell'] {
  if (!meta || meta['reprolab.target'] === undefined) return undefined;
  const [target, scenario, variants, repeats, expected] = ['target', 'scenario', 'variants', 'repeats', 'expected'].map((k) => meta[`reprolab.${k}`]);
  const bad = (field: string) => new UsageError(`${file}: metadata.reprolab.${field} is not what lava export writes`, { fix: 'export the job again' });
  if (typeof target !== 'string' || !NAME.test(target)) throw bad('target');
  if (typeof scenario !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(scenario)) throw bad('scenario');
  if (typeof variants !== 'string') throw bad('variants');
  const roles = variants.split(' ').map((v) => v.split(':')[0]);
  if (!roles.length || roles.some((r) => r !== 'unpatched' && r !== 'patched')) throw bad('variants');
  const n = Number(repeats);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw bad('repeats');
  if (typeof expected !== 'string' || (expected !== '' && !(VERDICTS as readonly string[]).includes(expected))) throw bad('expected');
  return { target, scenario, roles: roles as ('unpatched' | 'patched')[], repeats: n, expected };
}

/** A job file read back: its device type, memory, bound and cell, each field checked (exit 2 naming it). */
export async function readJob(file: string): Promise<JobFacts> {
  const doc = untrustedYaml(file, await fs.readFile(file, 'utf8'), 'pass a job written by reprolab lava export');
  const job = (doc && typeof doc === 'object' ? doc : {}) as { device_type?: unknown; context?: { memory?: unknown }; timeouts?: { job?: { minutes?: unknown } }; metadata?: Record<string, unknown> };
  if (typeof job.device_type !== 'string' || !NAME.test(job.device_type)) throw new UsageError(`${file}: device_type must be a LAVA device type's name`, { fix: 'export the job again' });
  const memory = job.context?.memory;
  const minutes = job.timeouts?.job?.minutes;
  const cell = jobCell(file, job.metadata && typeof job.metadata === 'object' ? job.metadata : undefined);
  return {
    deviceType: job.device_type,
    memory: typeof memory === 'number' && Number.isInteger(memory) && memory > 0 && memory <= 65536 ? memory : 256,
    jobMinutes: typeof minutes === 'number' && minutes > 0 && minutes <= 24 * 60 ? minutes : 30,
    ...(cell ? { cell } : {}),
  };
}
