import { LabError, UsageError } from '../util/errors.ts';

/** USB devices the lab hotplugs, by the short name used on the command line. */
export const USB_KINDS = { kbd: 'usb-kbd', mouse: 'usb-mouse', storage: 'usb-storage', net: 'usb-net' } as const;
export type UsbKind = keyof typeof USB_KINDS;

export type BurstPattern = 'add-remove' | 'interleaved';

/** add-remove only: how long attached devices stay before the removals start. */
export type BurstHold = { ms: number } | 'enumerated';

export interface BurstSpec {
  kinds: UsbKind[];
  count: number;
  intervalMs: number;
  pattern: BurstPattern;
  hold: BurstHold;
}

export type BurstStep =
  | {
      op: 'add' | 'del';
      id: string;
      kind: UsbKind;
      /** Planned start, from the start of the burst (holds until enumeration count as 0). */
      atMs: number;
    }
  /** Wait `ms`, or until the guest has logged `connects` USB connects since the burst started. */
  | { op: 'hold'; ms?: number; connects?: number; atMs: number };

const SPEC_HELP =
  'write KINDS:COUNT[@INTERVALms][+HOLD][/PATTERN], e.g. kbd,storage:10@50ms, kbd:10@50ms+enum (hold until the guest enumerated them), mouse:4@0ms+2000ms or mouse:20@0ms/interleaved; kinds: ' +
  Object.keys(USB_KINDS).join(', ') +
  '; patterns: add-remove, interleaved';

/** Parses "kbd,storage:10@50ms+enum/add-remove". */
export function parseBurst(text: string): BurstSpec {
  const m = /^([a-z,]+):(\d+)(?:@(\d+)ms)?(?:\+(enum|\d+ms))?(?:\/(add-remove|interleaved))?$/.exec(text.trim());
  if (!m) throw new UsageError(`bad USB burst "${text}"`, { fix: SPEC_HELP });
  const kinds = m[1]!.split(',').filter(Boolean);
  for (const k of kinds) if (!(k in USB_KINDS)) throw new UsageError(`unknown USB device kind "${k}" in burst "${text}"`, { fix: SPEC_HELP });
  const count = Number(m[2]);
  if (count < 1 || count > 1000) throw new UsageError(`USB burst count ${count} is out of range`, { fix: 'give 1 to 1000 devices' });
  const pattern = (m[5] as BurstPattern | undefined) ?? 'add-remove';
  if (m[4] && pattern === 'interleaved') throw new UsageError(`USB burst "${text}": a hold applies to add-remove bursts only`, { fix: SPEC_HELP });
  const hold: BurstHold = m[4] === 'enum' ? 'enumerated' : { ms: m[4] ? Number(m[4].slice(0, -2)) : 0 };
  return { kinds: kinds as UsbKind[], count, intervalMs: m[3] === undefined ? 100 : Number(m[3]), pattern, hold };
}

export function formatBurst(spec: BurstSpec): string {
  const hold = spec.hold === 'enumerated' ? '+enum' : spec.hold.ms ? `+${spec.hold.ms}ms` : '';
  return `${spec.kinds.join(',')}:${spec.count}@${spec.intervalMs}ms${hold}/${spec.pattern}`;
}

/**
 * The exact sequence of QMP operations. Ids are unique within the burst
 * (`burstId` makes them unique across bursts). Never more than `maxAttached`
 * devices at once: when a controller's root ports run out QEMU adds hubs that
 * outlive device_del, so add-remove bursts larger than the port count go in waves.
 */
export function planBurst(spec: BurstSpec, burstId: string, maxAttached: number): BurstStep[] {
  if (maxAttached < 2) throw new LabError(`a USB burst needs a controller with at least 2 free ports (has ${maxAttached})`);
  const ids = Array.from({ length: spec.count }, (_, i) => ({ id: `rl-usb-${burstId}-${i}`, kind: spec.kinds[i % spec.kinds.length]! }));
  const steps: BurstStep[] = [];
  let at = 0;
  const op = (o: 'add' | 'del', d: { id: string; kind: UsbKind }) => {
    if (steps.some((s) => s.op !== 'hold')) at += spec.intervalMs;
    steps.push({ op: o, ...d, atMs: at });
  };
  if (spec.pattern === 'interleaved') {
    // add 0, add 1, del 0, add 2, del 1, …, del last: at most two attached.
    ids.forEach((d, i) => {
      op('add', d);
      if (i > 0) op('del', ids[i - 1]!);
    });
    op('del', ids[ids.length - 1]!);
  } else {
    for (let start = 0; start < ids.length; start += maxAttached) {
      const wave = ids.slice(start, start + maxAttached);
      for (const d of wave) op('add', d);
      if (spec.hold === 'enumerated') {
        steps.push({ op: 'hold', connects: start + wave.length, atMs: at });
      } else if (spec.hold.ms > 0) {
        steps.push({ op: 'hold', ms: spec.hold.ms, atMs: at });
        at += spec.hold.ms;
      }
      for (const d of wave) op('del', d);
    }
  }
  return steps;
}

/** Root ports of the lab's USB controller, from its -device string (OHCI's default is 3). */
export function controllerPorts(usbDevice: string): number {
  const m = /num-ports=(\d+)/.exec(usbDevice);
  return m ? Number(m[1]) : 3;
}

export interface GuestUsbLog {
  connects: { port: string; number: number; speed: string }[];
  disconnects: { port: string; number: number }[];
  /** Devices a driver bound to, per kind (keyboard/mouse input devices, mass storage, CDC Ethernet). */
  bound: Record<UsbKind, number>;
}

const BOUND: Record<UsbKind, RegExp> = {
  kbd: /input: .*USB Keyboard as /,
  mouse: /input: .*USB Mouse as /,
  storage: /USB Mass Storage device detected/,
  net: / register 'cdc_ether'/, // not "unregister"
};

/** What the guest kernel logged about USB devices (dmesg lines after the burst marker). */
export function parseUsbDmesg(text: string): GuestUsbLog {
  const log: GuestUsbLog = { connects: [], disconnects: [], bound: { kbd: 0, mouse: 0, storage: 0, net: 0 } };
  for (const line of text.split('\n')) {
    let m = /usb (\S+): new (\S+) USB device number (\d+)/.exec(line);
    if (m) {
      log.connects.push({ port: m[1]!, speed: m[2]!, number: Number(m[3]) });
      continue;
    }
    m = /usb (\S+): USB disconnect, (?:device|address) (?:number )?(\d+)/.exec(line);
    if (m) {
      log.disconnects.push({ port: m[1]!, number: Number(m[2]) });
      continue;
    }
    for (const [kind, re] of Object.entries(BOUND)) if (re.test(line)) log.bound[kind as UsbKind]++;
  }
  return log;
}

/** IDs of devices still attached, from HMP `info usb` ("... ID: rl-usb-3-1"). */
export function attachedIds(infoUsb: string): string[] {
  return [...infoUsb.matchAll(/ID: (\S+)/g)].map((m) => m[1]!);
}
