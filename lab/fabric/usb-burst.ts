import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { GuestShell } from '../guest/guest.ts';
import type { BundleManifest } from '../model/manifest.ts';
import type { ConsoleStream } from '../qemu/console-stream.ts';
import type { QmpClient } from '../qemu/qmp.ts';
import type { Vm } from '../qemu/vm.ts';
import { LabError } from '../util/errors.ts';
import { sleep } from '../util/lifetime.ts';
import { readSeqnum } from './guest-ops.ts';
import { attachedIds, controllerPorts, formatBurst, parseUsbDmesg, planBurst, USB_KINDS, type BurstSpec, type BurstStep, type GuestUsbLog } from './usb-plan.ts';
import { timeout } from '../util/timeouts.ts';

export interface BurstResult {
  spec: string;
  steps: number;
  /** Host side: every device_add and device_del went through, each removal confirmed by DEVICE_DELETED. */
  added: number;
  removed: number;
  /** Planned vs actual time of the last QMP operation (QMP latency shows here). */
  plannedMs: number;
  burstMs: number;
  /** Time spent holding devices attached (a fixed hold, or until the guest enumerated them). */
  heldMs: number;
  /** A hold until enumeration gave up: the guest never logged every device. */
  enumerationTimedOut: boolean;
  /** From the end of the burst until the guest's uevent counter stopped moving. */
  settleMs: number;
  /** True when the counter was still moving at the settle timeout. */
  settleTimedOut: boolean;
  seqnumBefore: number;
  seqnumAfter: number;
  /** What the guest kernel logged: it can be fewer than `added` when a device left before it was enumerated. */
  guest: GuestUsbLog;
  /** Devices added that the guest never logged as connected (added - guest connects). */
  notEnumerated: number;
  /** Devices of ours still attached after the burst: must be empty. */
  leftover: string[];
}

const BUS = 'usbhc.0';

/** What a USB burst does over QMP: commands, and the DEVICE_DELETED events that confirm a removal. */
export type UsbQmp = Pick<QmpClient, 'execute' | 'events' | 'waitForEvent'>;

/** What a USB burst needs of a guest: a shell, QMP for the hotplug, the console and its log for what the kernel enumerated. */
export type UsbGuest = GuestShell & {
  readonly qmp: UsbQmp;
  readonly consoleLog: string;
  readonly manifest: { qemu: Pick<BundleManifest['qemu'], 'usb'> };
  readonly vm: Pick<Vm, 'running'> & { readonly console: Pick<ConsoleStream, 'textSince'> };
};

/** Runs a burst of real hotplug through QMP on the lab's USB controller and reads back what the guest saw. */
export async function runUsbBurst(guest: UsbGuest, spec: BurstSpec, opts: { burstId: string; settleTimeoutMs?: number; quietMs?: number; enumerationTimeoutMs?: number }): Promise<BurstResult> {
  if (!/^[A-Za-z0-9-]+$/.test(opts.burstId)) throw new LabError(`bad burst id "${opts.burstId}": letters, digits and - only`);
  const qmp = guest.qmp;
  const plan = planBurst(spec, opts.burstId, controllerPorts(guest.manifest.qemu.usb));
  const workDir = path.join(path.dirname(guest.consoleLog), `usb-${opts.burstId}`);
  await fs.mkdir(workDir, { recursive: true });
  const image = path.join(workDir, 'disk.img');
  if (spec.kinds.includes('storage')) {
    // A small sparse disk shared read-only by every storage device of the burst.
    const fh = await fs.open(image, 'w');
    await fh.truncate(1024 * 1024);
    await fh.close();
  }
  const marker = `reprolab-burst ${opts.burstId} start`;
  await guest.exec(['sh', '-c', `echo ${marker} > /dev/kmsg`], { timeoutMs: timeout('guestRead') });
  const seqnumBefore = await readSeqnum(guest, timeout('guestRead'));

  const start = Date.now();
  const { added, removed, heldMs, enumerationTimedOut } = await hotplug(guest, plan, image, marker, opts.enumerationTimeoutMs ?? timeout('usbEnumeration'));
  const burstMs = Date.now() - start;

  const settle = await waitForQuiet(guest, marker, seqnumBefore, opts.quietMs ?? 1500, opts.settleTimeoutMs ?? timeout('usbSettle'));
  const dmesg = await guest.exec(['sh', '-c', `dmesg | sed -n '/${marker}/,$p'`], { timeoutMs: timeout('guestRead') });
  if (!dmesg.stdout.includes(marker)) throw new LabError(`the guest's kernel log lost the burst marker (ring buffer too small for this burst?)`);
  const guestLog = parseUsbDmesg(dmesg.stdout);
  const info = (await qmp.execute<string>('human-monitor-command', { 'command-line': 'info usb' })) ?? '';
  const leftover = attachedIds(info).filter((id) => id.startsWith('rl-usb-'));
  await fs.rm(workDir, { recursive: true, force: true });
  return {
    spec: formatBurst(spec),
    steps: plan.filter((p) => p.op !== 'hold').length,
    added,
    removed,
    plannedMs: plan.at(-1)?.atMs ?? 0,
    burstMs,
    heldMs,
    enumerationTimedOut,
    settleMs: settle.ms,
    settleTimedOut: settle.timedOut,
    seqnumBefore,
    seqnumAfter: settle.seqnum,
    guest: guestLog,
    notEnumerated: Math.max(0, added - guestLog.connects.length),
    leftover,
  };
}

