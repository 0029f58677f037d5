/**
 * End-to-end: a scenario of a user's own (a directory outside the repository) and the repro pack.
 * A pack is made from a real cell, unpacked into an empty directory and run with the lab hidden:
 * a PATH holding only QEMU and a POSIX shell's utilities (no node), another HOME, no lab cache.
 * (The user's scenario's verdicts on every target are checked by the matrix e2e.)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/util/paths.ts';
import { dirs, skipReasonFor, targets } from './lab.ts';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-repro-'));
const userScenarios = path.join(root, 'my-scenarios');
await fs.cp(path.join(repoRoot, 'tests', 'e2e', 'scenarios'), userScenarios, { recursive: true });

function lab(args: string[], cwd = root) {
  return execa(path.join(repoRoot, 'reprolab'), args, { reject: false, all: true, cwd, env: { CI: 'true' } });
}

/** The only programs run.sh may use: QEMU and a POSIX shell's utilities. */
const TOOLS = ['sh', 'awk', 'sed', 'grep', 'tr', 'cat', 'mkdir', 'mkfifo', 'sleep', 'rm', 'dirname', 'sha256sum'];

async function hiddenLabPath(qemu: string): Promise<string> {
  const bin = path.join(root, `bin-${qemu}`);
  await fs.mkdir(bin, { recursive: true });
  for (const t of [...TOOLS, qemu]) {
    const where = (await execa('sh', ['-c', `command -v ${t}`])).stdout.trim();
    await fs.symlink(where, path.join(bin, t)).catch(() => undefined);
  }
  return bin;
}

