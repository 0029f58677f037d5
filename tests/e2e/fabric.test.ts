/**
 * End-to-end: the fabric on real guests — 40 links of mixed kinds with their
 * addresses, a 10-device USB hotplug burst through QMP, 500 held sockets — checked
 * against the kernel's own ground truth, then torn down to the boot state.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildFabric } from '../../lab/fabric/fabric.ts';
import { createInterfaces, readNetTruth, removeInterfaces, triggerUevents } from '../../lab/fabric/guest-ops.ts';
import { FABRIC_PREFIX, planInterfaces } from '../../lab/fabric/interfaces.ts';
import { parseBurst } from '../../lab/fabric/usb-plan.ts';
import { startGuest, type Guest } from '../../lab/guest/guest.ts';
import { buildTarget, dirs, skipReasonFor, targets } from './lab.ts';

const started: Guest[] = [];
afterAll(async () => {
  await Promise.all(started.map((g) => g.stop().catch(() => undefined)));
});

const addressOf = (cidr: string) => cidr.split('/')[0]!;

for (const target of targets) {
  const skip = skipReasonFor(target.name);
  describe(`fabric ${target.name}`, () => {
    it.skipIf(!!skip)(skip ?? '40 interfaces, a 10-device USB burst and 500 sockets match the kernel ground truth', { timeout: 45 * 60_000 }, async () => {
      const bundle = await buildTarget(target.name);
      const spec = { interfaces: 40, usbBurst: parseBurst('kbd,storage,mouse,net:10@50ms+enum'), sockets: [{ kind: 'tcp' as const, count: 500 }] };
      let g = await startGuest(bundle.dir, { dirs });
      started.push(g);
      let baseline = await readNetTruth(g);
      expect(baseline.links.some((l) => l.name.startsWith(FABRIC_PREFIX))).toBe(false);

      let fabric = await buildFabric(g, spec);
      if (fabric.report.usb?.enumerationTimedOut) {
        // A malta + 3.10 guest's OHCI hub sometimes stalls after the first device (an infrastructure
        // failure the matrix retries on a fresh boot too): once, on a fresh boot, and said.
        console.log(`fabric ${target.name}: the guest's USB enumeration stalled (${fabric.report.usb.notEnumerated} of 10 never seen); retrying once on a fresh boot`);
        await g.stop();
        g = await startGuest(bundle.dir, { dirs });
        started.push(g);
        baseline = await readNetTruth(g);
        fabric = await buildFabric(g, spec);
      }
      const r = fabric.report;
      const plan = planInterfaces(40);

      // Interfaces: every planned link and address is in the kernel's own dump and in sysfs.
      expect(r.interfaces).toMatchObject({ failed: 0, missingKinds: [], failures: [] });
      const ours = r.net.links.filter((l) => l.name.startsWith(FABRIC_PREFIX));
      expect(ours).toHaveLength(40);
      expect(ours.every((l) => l.up)).toBe(true);
      expect(r.net.mismatch).toEqual([]);
      const byName = new Map(r.net.links.map((l) => [l.name, l.index]));
      for (const spec of plan.specs) {
        for (const cidr of spec.addresses) {
          expect(r.net.addrs.some((a) => a.index === byName.get(spec.name) && a.address === addressOf(cidr)), `${spec.name} ${cidr}`).toBe(true);
        }
      }
      expect(new Set(ours.map((l) => l.kind))).toEqual(new Set(['dummy', 'vlan', 'macvlan', 'bridge', 'veth']));

      // USB: every device came and went; the guest saw each one; nothing is left attached.
      const usb = r.usb!;
      expect(usb).toMatchObject({ added: 10, removed: 10, leftover: [], notEnumerated: 0, enumerationTimedOut: false, settleTimedOut: false });
      expect(usb.guest.connects).toHaveLength(10);
      expect(usb.guest.disconnects).toHaveLength(10);
      expect(usb.guest.bound).toEqual({ kbd: 3, storage: 3, mouse: 2, net: 2 });
      expect(usb.seqnumAfter - usb.seqnumBefore).toBeGreaterThanOrEqual(40);

      // Sockets: 500 listeners held, and the kernel's table shows at least those.
      expect(r.sockets!.held['tcp']).toEqual({ wanted: 500, open: 500 });
      expect(r.sockets!.truth.tcp).toBeGreaterThanOrEqual(500);
      expect(r.sockets!.truth.tcp).toBeLessThan(520);

      // The in-guest trigger raises the counter by exactly what it wrote.
      const trigger = await triggerUevents(g, 50);
      expect(trigger.after - trigger.before).toBe(50);

      // Creating the same set again changes nothing.
      const again = await createInterfaces(g, plan);
      expect(again).toMatchObject({ created: 0, existed: plan.specs.length, failed: 0 });
      const after = await readNetTruth(g);
      expect(after.links.filter((l) => l.name.startsWith(FABRIC_PREFIX))).toHaveLength(40);

      await fabric.teardown();
      const torn = await readNetTruth(g);
      expect(torn.links.map((l) => l.name).sort()).toEqual(baseline.links.map((l) => l.name).sort());
      // (Link-local IPv6 addresses of the boot links may appear after the baseline read: compare ours only.)
      expect(torn.addrs.filter((a) => a.address.startsWith('10.200.') || a.address.startsWith('fd00:200:'))).toEqual([]);
      expect(await removeInterfaces(g)).toMatchObject({ deleted: 0 });

      console.log(
        `fabric ${target.name}: 40 interfaces ${r.interfaces!.wallMs} ms (guest ${r.interfaces!.guestMs} ms); ` +
          `USB 10 devices ${usb.burstMs} ms (held ${usb.heldMs} ms for enumeration, settle ${usb.settleMs} ms, ${usb.seqnumAfter - usb.seqnumBefore} uevents); ` +
          `500 sockets ${r.sockets!.wallMs} ms; first RTM_GETLINK chunk ${r.net.firstLinkChunkBytes} B`,
      );
      await g.stop();
    });
  });
}
