import type { Guest } from '../guest/guest.ts';
import { LabError } from '../util/errors.ts';
import { Scope } from '../util/lifetime.ts';
import { createInterfaces, holdSockets, readNetTruth, readSocketTruth, settledNetTruth, removeInterfaces, triggerUevents, type HeldSockets, type InterfacesResult, type SocketSpec } from './guest-ops.ts';
import { planInterfaces, INTERFACE_KINDS, type InterfaceKind } from './interfaces.ts';
import { summarize, type NetTruth, type SocketTruth } from './truth.ts';
import { runUsbBurst, type BurstResult } from './usb-burst.ts';
import type { BurstSpec } from './usb-plan.ts';

/** The conditions of the field a scenario (or `reprolab fabric`) asks for. */
export interface FabricSpec {
  interfaces?: number;
  kinds?: InterfaceKind[];
  usbBurst?: BurstSpec;
  sockets?: SocketSpec[];
  /** In-guest uevent trigger: this many `add` writes to a sysfs uevent file. */
  ueventTrigger?: number;
}

/** What the fabric built and what the kernel then reported, as data. */
export interface FabricReport {
  interfaces?: InterfacesResult & { requested: number; planned: { links: number; addresses: number } };
  net: NetTruth & { counts: { links: number; inet: number; inet6: number } };
  usb?: BurstResult;
  trigger?: { count: number; seqnumDelta: number; wallMs: number };
  sockets?: { held: HeldSockets['held']; total: number; wallMs: number; truth: SocketTruth };
}

/** A fabric in place: its report, and how to take it down again. */
export interface Fabric extends AsyncDisposable {
  report: FabricReport;
  sockets?: HeldSockets;
  teardown(): Promise<void>;
}

let burstCounter = 0;

/**
 * interfaces → sockets (held) → ground truth → USB burst → in-guest trigger.
 * An error in any step undoes what the earlier steps set up in the guest
 * (interfaces removed, sockets released) before it propagates.
 */
export async function buildFabric(guest: Guest, spec: FabricSpec): Promise<Fabric> {
  await using scope = new Scope();
  let interfaces: FabricReport['interfaces'];
  if (spec.interfaces !== undefined && spec.interfaces > 0) {
    const plan = planInterfaces(spec.interfaces, spec.kinds ?? INTERFACE_KINDS);
    // Registered before creating: a helper that fails half way has still made some links.
    scope.defer(() => removeInterfaces(guest));
    const r = await createInterfaces(guest, plan);
    interfaces = { ...r, requested: spec.interfaces, planned: { links: plan.links, addresses: plan.addresses } };
  }
  let held: HeldSockets | undefined;
  if (spec.sockets?.length) {
    held = await holdSockets(guest, spec.sockets);
    scope.defer(() => held!.release());
  }
  // After new links, wait for their IPv6 link-local addresses: the truth must not move under a probe.
  const truth = interfaces ? await settledNetTruth(guest) : await readNetTruth(guest);
  const report: FabricReport = { ...(interfaces ? { interfaces } : {}), net: { ...truth, counts: summarize(truth) } };
  if (held) report.sockets = { held: held.held, total: held.total, wallMs: held.wallMs, truth: await readSocketTruth(guest) };
  if (spec.usbBurst) {
    const burst = await runUsbBurst(guest, spec.usbBurst, { burstId: `${process.pid}-${++burstCounter}` });
    if (burst.leftover.length) throw new LabError(`USB devices left attached after the burst: ${burst.leftover.join(', ')}`);
    report.usb = burst;
  }
  if (spec.ueventTrigger) {
    const t = await triggerUevents(guest, spec.ueventTrigger);
    report.trigger = { count: spec.ueventTrigger, seqnumDelta: t.after - t.before, wallMs: t.wallMs };
  }
  // Built: from here the caller owns the teardown.
  scope.release();
  const teardown = async () => {
    await held?.release();
    if (interfaces) await removeInterfaces(guest);
  };
  return { report, ...(held ? { sockets: held } : {}), teardown, [Symbol.asyncDispose]: teardown };
}
