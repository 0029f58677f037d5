/**
 * Boot benchmark. Per target (bundle already built), prints:
 *   floor  — QEMU start → /init readiness line, plain QEMU, no orchestration;
 *   lab    — QEMU start → SSH session that runs a command, through startGuest();
 *   ratio  — lab / floor (the goal is under 1.3).
 * Usage: npm run bench:boot -- [--runs N] [target…]
 */
import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import { execa } from 'execa';
import { readBundleManifest, type BundleManifest } from '../lab/model/manifest.ts';
import { loadTargets, selectTargets } from '../lab/catalog/targets.ts';
import { labKey } from '../lab/guest/keys.ts';
import { startGuest } from '../lab/guest/guest.ts';
import { qemuCommand } from '../lab/qemu/command.ts';
import { freeLoopbackPort } from '../lab/qemu/ports.ts';
import { installExitHandlers, onAbnormalExit } from '../lab/util/lifetime.ts';
import { labDirs } from '../lab/util/paths.ts';

installExitHandlers();
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
const names = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
const dirs = labDirs();
const key = await labKey(dirs);

/** Plain QEMU with the same arguments, console read from a pipe, stopped at the marker. */
async function floorMs(bundleDir: string, manifest: BundleManifest): Promise<number> {
  const run = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-bench-'));
  const cmd = qemuCommand({ bundleDir, manifest, sshPort: await freeLoopbackPort(), qmpSocket: path.join(run, 'q.sock'), sshKey: key.publicBase64 });
  const t0 = Date.now();
  // Like every QEMU the lab starts: killed by the kernel if the bench dies, and by the cleanup registry on Ctrl-C.
  const child = execa('setpriv', ['--pdeathsig', 'KILL', '--', cmd.binary, ...cmd.args], { reject: false, stdin: 'ignore', buffer: false });
  const forget = onAbnormalExit(() => child.kill('SIGKILL'));
  try {
    return await new Promise<number>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error('no marker within 120 s')), 120_000);
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('REPROLAB-READY')) {
          clearTimeout(timer);
          resolve(Date.now() - t0);
        }
      });
    });
  } finally {
    child.kill('SIGKILL');
    await child;
    forget();
    await fs.rm(run, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const target of selectTargets(await loadTargets(), names)) {
  const bundleDir = path.join(dirs.cache, 'bundles', target.name);
  let manifest: BundleManifest;
  try {
    manifest = await readBundleManifest(bundleDir);
  } catch {
    rows.push(`${target.name.padEnd(28)} not built (reprolab build ${target.name})`);
    continue;
  }
  const floors: number[] = [];
  const labs: number[] = [];
  for (let i = 0; i < runs; i++) {
    floors.push(await floorMs(bundleDir, manifest));
    const g = await startGuest(bundleDir, { dirs });
    labs.push(g.times.sshMs);
    await g.stop();
  }
  const f = median(floors);
  const l = median(labs);
  const row = `${target.name.padEnd(28)} floor (QEMU → /init marker) ${(f / 1000).toFixed(2)} s   lab (QEMU → SSH ready) ${(l / 1000).toFixed(2)} s   ratio ${(l / f).toFixed(2)}   (median of ${runs})`;
  console.log(row);
  rows.push(row);
}
console.log('\nreprolab boot bench');
for (const r of rows) console.log(r);