/** Runs a cell through the CLI, packs it, unpacks it into an empty directory and runs run.sh there with the lab hidden. */
async function packAndRun(name: string, runArgs: string[], globalArgs: string[] = []): Promise<{ out: string; code: number | undefined; dir: string }> {
  const cell = path.join(root, `cell-${name}`);
  const run = await lab([...globalArgs, 'run', ...runArgs, '--out', cell]);
  expect(run.exitCode, run.all.slice(-2000)).toBe(0);
  const tarball = path.join(root, `${name}.tar.gz`);
  const pack = await lab([...globalArgs, 'repro', 'pack', cell, '-o', tarball]);
  expect(pack.exitCode, pack.all).toBe(0);
  // The digest the receiver checks the tar.gz against.
  expect(pack.stdout).toContain(`sha256 ${sha256(await fs.readFile(tarball))}`);
  const empty = path.join(root, `unpacked-${name}`);
  await fs.mkdir(empty);
  await execa('tar', ['-xzf', tarball, '-C', empty]);
  const [dir] = await fs.readdir(empty);
  const packDir = path.join(empty, dir!);
  // Nothing in the pack points back into the lab or its cache.
  for (const f of ['run.sh', 'guest.sh', 'README.md']) {
    const text = await fs.readFile(path.join(packDir, f), 'utf8');
    expect(text, f).not.toContain(repoRoot);
    expect(text, f).not.toContain(dirs.cache);
  }
  const manifest = JSON.parse(await fs.readFile(path.join(packDir, 'manifest.json'), 'utf8')) as { files: { path: string; sha256: string }[]; builtFrom: { kernel: { source: { sha256: string } } } };
  expect(manifest.files.length).toBeGreaterThanOrEqual(5);
  for (const f of manifest.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(manifest.builtFrom.kernel.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  const qemu = JSON.parse(await fs.readFile(path.join(packDir, 'manifest.json'), 'utf8')).qemu.binary as string;
  const home = path.join(root, `home-${name}`);
  await fs.mkdir(home);
  const r = await execa('sh', ['run.sh'], { cwd: packDir, reject: false, all: true, extendEnv: false, env: { PATH: await hiddenLabPath(qemu), HOME: home }, timeout: 20 * 60_000 });
  console.log(`${name}:\n${r.all.split('\n').map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l)).join('\n')}`);
  // run.sh writes only into a fresh directory beside the pack, never into the pack.
  expect(await fs.readdir(packDir)).not.toContain('console.log');
  expect(await fs.readFile(path.join(`${packDir}-run1`, 'verdict.txt'), 'utf8')).toMatch(/^VERDICT /m);
  return { out: r.all, code: r.exitCode, dir: packDir };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Changes a file of an unpacked pack on purpose and reseals it: its digest in manifest.json and SHA256SUMS, and manifest.json's (run.sh refuses anything less). */
async function reseal(dir: string, rel: string, text: string): Promise<void> {
  const before = sha256(await fs.readFile(path.join(dir, rel)));
  await fs.writeFile(path.join(dir, rel), text);
  const manifest = (await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')).replace(before, sha256(text));
  await fs.writeFile(path.join(dir, 'manifest.json'), manifest);
  const sums = (await fs.readFile(path.join(dir, 'SHA256SUMS'), 'utf8')).replace(`${before}  ${rel}\n`, `${sha256(text)}  ${rel}\n`).replace(/^[0-9a-f]{64}  manifest\.json$/m, `${sha256(manifest)}  manifest.json`);
  await fs.writeFile(path.join(dir, 'SHA256SUMS'), sums);
}

const glibc61 = 'arm-versatile-6.1-glibc';
const malta16k = 'mips-malta16k-3.10-uclibc';

describe('a scenario of your own', () => {
  it('a broken definition, a missing probe and a probe that does not compile are clear errors naming the file', { timeout: 20 * 60_000 }, async () => {
    const broken = path.join(root, 'broken');
    const make = async (name: string, yaml: string, probe?: string) => {
      const dir = path.join(broken, name);
      await fs.rm(broken, { recursive: true, force: true });
      await fs.mkdir(path.join(dir, 'probes'), { recursive: true });
      await fs.writeFile(path.join(dir, 'scenario.yaml'), yaml);
      if (probe) await fs.writeFile(path.join(dir, 'probes', 'p.c'), probe);
    };
    const def = (extra = '') => `name: bad\nbug: B7\ntitle: t\nvariants: reader\nprobe: { program: p, args: { unpatched: [], patched: [] } }\njudge: { truth: net, equal: { count: links } }\n${extra}`;
    await make('bad', def('colour: red\n'), 'int main(void) { return 0; }\n');
    let r = await lab(['--scenario-dir', broken, 'scenarios']);
    expect(r.exitCode).toBe(2);
    expect(r.all).toContain(`${path.join(broken, 'bad', 'scenario.yaml')}: colour must be absent (unknown field`);
    expect(r.all).not.toMatch(/\n\s+at /);
    await make('bad', def());
    r = await lab(['--scenario-dir', broken, 'scenarios']);
    expect(r.exitCode).toBe(2);
    expect(r.all).toContain('probe.program must be the name of a C file in');
    const skip = skipReasonFor(glibc61);
    if (skip) return console.log(`compile check ${skip}`);
    // Unused variable: -Wall -Wextra -Werror, as the lab's own probes.
    await make('bad', def(), 'int main(void) { int unused; return 0; }\n');
    r = await lab(['--scenario-dir', broken, 'run', 'bad', '--target', glibc61]);
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain(`${path.join(broken, 'bad', 'probes', 'p.c')} does not compile for system (static): `);
    expect(r.all).toMatch(/unused variable/);
    expect(r.all).not.toMatch(/\n\s+at /);
  });
});

describe('a scenario of your own runs where the built-in ones do', () => {
  const skip61 = skipReasonFor(glibc61);
  it.skipIf(!!skip61)(skip61 ?? `sweep: if-nameindex over the interface count on ${glibc61}`, { timeout: 20 * 60_000 }, async () => {
    const r = await lab(['--scenario-dir', userScenarios, 'sweep', 'if-nameindex', '--target', glibc61, '--interfaces', '0..24:24', '--json', '--out', path.join(root, 'sweep')]);
    expect(r.exitCode, r.all.slice(-2000)).toBe(0);
    const s = JSON.parse(r.stdout) as { points: { value: number; unpatched: string; unpatchedSymptom: string }[] };
    expect(s.points.map((p) => [p.value, p.unpatched])).toEqual([[0, 'PASS'], [24, 'PASS']]);
    // More interfaces, more links: the count followed the fabric.
    const counts = s.points.map((p) => Number(/^count (\d+)\/\1$/.exec(p.unpatchedSymptom)?.[1]));
    expect(counts[1]! - counts[0]!).toBeGreaterThanOrEqual(24);
  });

  const skip16k = skipReasonFor(malta16k);
  it.skipIf(!!skip16k)(skip16k ?? `validate-patch: the lab's B1 fix, as a user's patch, FIXES the user's if-nameindex on ${malta16k}`, { timeout: 30 * 60_000 }, async () => {
    const fix = path.join(repoRoot, 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs-peek-size-netlink-chunks.patch');
    const r = await lab(['--scenario-dir', userScenarios, 'validate-patch', fix, '--libc', 'uclibc-0.9.33.2', '--targets', malta16k, '--json', '--out', path.join(root, 'validate')]);
    expect(r.exitCode, r.all.slice(-2000)).toBe(0);
    const v = JSON.parse(r.stdout) as { findings: { finding: string; results: { scenario: string; verdict: string }[] }[] };
    expect(v.findings[0]!.finding).toBe('FIXES');
    expect(v.findings[0]!.results.map((x) => [x.scenario, x.verdict])).toContainEqual(['if-nameindex', 'CONFIRMED']);
  });
});

describe('reprolab repro pack', () => {
  const skip61 = skipReasonFor(glibc61);
  it.skipIf(!!skip61)(skip61 ?? `dump-read on ${glibc61} (a 6.1 target): the unpacked pack gives CONFIRMED with only QEMU and sh`, { timeout: 30 * 60_000 }, async () => {
    const r = await packAndRun('dump-read', ['dump-read', '--target', glibc61]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^REPROLAB-PACK-JUDGED r1 unpatched FAIL incomplete: sockets \d+\/\d+ \(no NLMSG_DONE\)$/m);
    expect(r.out).toMatch(/^REPROLAB-PACK-JUDGED r1 patched PASS sockets (\d+)\/\1$/m);
    expect(r.out).toMatch(/^VERDICT CONFIRMED /m);
    expect(r.out).toContain('as the lab recorded: CONFIRMED');
    // Seen failing: the same pack with the recorded verdict changed exits 1 and says so.
    const runSh = await fs.readFile(path.join(r.dir, 'run.sh'), 'utf8');
    await reseal(r.dir, 'run.sh', runSh.replace(/^expected=CONFIRMED$/m, 'expected=NOT_REPRODUCED'));
    const again = await execa('sh', ['run.sh'], { cwd: r.dir, reject: false, all: true });
    expect(again.exitCode, again.all).toBe(1);
    expect(again.all).toContain('the lab recorded NOT_REPRODUCED; this run gave CONFIRMED');
  });

  const skip16k = skipReasonFor(malta16k);
  it.skipIf(!!skip16k)(skip16k ?? `getifaddrs on ${malta16k}: the pack gives CONFIRMED (EBUSY, then every link and address)`, { timeout: 30 * 60_000 }, async () => {
    const r = await packAndRun('getifaddrs', ['getifaddrs', '--target', malta16k]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^REPROLAB-PACK-JUDGED r1 unpatched FAIL errno=EBUSY$/m);
    expect(r.out).toMatch(/^REPROLAB-PACK-JUDGED r1 patched PASS \d+ links, \d+ addresses, all present$/m);
    expect(r.out).toContain('as the lab recorded: CONFIRMED');
  });

  it.skipIf(!!skip16k)(skip16k ?? `the user's if-nameindex on ${malta16k}: its probes travel in the pack, CONFIRMED`, { timeout: 30 * 60_000 }, async () => {
    const r = await packAndRun('if-nameindex', ['if-nameindex', '--target', malta16k], ['--scenario-dir', userScenarios]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^REPROLAB-PACK-JUDGED r1 unpatched FAIL errno=EBUSY$/m);
    expect(r.out).toMatch(/^REPROLAB-PACK-JUDGED r1 patched PASS count (\d+)\/\1$/m);
    expect(await fs.readFile(path.join(r.dir, 'guest.sh'), 'utf8')).toContain("base64 -d > /tmp/repro-probes.tar <<'REPROLAB_B64'");
  });

  it('what a pack cannot carry, and a cell the lab could not judge, are refused with the reason', { timeout: 5 * 60_000 }, async () => {
    const cell = path.join(root, 'cell-uevent');
    await fs.mkdir(cell, { recursive: true });
    const result = { scenario: 'uevent', target: targets[0]!.name, verdict: 'CONFIRMED', rate: { repeats: 1 }, params: {}, variants: [], depends: { bundleDir: '/nonexistent', bundleKey: 'k', scenarioDefinition: { file: 'x', sha256: 'a'.repeat(64) } } };
    await fs.writeFile(path.join(cell, 'result.json'), JSON.stringify(result));
    let r = await lab(['repro', 'pack', cell]);
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/uevent: a repro pack cannot carry this scenario yet: its USB hotplug burst is driven over QMP/);
    await fs.writeFile(path.join(cell, 'result.json'), JSON.stringify({ ...result, scenario: 'dump-read', verdict: 'ERROR' }));
    r = await lab(['repro', 'pack', cell]);
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/the lab could not judge this attempt \(ERROR\)/);
    r = await lab(['repro', 'pack', path.join(root, 'no-such-cell')]);
    expect(r.exitCode).toBe(2);
    // A definition edited since the cell ran would pack another experiment under the old verdict.
    await fs.writeFile(path.join(cell, 'result.json'), JSON.stringify({ ...result, scenario: 'dump-read' }));
    r = await lab(['repro', 'pack', cell]);
    expect(r.all).toMatch(/images\/scenarios\/dump-read\/scenario.json changed since this cell ran/);
  });
});
