/**
 * USB stall benchmark: how often a guest's USB enumeration stalls during the
 * uevent scenario's burst, with several VMs running at once (as the matrix runs
 * them). Boots --vms guests of one target side by side and runs --bursts bursts
 * on each, one after another on the same boot (a stalled guest is rebooted).
 * Prints the stall count and rate with its 95% upper bound.
 *
 *   npm run bench:usb -- [--target mips-malta-3.10-uclibc] [--vms 2] [--bursts 25]
 *                        [--burst SPEC] [--usb DEVICE]   (a -device string for the controller)
 *                        [--load]   (a busy loop in every guest: each QEMU then wants a whole core, as in a matrix run)
 *
 * --usb tries another controller without editing the target: the bundle is
 * copied with its manifest's qemu.usb replaced (the kernel must drive it).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readBundleManifest, writeBundleManifest } from '../lab/model/manifest.ts';
import { buildBundle } from '../lab/bundle/bundle.ts';
import { loadTargets, selectTargets } from '../lab/catalog/targets.ts';
import { runUsbBurst } from '../lab/fabric/usb-burst.ts';
import { parseBurst } from '../lab/fabric/usb-plan.ts';
import { startGuest, type Guest } from '../lab/guest/guest.ts';
import { upperBound95 } from '../lab/scenarios/verdict.ts';
import { describeError } from '../lab/util/errors.ts';
import { installExitHandlers } from '../lab/util/lifetime.ts';
import { labDirs } from '../lab/util/paths.ts';

installExitHandlers();
const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const targetName = flag('--target', 'mips-malta-3.10-uclibc');
const vms = Number(flag('--vms', '2'));
const bursts = Number(flag('--bursts', '25'));
const burst = parseBurst(flag('--burst', 'kbd,storage,mouse,net:10@50ms+enum'));
const usb = args.includes('--usb') ? flag('--usb', '') : undefined;
const load = args.includes('--load');

const dirs = labDirs();
const [target] = selectTargets(await loadTargets(), [targetName]);
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-usb-'));
const built = await buildBundle({ target: target!, extraPatches: [], dirs, sources: { dirs }, logDir: path.join(root, 'build') });
let bundleDir = built.dir;
if (usb) {
  // A copy with the controller replaced; the store entry itself is never edited.
  bundleDir = path.join(root, 'bundle');
  await fs.cp(built.dir, bundleDir, { recursive: true });
  const manifest = await readBundleManifest(bundleDir);
  manifest.qemu.usb = usb;
  await writeBundleManifest(bundleDir, manifest);
}

interface Tally {
  bursts: number;
  stalls: number;
  errors: string[];
  boots: number;
  ms: number[];
}

/**
 * What a stalled guest's USB host is doing: a lost interrupt leaves the controller's IRQ count still
 * while the guest's clock runs; a starved guest's clock barely moves. Read twice, 5 s of host time apart.
 */
async function stallState(guest: Guest): Promise<string> {
  const read = async () => {
    const r = await guest.exec(['sh', '-c', 'cut -d" " -f1 /proc/uptime; grep -E "ohci|uhci|xhci" /proc/interrupts | tr -s " "; dmesg | tail -n 2'], { timeoutMs: 10_000 });
    return r.stdout.trim().replace(/\n/g, ' | ');
  };
  try {
    const first = await read();
    await new Promise((r) => setTimeout(r, 5000));
    return `state: ${first}  ==5 s later==>  ${await read()}`;
  } catch (err) {
    return `state: unreadable (${describeError(err).split('\n')[0]})`;
  }
}

async function oneVm(index: number): Promise<Tally> {
  const t: Tally = { bursts: 0, stalls: 0, errors: [], boots: 0, ms: [] };
  let guest: Guest | undefined;
  try {
    for (let b = 0; b < bursts; b++) {
      if (!guest?.vm.running) {
        await guest?.stop();
        guest = await startGuest(bundleDir, { dirs, logDir: path.join(root, `vm${index}-boot${++t.boots}`) });
        if (load) await guest.exec(['sh', '-c', 'nohup sh -c "while :; do :; done" > /dev/null 2>&1 < /dev/null &']);
      }
      const t0 = Date.now();
      try {
        const r = await runUsbBurst(guest, burst, { burstId: `b${index}-${b}` });
        t.bursts++;
        t.ms.push(Date.now() - t0);
        if (r.enumerationTimedOut) {
          t.stalls++;
          // A stalled USB stack in a live guest, or a guest that stopped altogether?
          const alive = await guest.exec(['true'], { timeoutMs: 10_000 }).then(() => 'the guest still answers SSH', () => 'the guest does not answer SSH');
          console.error(`vm${index} burst ${b}: STALL (${r.notEnumerated} of ${r.added} not enumerated; ${alive}); rebooting`);
          console.error(`vm${index} burst ${b}: ${await stallState(guest)}`);
          await guest.stop();
          guest = undefined;
        } else console.error(`vm${index} burst ${b}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (err) {
        t.errors.push(describeError(err).split('\n')[0]!);
        console.error(`vm${index} burst ${b}: ERROR ${t.errors.at(-1)}`);
        await guest?.stop();
        guest = undefined;
      }
    }
  } finally {
    await guest?.stop();
  }
  return t;
}

const loadBefore = os.loadavg()[0]!;
const t0 = Date.now();
const tallies = await Promise.all(Array.from({ length: vms }, (_, i) => oneVm(i)));
const total = tallies.reduce((s, t) => s + t.bursts, 0);
const stalls = tallies.reduce((s, t) => s + t.stalls, 0);
const errors = tallies.flatMap((t) => t.errors);
const ms = tallies.flatMap((t) => t.ms).sort((a, b) => a - b);
console.log(`target ${targetName}, controller ${usb ?? target!.qemu.usb}, burst ${flag('--burst', 'kbd,storage,mouse,net:10@50ms+enum')}`);
console.log(`host: ${os.cpus().length} cores; ${vms} VM(s) at once${load ? ', each guest busy' : ''}; load average before ${loadBefore.toFixed(2)}; wall ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`bursts ${total}, stalls ${stalls} (${((100 * stalls) / Math.max(1, total)).toFixed(1)}%; 95% upper bound ${(100 * upperBound95(stalls, total)).toFixed(1)}%), errors ${errors.length}, boots ${tallies.reduce((s, t) => s + t.boots, 0)}`);
if (ms.length) console.log(`burst time: median ${(ms[Math.floor(ms.length / 2)]! / 1000).toFixed(1)} s, max ${(ms.at(-1)! / 1000).toFixed(1)} s`);
for (const e of [...new Set(errors)]) console.log(`error: ${e}`);
console.log(`logs: ${root}`);
