import { describe, expect, it } from 'vitest';
import { parseSockets } from '../../../lab/fabric/guest-ops.ts';
import { planInterfaces, parseKinds, specLines } from '../../../lab/fabric/interfaces.ts';
import { netTruth, parseFabricLine, parseProcNetCounts } from '../../../lab/fabric/truth.ts';
import { attachedIds, controllerPorts, formatBurst, parseBurst, parseUsbDmesg, planBurst, type BurstStep } from '../../../lab/fabric/usb-plan.ts';

describe('interface planning', () => {
  it('makes exactly N links of mixed kinds, counting a veth pair twice', () => {
    for (const n of [0, 1, 2, 5, 6, 40, 41, 128]) {
      const plan = planInterfaces(n);
      expect(plan.links).toBe(n);
      expect(plan.specs.reduce((a, s) => a + (s.kind === 'veth' ? 2 : 1), 0)).toBe(n);
    }
    const kinds = new Set(planInterfaces(40).specs.map((s) => s.kind));
    expect([...kinds].sort()).toEqual(['bridge', 'dummy', 'macvlan', 'veth', 'vlan']);
  });

  it('gives every link unique names, VLAN ids and addresses', () => {
    const plan = planInterfaces(300);
    const names = plan.specs.flatMap((s) => [s.name, ...(s.peer ? [s.peer] : [])]);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n.length <= 15)).toBe(true);
    const addrs = plan.specs.flatMap((s) => s.addresses);
    expect(new Set(addrs).size).toBe(addrs.length);
    const vlans = plan.specs.filter((s) => s.kind === 'vlan').map((s) => s.vlanId);
    expect(new Set(vlans).size).toBe(vlans.length);
  });

  it('ends on a dummy when a veth pair would overshoot, even with veth only', () => {
    expect(planInterfaces(3, ['veth']).specs.map((s) => s.kind)).toEqual(['veth', 'dummy']);
  });

  it('writes the helper input one line per link', () => {
    const text = specLines(planInterfaces(6));
    expect(text.split('\n')[1]).toBe('vlan rlf1 parent=eth0 id=101 addr=10.200.1.1/24 addr=fd00:200:2::1/64');
    expect(text).toContain('veth rlf4 peer=rlf4p addr=');
  });

  it('rejects bad counts and kinds with a fix', () => {
    expect(() => planInterfaces(-1)).toThrow(/out of range/);
    expect(() => planInterfaces(2.5)).toThrow(/out of range/);
    expect(() => parseKinds('dummy,wifi')).toThrow(/unknown interface kind "wifi"/);
  });
});

