import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runUsbBurst } from '../../../lab/fabric/usb-burst.ts';
import { parseBurst } from '../../../lab/fabric/usb-plan.ts';
import type { UsbGuest } from '../../../lab/fabric/usb-burst.ts';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import { QmpClient } from '../../../lab/qemu/qmp.ts';
import { ConsoleStream } from '../../../lab/qemu/console-stream.ts';
import { setTimeoutMultiplier } from '../../../lab/util/timeouts.ts';
import { fakeQemu, tempDirs } from '../../helpers.ts';

/*
 * runUsbBurst against a fake QEMU (a real QMP client over a unix socket to a
 * peer that keeps the attached devices) and a fake guest that answers the few
 * commands a burst sends. The e2e suite does the same with real QEMU.
 */

interface FakeUsb {
  attached: Set<string>;
  log: string[];
}

async function setup(opts: { failAdd?: string; deleteDelayMs?: number; neverDeleted?: string; ports?: number }) {
  const usb: FakeUsb = { attached: new Set(), log: [] };
  const timers: NodeJS.Timeout[] = [];
  const q = await fakeQemu((cmd, send) => {
    const args = (cmd.arguments ?? {}) as Record<string, string>;
    usb.log.push(`${cmd.execute}${args['id'] ? ` ${args['id']}` : ''}`);
    if (cmd.execute === 'device_add') {
      if (args['id'] === opts.failAdd) return send({ error: { class: 'GenericError', desc: 'Bus usbhc.0 is full' }, id: cmd.id });
      usb.attached.add(args['id']!);
      return send({ return: {}, id: cmd.id });
    }
    if (cmd.execute === 'device_del') {
      send({ return: {}, id: cmd.id });
      // A guest that never lets go of this one: no DEVICE_DELETED.
      if (args['id'] === opts.neverDeleted) return;
      // The guest acknowledges the unplug later: DEVICE_DELETED comes after the command returned.
      timers.push(
        setTimeout(() => {
          usb.attached.delete(args['id']!);
          send({ event: 'DEVICE_DELETED', data: { device: args['id'] }, timestamp: { seconds: 0, microseconds: 0 } });
        }, opts.deleteDelayMs ?? 0),
      );
      return;
    }
    if (cmd.execute === 'human-monitor-command') return send({ return: [...usb.attached].map((id) => `  Device 0.1, Port 1, Speed 12 Mb/s, Product QEMU USB Keyboard, ID: ${id}\n`).join(''), id: cmd.id });
    send({ return: {}, id: cmd.id });
  });
  const qmp = await QmpClient.connect(q.sock);
  const { root } = await tempDirs();
  const consoleLog = path.join(root, 'console.log');
  await fs.writeFile(consoleLog, '');
  const console = new ConsoleStream(consoleLog, 0).start(10);
  let seqnum = 100;
  const guest: UsbGuest = {
    qmp,
    consoleLog,
    manifest: { qemu: { usb: `pci-ohci,id=usbhc,num-ports=${opts.ports ?? 15}` } },
    vm: { running: true, console },
    async exec(argv: string[]): Promise<ExecResult> {
      const cmd = argv.join(' ');
      const ok = (stdout: string) => ({ stdout, stderr: '', exitCode: 0, signal: null }) as unknown as ExecResult;
      if (cmd.includes('/dev/kmsg')) {
        const marker = /echo (.*) > \/dev\/kmsg/.exec(cmd)![1]!;
        await fs.appendFile(consoleLog, `${marker}\n`);
        return ok('');
      }
      if (cmd.includes('uevent_seqnum')) return ok(`${seqnum}\n`);
      if (cmd.includes('dmesg')) return ok(await fs.readFile(consoleLog, 'utf8'));
      return ok('');
    },
  };
  return {
    usb,
    guest,
    bump: () => (seqnum += 2),
    close: () => {
      for (const t of timers) clearTimeout(t);
      console.stop();
      qmp.close();
      q.close();
    },
  };
}

describe('runUsbBurst', () => {
  it('waits for a DEVICE_DELETED that comes well after device_del returned, and counts every removal', async () => {
    const f = await setup({ deleteDelayMs: 400 });
    const t0 = Date.now();
    const r = await runUsbBurst(f.guest, parseBurst('kbd:3@0ms'), { burstId: 'late', quietMs: 50, settleTimeoutMs: 2000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(r).toMatchObject({ added: 3, removed: 3, leftover: [] });
    expect(f.usb.attached.size).toBe(0);
    f.close();
  });

  it('a device_add that fails after others were added: the burst fails and everything it added is removed', async () => {
    const f = await setup({ failAdd: 'rl-usb-half-2', deleteDelayMs: 100 });
    const err = await runUsbBurst(f.guest, parseBurst('kbd,storage:4@0ms'), { burstId: 'half', quietMs: 50, settleTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/QMP device_add usb-kbd \(rl-usb-half-2\) failed: .*Bus usbhc\.0 is full/);
    expect(f.usb.attached.size, `still attached: ${[...f.usb.attached].join(', ')}`).toBe(0);
    // The storage device went before its block backend.
    const del = f.usb.log.indexOf('device_del rl-usb-half-1');
    const blockdel = f.usb.log.findIndex((l) => l.startsWith('blockdev-del'));
    expect(del).toBeGreaterThanOrEqual(0);
    expect(blockdel).toBeGreaterThan(del);
    f.close();
  });

  it('a removal the guest never confirms, timing out while the next wave is held, fails the burst instead of escaping as an unhandled rejection', async () => {
    const escaped: unknown[] = [];
    const onUnhandled = (reason: unknown) => escaped.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // DEVICE_DELETED waits 300 ms; each wave is held 800 ms: the first wave's lost removal times out during the second hold.
    setTimeoutMultiplier(0.01);
    const f = await setup({ neverDeleted: 'rl-usb-lost-0', ports: 2 });
    try {
      const err = await runUsbBurst(f.guest, parseBurst('kbd:4@0ms+800ms'), { burstId: 'lost', quietMs: 50, settleTimeoutMs: 2000 }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      expect(escaped).toEqual([]);
      expect((err as Error).message).toMatch(/did not confirm the removal of 1 USB device\(s\): rl-usb-lost-0: QMP: no DEVICE_DELETED event within 300 ms/);
      expect(f.usb.log.filter((l) => l.startsWith('device_add'))).toHaveLength(4);
    } finally {
      setTimeoutMultiplier(1);
      process.off('unhandledRejection', onUnhandled);
      f.close();
    }
  });
});