/** The QMP part of a burst: a burst that fails half way leaves nothing attached (what it added, it removes). */
async function hotplug(guest: UsbGuest, plan: BurstStep[], image: string, marker: string, enumerationTimeoutMs: number) {
  await using devices = new AttachedDevices(guest, image);
  const held = await playBurst(guest, plan, devices, marker, enumerationTimeoutMs);
  await devices.confirmRemovals();
  return { ...held, added: devices.added, removed: devices.removed };
}

/** Steps through the plan on time; a hold until enumeration shifts the later steps by as long as it took. */
async function playBurst(guest: UsbGuest, plan: BurstStep[], devices: AttachedDevices, marker: string, enumerationTimeoutMs: number): Promise<{ heldMs: number; enumerationTimedOut: boolean }> {
  const start = Date.now();
  let shift = 0;
  let heldMs = 0;
  let enumerationTimedOut = false;
  for (const step of plan) {
    const wait = start + shift + step.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (step.op === 'hold') {
      const t = Date.now();
      if (step.ms !== undefined) await sleep(step.ms);
      if (step.connects !== undefined) {
        enumerationTimedOut = !(await waitForConnects(guest, marker, step.connects, enumerationTimeoutMs));
        shift = Date.now() - start - step.atMs;
      }
      heldMs += Date.now() - t;
    } else if (step.op === 'add') {
      await devices.add(step);
    } else {
      await devices.remove(step.id);
    }
  }
  return { heldMs, enumerationTimedOut };
}

/**
 * The burst's devices and their backends while it runs. Every removal's
 * DEVICE_DELETED wait is settled at once with both handlers: one that times out
 * while a later wave is held is recorded, never left as an unhandled rejection
 * (which would end the whole lab). Disposal removes what is still attached,
 * waits for the removals, then deletes the backends (one in use cannot go).
 */
class AttachedDevices implements AsyncDisposable {
  added = 0;
  removed = 0;
  private readonly attached = new Set<string>();
  private readonly deletions: Promise<void>[] = [];
  /** Removals the guest never confirmed (DEVICE_DELETED did not come). */
  private readonly lost: string[] = [];
  private readonly backends: (() => Promise<unknown>)[] = [];

  constructor(
    private readonly guest: UsbGuest,
    private readonly image: string,
  ) {}

  async add(step: Extract<BurstStep, { op: 'add' | 'del' }>): Promise<void> {
    await addDevice(this.guest, step, this.image, this.backends);
    this.attached.add(step.id);
    this.added++;
  }

  remove(id: string): Promise<unknown> {
    const qmp = this.guest.qmp;
    this.attached.delete(id);
    const since = qmp.events.length;
    this.deletions.push(
      qmp.waitForEvent('DEVICE_DELETED', (e) => e.data?.['device'] === id, timeout('usbDeviceDeleted'), since).then(
        () => void this.removed++,
        (err: unknown) => void this.lost.push(`${id}: ${(err as Error).message}`),
      ),
    );
    return qmp.execute('device_del', { id });
  }

  /** Waits for every removal so far; the burst fails with the first one the guest never confirmed. */
  async confirmRemovals(): Promise<void> {
    await Promise.all(this.deletions);
    if (this.lost.length) throw new LabError(`the guest did not confirm the removal of ${this.lost.length} USB device(s): ${this.lost[0]}`, { logPath: this.guest.consoleLog });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const id of [...this.attached]) await this.remove(id).catch(() => undefined);
    await Promise.all(this.deletions);
    for (const b of this.backends) await b().catch(() => undefined);
  }
}

