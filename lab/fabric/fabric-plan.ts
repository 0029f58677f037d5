import type { SocketSpec } from './guest-ops.ts';
import { INTERFACE_KINDS, planInterfaces, type InterfaceKind, type InterfacePlan } from './interfaces.ts';
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

/**
 * One step of building a fabric, as data. The live lab runs them over SSH
 * (fabric.ts), a repro pack renders them as sh (workflows/repro/guest-script.ts);
 * this list is the one place their order is decided.
 */
export type FabricStep =
  | { step: 'links'; plan: InterfacePlan }
  | { step: 'sockets'; sockets: SocketSpec[] }
  /** The ground truth after the links and sockets; `settle`: read until it holds still (new links' IPv6 link-local addresses come late). */
  | { step: 'truth'; settle: boolean }
  | { step: 'usb-burst'; burst: BurstSpec }
  | { step: 'uevent-trigger'; count: number };

/** interfaces → sockets (held) → ground truth → USB burst → in-guest trigger. */
export function fabricSteps(spec: FabricSpec): FabricStep[] {
  const links = spec.interfaces !== undefined && spec.interfaces > 0;
  return [
    ...(links ? [{ step: 'links' as const, plan: planInterfaces(spec.interfaces!, spec.kinds ?? INTERFACE_KINDS) }] : []),
    ...(spec.sockets?.length ? [{ step: 'sockets' as const, sockets: spec.sockets }] : []),
    { step: 'truth', settle: links },
    ...(spec.usbBurst ? [{ step: 'usb-burst' as const, burst: spec.usbBurst }] : []),
    ...(spec.ueventTrigger ? [{ step: 'uevent-trigger' as const, count: spec.ueventTrigger }] : []),
  ];
}
