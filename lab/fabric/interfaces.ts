import { LabError } from '../util/errors.ts';

/** Link kinds the fabric can create; each is a kernel rtnl_link_ops kind. */
export const INTERFACE_KINDS = ['dummy', 'vlan', 'macvlan', 'bridge', 'veth'] as const;
export type InterfaceKind = (typeof INTERFACE_KINDS)[number];

/** Every link the fabric creates starts with this, so teardown finds exactly them. */
export const FABRIC_PREFIX = 'rlf';

export interface InterfaceSpec {
  kind: InterfaceKind;
  name: string;
  /** vlan and macvlan sit on a parent (the guest's eth0). */
  parent?: string;
  vlanId?: number;
  /** veth: the other end, a second link. */
  peer?: string;
  addresses: string[];
}

export interface InterfacePlan {
  specs: InterfaceSpec[];
  /** Links the plan adds (a veth pair counts twice). */
  links: number;
  addresses: number;
}

export const MAX_INTERFACES = 1024;

/** A whole number from 0 to MAX_INTERFACES, or an error saying so. */
export function checkInterfaceCount(count: number): number {
  if (!Number.isInteger(count) || count < 0 || count > MAX_INTERFACES) {
    throw new LabError(`interface count ${count} is out of range`, { fix: `give a whole number from 0 to ${MAX_INTERFACES}` });
  }
  return count;
}

/**
 * N links of mixed kinds, cycling through `kinds`, each with one IPv4 and one
 * IPv6 address. A veth pair is two links; when only one link is left it
 * becomes a dummy so the count is exact.
 */
export function planInterfaces(count: number, kinds: readonly InterfaceKind[] = INTERFACE_KINDS, parent = 'eth0'): InterfacePlan {
  checkInterfaceCount(count);
  if (kinds.length === 0) throw new LabError('no interface kinds given', { fix: `use some of: ${INTERFACE_KINDS.join(', ')}` });
  const specs: InterfaceSpec[] = [];
  let links = 0;
  for (let i = 0; links < count; i++) {
    let kind = kinds[i % kinds.length]!;
    if (kind === 'veth' && count - links < 2) kind = kinds.find((k) => k !== 'veth') ?? 'dummy';
    const n = specs.length;
    // 10.200.0.0/16 and fd00:200::/32 are far from QEMU's 10.0.2.0/24; the IPv6 group starts at 1 so the text is canonical.
    const addresses = [`10.200.${n % 256}.${1 + Math.floor(n / 256)}/24`, `fd00:200:${(n + 1).toString(16)}::1/64`];
    const name = `${FABRIC_PREFIX}${n}`;
    const spec: InterfaceSpec = { kind, name, addresses };
    if (kind === 'vlan') Object.assign(spec, { parent, vlanId: 100 + n });
    if (kind === 'macvlan') spec.parent = parent;
    if (kind === 'veth') spec.peer = `${name}p`;
    specs.push(spec);
    links += kind === 'veth' ? 2 : 1;
  }
  return { specs, links, addresses: specs.reduce((a, s) => a + s.addresses.length, 0) };
}

/** The rl-fabric links-add input: one line per link. */
export function specLines(plan: InterfacePlan): string {
  return plan.specs
    .map((s) =>
      [
        s.kind,
        s.name,
        ...(s.parent ? [`parent=${s.parent}`] : []),
        ...(s.vlanId !== undefined ? [`id=${s.vlanId}`] : []),
        ...(s.peer ? [`peer=${s.peer}`] : []),
        ...s.addresses.map((a) => `addr=${a}`),
      ].join(' '),
    )
    .join('\n')
    .concat('\n');
}

export function parseKinds(text: string): InterfaceKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) {
    if (!(INTERFACE_KINDS as readonly string[]).includes(k)) {
      throw new LabError(`unknown interface kind "${k}"`, { fix: `use some of: ${INTERFACE_KINDS.join(', ')}` });
    }
  }
  return kinds as InterfaceKind[];
}