async function addDevice(guest: UsbGuest, step: Extract<BurstStep, { op: 'add' | 'del' }>, image: string, cleanups: (() => Promise<unknown>)[]): Promise<void> {
  const qmp = guest.qmp;
  const args: Record<string, unknown> = { driver: USB_KINDS[step.kind], id: step.id, bus: BUS };
  if (step.kind === 'storage') {
    // QEMU caps block node names at 31 characters; device ids carry the burst id and can be longer (--repeat 10 was).
    const node = `rl${createHash('sha256').update(step.id).digest('hex').slice(0, 16)}`;
    await qmp.execute('blockdev-add', { driver: 'raw', 'node-name': node, 'read-only': true, file: { driver: 'file', filename: image, 'read-only': true } });
    cleanups.push(() => qmp.execute('blockdev-del', { 'node-name': node }));
    args['drive'] = node;
  } else if (step.kind === 'net') {
    const netdev = `${step.id}-net`;
    await qmp.execute('netdev_add', { type: 'user', id: netdev, restrict: true });
    cleanups.push(() => qmp.execute('netdev_del', { id: netdev }));
    args['netdev'] = netdev;
  }
  try {
    await qmp.execute('device_add', args);
  } catch (err) {
    throw new LabError(`QMP device_add ${USB_KINDS[step.kind]} (${step.id}) failed: ${(err as Error).message}`, { cause: err });
  }
}

/** The kernel log since the burst marker, from the VM's one console stream. */
function consoleSinceMarker(guest: UsbGuest, marker: string): string {
  return guest.vm.console.textSince(marker);
}

/**
 * Waits until the console shows `connects` USB connects after the marker. It
 * reads the console log on the host and sends nothing to the guest: on malta
 * the NIC shares its interrupt with the USB controller, and SSH polling during
 * enumeration froze a 3.10 guest in about half the bursts.
 */
async function waitForConnects(guest: UsbGuest, marker: string, connects: number, timeoutMs: number, stallMs = timeout('usbEnumerationStall')): Promise<boolean> {
  const t0 = Date.now();
  let seen = -1;
  let progressAt = t0;
  for (;;) {
    const now = parseUsbDmesg(consoleSinceMarker(guest, marker)).connects.length;
    if (now >= connects) return true;
    if (now !== seen) [seen, progressAt] = [now, Date.now()];
    // A guest enumerates a device every 0.5–1 s on TCG; 20 s without one more is a stalled hub, not a slow one.
    if (Date.now() - t0 >= timeoutMs || Date.now() - progressAt >= stallMs || !guest.vm.running) return false;
    await sleep(200);
  }
}

/**
 * After the last removal: waits (on the console, quietly) until every enumerated
 * device has been logged as disconnected and the console has been still for
 * `quietMs`; then reads the uevent counter until it too has stopped moving.
 */
async function waitForQuiet(guest: UsbGuest, marker: string, from: number, quietMs: number, timeoutMs: number): Promise<{ seqnum: number; ms: number; timedOut: boolean }> {
  const t0 = Date.now();
  let lastText = '';
  let lastChange = t0;
  for (;;) {
    const text = consoleSinceMarker(guest, marker);
    if (text.length !== lastText.length) {
      lastText = text;
      lastChange = Date.now();
    }
    const log = parseUsbDmesg(text);
    const gone = log.disconnects.length >= log.connects.length;
    if (gone && Date.now() - lastChange >= quietMs) break;
    if (Date.now() - t0 >= timeoutMs || !guest.vm.running) return { seqnum: await readSeqnum(guest, timeout('guestRead')), ms: Date.now() - t0, timedOut: true };
    await sleep(200);
  }
  let last = await readSeqnum(guest, timeout('guestRead'));
  if (last === from) return { seqnum: last, ms: Date.now() - t0, timedOut: false };
  for (;;) {
    await sleep(quietMs / 2);
    const now = await readSeqnum(guest, timeout('guestRead'));
    if (now === last) return { seqnum: now, ms: Date.now() - t0, timedOut: false };
    last = now;
    if (Date.now() - t0 >= timeoutMs) return { seqnum: now, ms: Date.now() - t0, timedOut: true };
  }
}