describe('USB bursts', () => {
  it('parses the command-line shape', () => {
    expect(parseBurst('kbd,storage:10@50ms')).toEqual({ kinds: ['kbd', 'storage'], count: 10, intervalMs: 50, pattern: 'add-remove', hold: { ms: 0 } });
    expect(parseBurst('mouse:3+enum').hold).toBe('enumerated');
    expect(parseBurst('net:2@0ms+1500ms').hold).toEqual({ ms: 1500 });
    expect(parseBurst('mouse:20@0ms/interleaved').pattern).toBe('interleaved');
    expect(formatBurst(parseBurst('kbd:4@10ms+enum'))).toBe('kbd:4@10ms+enum/add-remove');
    expect(() => parseBurst('kbd:10@50')).toThrow(/bad USB burst/);
    expect(() => parseBurst('camera:1')).toThrow(/unknown USB device kind "camera"/);
    expect(() => parseBurst('kbd:0')).toThrow(/out of range/);
    expect(() => parseBurst('kbd:4+enum/interleaved')).toThrow(/add-remove bursts only/);
  });

  const attachedOverTime = (steps: BurstStep[]) => {
    const on = new Set<string>();
    let max = 0;
    for (const s of steps) {
      if (s.op === 'add') on.add(s.id);
      if (s.op === 'del') on.delete(s.id);
      max = Math.max(max, on.size);
    }
    return { max, left: on.size };
  };

  it('removes every device it adds, with unique ids, and never exceeds the ports', () => {
    const steps = planBurst(parseBurst('kbd,mouse:40@5ms'), 'b1', 15);
    const adds = steps.filter((s) => s.op === 'add');
    expect(adds).toHaveLength(40);
    expect(new Set(adds.map((s) => s.op !== 'hold' && s.id)).size).toBe(40);
    expect(attachedOverTime(steps)).toEqual({ max: 15, left: 0 });
  });

  it('interleaves with at most two attached and keeps the interval', () => {
    const steps = planBurst(parseBurst('kbd:5@20ms/interleaved'), 'b2', 15);
    expect(steps.map((s) => s.op).join(' ')).toBe('add add del add del add del add del del');
    expect(attachedOverTime(steps)).toEqual({ max: 2, left: 0 });
    expect(steps.map((s) => s.atMs)).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);
  });

  it('holds each wave until the guest has enumerated it', () => {
    const steps = planBurst(parseBurst('kbd:20@10ms+enum'), 'b3', 15);
    expect(steps.filter((s) => s.op === 'hold').map((s) => s.op === 'hold' && s.connects)).toEqual([15, 20]);
  });

  it('reads the controller port count', () => {
    expect(controllerPorts('pci-ohci,num-ports=15')).toBe(15);
    expect(controllerPorts('pci-ohci')).toBe(3);
  });

  it('parses what a 3.10 and a 6.1 guest log', () => {
    const log = parseUsbDmesg(
      [
        '[    2.317873] usb 1-1: new full-speed USB device number 2 using ohci_hcd',
        '[    2.574469] input: QEMU QEMU USB Keyboard as /devices/pci0000:00/0000:00:0d.0/usb1/1-1/1-1:1.0/input/input2',
        '[    2.907466] usb 1-2: new full-speed USB device number 3 using ohci-pci',
        '[    3.135271] usb-storage 1-2:1.0: USB Mass Storage device detected',
        "[    4.320136] cdc_ether 1-4:1.0 usb0: register 'cdc_ether' at usb-0000:00:0d.0-4, CDC Ethernet Device, 52:54:00:12:34:57",
        '[    9.1] usb 1-1: USB disconnect, device number 2',
        "[    9.2] cdc_ether 1-4:1.0 usb0: unregister 'cdc_ether' usb-0000:00:0d.0-4, CDC Ethernet Device",
      ].join('\n'),
    );
    expect(log.connects).toEqual([
      { port: '1-1', speed: 'full-speed', number: 2 },
      { port: '1-2', speed: 'full-speed', number: 3 },
    ]);
    expect(log.disconnects).toEqual([{ port: '1-1', number: 2 }]);
    expect(log.bound).toEqual({ kbd: 1, mouse: 0, storage: 1, net: 1 });
  });

  it('finds our devices still attached in `info usb`', () => {
    const info = '  Device 0.2, Port 1, Speed 12 Mb/s, Product QEMU USB Keyboard, ID: rl-usb-7-0\n  Device 0.3, Port 2, Speed 12 Mb/s, Product QEMU USB Hub\n';
    expect(attachedIds(info)).toEqual(['rl-usb-7-0']);
  });
});

describe('ground truth parsing', () => {
  it('counts /proc/net rows without their header', () => {
    expect(parseProcNetCounts('  503 /proc/net/tcp\n    2 /proc/net/tcp6\n    1 /proc/net/udp\n    1 /proc/net/udp6\n   12 /proc/net/unix\n  519 total\n')).toEqual({
      tcp: 502,
      tcp6: 1,
      udp: 0,
      udp6: 0,
      unix: 11,
    });
  });

  it('flags links netlink and sysfs disagree on', () => {
    const t = netTruth({ links: [{ index: 1, name: 'lo', kind: '', up: true }, { index: 2, name: 'rlf0', kind: 'dummy', up: true }], addrs: [], firstLinkChunkBytes: 900, linkChunks: 2 }, 'lo\neth0\n');
    expect(t.mismatch.sort()).toEqual(['eth0', 'rlf0']);
  });

  it('says what the helper printed when there is no result line', () => {
    expect(() => parseFabricLine('sh: rl-fabric: not found', 'reading interfaces')).toThrow(/printed no result line/);
    expect(parseFabricLine('noise\nREPROLAB-FABRIC {"ok":true,"deleted":3}\n', 'x')).toEqual({ ok: true, deleted: 3 });
  });

  it('parses socket specs and refuses odd established counts', () => {
    expect(parseSockets('tcp:500,unix-dgram:3')).toEqual([{ kind: 'tcp', count: 500 }, { kind: 'unix-dgram', count: 3 }]);
    expect(() => parseSockets('tcp-est:5')).toThrow(/odd/);
    expect(() => parseSockets('sctp:5')).toThrow(/bad socket spec/);
  });
});
