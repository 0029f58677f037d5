import { LabError } from '../util/errors.ts';
import { Scope } from '../util/lifetime.ts';
import { createInterfaces, holdSockets, readNetTruth, readSocketTruth, settledNetTruth, removeInterfaces, triggerUevents, type HeldSockets, type InterfacesResult } from './guest-ops.ts';
import { fabricSteps, type FabricSpec, type FabricStep } from './fabric-plan.ts';
import { summarize, type NetTruth, type SocketTruth } from './truth.ts';
import { runUsbBurst, type BurstResult, type UsbGuest } from './usb-burst.ts';

export type { FabricSpec } from './fabric-plan.ts';

/** What building a fabric needs of a guest: its shell, and what a USB burst needs (QMP, the console). */
export type FabricGuest = UsbGuest;

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

/** What the steps so far have set up, and how to undo it. */
interface Building {
  guest: FabricGuest;
  scope: Scope;
  spec: FabricSpec;
  interfaces?: FabricReport['interfaces'];
  held?: HeldSockets;
  report?: FabricReport;
}

/**
 * The steps of fabricSteps(spec), in order. An error in any step undoes what
 * the earlier steps set up in the guest (interfaces removed, sockets released)
 * before it propagates.
 */
export async function buildFabric(guest: FabricGuest, spec: FabricSpec): Promise<Fabric> {
  await using scope = new Scope();
  const b: Building = { guest, scope, spec };
  for (const step of fabricSteps(spec)) await applyStep(b, step);
  // Built: from here the caller owns the teardown.
  scope.release();
  const { held, interfaces } = b;
  const teardown = async () => {
    await held?.release();
    if (interfaces) await removeInterfaces(guest);
  };
  return { report: b.report!, ...(held ? { sockets: held } : {}), teardown, [Symbol.asyncDispose]: teardown };
}

async function applyStep(b: Building, s: FabricStep): Promise<void> {
  const { guest, scope } = b;
  switch (s.step) {
    case 'links': {
      // Registered before creating: a helper that fails half way has still made some links.
      scope.defer(() => removeInterfaces(guest));
      const r = await createInterfaces(guest, s.plan);
      b.interfaces = { ...r, requested: b.spec.interfaces!, planned: { links: s.plan.links, addresses: s.plan.addresses } };
      return;
    }
    case 'sockets': {
      const held = await holdSockets(guest, s.sockets);
      b.held = held;
      scope.defer(() => held.release());
      return;
    }
    case 'truth': {
      // The truth must not move under a probe.
      const truth = s.settle ? await settledNetTruth(guest) : await readNetTruth(guest);
      b.report = { ...(b.interfaces ? { interfaces: b.interfaces } : {}), net: { ...truth, counts: summarize(truth) } };
      if (b.held) b.report.sockets = { held: b.held.held, total: b.held.total, wallMs: b.held.wallMs, truth: await readSocketTruth(guest) };
      return;
    }
    case 'usb-burst': {
      const burst = await runUsbBurst(guest, s.burst, { burstId: `${process.pid}-${++burstCounter}` });
      if (burst.leftover.length) throw new LabError(`USB devices left attached after the burst: ${burst.leftover.join(', ')}`);
      b.report!.usb = burst;
      return;
    }
    case 'uevent-trigger': {
      const t = await triggerUevents(guest, s.count);
      b.report!.trigger = { count: s.count, seqnumDelta: t.after - t.before, wallMs: t.wallMs };
      return;
    }
  }
}
