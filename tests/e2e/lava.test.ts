/**
 * End-to-end: the scenarios as LAVA jobs on the real dispatcher (Debian's lava-dispatcher, installed by
 * `doctor --tests`). `reprolab lava run` exports the jobs, runs each on a local standalone lava-run and
 * reads the results back: the verdicts must be the ones `reprolab run` gives on the same bundles (the
 * targets' expect.json), and the scenarios LAVA cannot run are said so, with the reason.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { loadMatrixResult, type MatrixCellResult } from '../../lab/model/matrix-result.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { buildTarget, dirs, skipReasonFor } from './lab.ts';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-lava-'));
const lab = (args: string[]) => execa(path.join(repoRoot, 'reprolab'), args, { reject: false, all: true, env: { CI: 'true' } });

const malta16k = 'mips-malta16k-3.10-uclibc';
const arm310 = 'arm-versatile-3.10-uclibc';
const glibc61 = 'arm-versatile-6.1-glibc';

/** `reprolab lava run` on one target; its matrix.json's cells by scenario. */
async function lavaRun(target: string, scenarios: string[]): Promise<{ cells: Map<string, MatrixCellResult>; out: string; dir: string }> {
  const dir = path.join(root, `run-${target}`);
  const r = await lab(['lava', 'run', target, '--scenarios', scenarios.join(','), '--out', dir]);
  console.log(`lava run ${target}:\n${r.all.split('\n').filter((l) => !l.startsWith('build ')).join('\n')}`);
  const result = await loadMatrixResult(path.join(dir, 'matrix.json'));
  // Exit 0: every verdict was the expected one.
  expect(r.exitCode, r.all.slice(-1500)).toBe(0);
  return { cells: new Map(result.cells.map((c) => [c.scenario, c])), out: r.all, dir };
}

describe('reprolab lava run: the same verdicts as reprolab run, from the real dispatcher', () => {
  const skip16k = skipReasonFor(malta16k);
  it.skipIf(!!skip16k)(skip16k ?? `${malta16k}: getifaddrs CONFIRMED (the real uClibc 0.9.33.2); uevent not runnable, with the reason`, { timeout: 20 * 60_000 }, async () => {
    const { cells, dir } = await lavaRun(malta16k, ['getifaddrs', 'uevent']);
    const g = cells.get('getifaddrs')!;
    expect(g.verdict).toBe('CONFIRMED');
    expect(g.variants.find((v) => v.role === 'unpatched')!.symptom).toMatch(/errno=E[A-Z]+/);
    expect(g.variants.find((v) => v.role === 'patched')!.symptom).toMatch(/all present/);
    const u = cells.get('uevent')!;
    expect(u.status).toBe('skipped');
    expect(u.summary).toMatch(/not runnable on LAVA: .*QMP/);
    // The proof is LAVA's own: its results lines name each variant's case under the scenario's definition.
    const log = await fs.readFile(path.join(dir, malta16k, 'getifaddrs', 'dispatcher.log'), 'utf8');
    expect(log).toMatch(/"lvl": "results", "msg": \{"case": "unpatched", "definition": "0_getifaddrs".*"result": "fail"/);
    expect(log).toMatch(/"lvl": "results", "msg": \{"case": "patched", "definition": "0_getifaddrs".*"result": "pass"/);
    expect(log).toMatch(/"case": "job", "definition": "lava", "result": "pass"/);
  });

  const skip310 = skipReasonFor(arm310);
  it.skipIf(!!skip310)(skip310 ?? `${arm310}: getifaddrs NOT_REPRODUCED`, { timeout: 20 * 60_000 }, async () => {
    const { cells } = await lavaRun(arm310, ['getifaddrs']);
    expect(cells.get('getifaddrs')!.verdict).toBe('NOT_REPRODUCED');
  });

  const skip61 = skipReasonFor(glibc61);
  it.skipIf(!!skip61)(skip61 ?? `${glibc61}: dump-read CONFIRMED`, { timeout: 20 * 60_000 }, async () => {
    const { cells } = await lavaRun(glibc61, ['dump-read']);
    const c = cells.get('dump-read')!;
    expect(c.verdict).toBe('CONFIRMED');
    expect(c.variants.find((v) => v.role === 'unpatched')!.symptom).toMatch(/no NLMSG_DONE/);
  });

  it.skipIf(!!skip16k)(skip16k ?? 'a job whose QEMU exits at start reads back as ERROR with LAVA\'s class, never a FAIL', { timeout: 10 * 60_000 }, async () => {
    const cell = path.join(root, `run-${malta16k}`, malta16k, 'getifaddrs');
    await fs.access(path.join(cell, 'job.yaml')).catch(() => {
      throw new Error(`the CONFIRMED test above must run first: ${cell} has no job.yaml`);
    });
    // The same job, but QEMU refuses an option and exits before the kernel starts.
    const job = parseYaml(await fs.readFile(path.join(cell, 'job.yaml'), 'utf8')) as { context: { extra_options: string[] } };
    job.context.extra_options.push('-device no-such-device');
    const broken = path.join(root, 'broken');
    await fs.mkdir(broken, { recursive: true });
    await fs.writeFile(path.join(broken, 'job.yaml'), stringify(job));
    const types = path.join(dirs.cache, 'lava', (await fs.readdir(path.join(dirs.cache, 'lava'))).find((d) => d.startsWith('lava-server-'))!, 'usr', 'share', 'lava-server', 'device-types');
    await fs.copyFile(path.join(cell, 'device.jinja2'), path.join(broken, 'device.jinja2'));
    const device = await execa('python3', [path.join(repoRoot, 'images', 'lava', 'render-device.py'), broken, types, 'device.jinja2', path.join(broken, 'job.yaml')]);
    await fs.writeFile(path.join(broken, 'device.yaml'), device.stdout);
    const run = await execa('lava-run', ['--job-id', '4242', '--output-dir', path.join(broken, 'out'), '--device', path.join(broken, 'device.yaml'), path.join(broken, 'job.yaml')], { reject: false, all: true });
    // lava-run writes its log (YAML lines) to stderr.
    await fs.writeFile(path.join(broken, 'dispatcher.log'), run.stderr);
    const read = await lab(['lava', 'results', path.join(broken, 'dispatcher.log'), '--job', path.join(broken, 'job.yaml'), '--out', path.join(broken, 'report')]);
    console.log(read.all);
    expect(read.exitCode).toBe(1);
    expect(read.stdout).toMatch(/getifaddrs \(B1\) on mips-malta16k-3\.10-uclibc: ERROR/);
    expect(read.stdout).toMatch(/unpatched ERROR .*lava Infrastructure error/);
    const result = await loadMatrixResult(path.join(broken, 'report', 'matrix.json'));
    expect(result.cells[0]!.verdict).toBe('ERROR');
    expect(result.cells[0]!.variants.every((v) => v.outcome === 'ERROR')).toBe(true);
  });
});

describe('reprolab lava validate: jobs for a real u-boot board pass the dispatcher\'s own check', () => {
  const skip = skipReasonFor(arm310) ?? skipReasonFor(glibc61);
  it.skipIf(!!skip)(skip ?? 'beaglebone-black jobs from the ARM uClibc userland validate', { timeout: 10 * 60_000 }, async () => {
    const out = path.join(root, 'bbb');
    // Stand-ins for the board's own kernel and dtb (validation checks the job and that each URL answers, not what boots).
    const images = path.join((await buildTarget(glibc61)).dir, 'images');
    const exp = await lab(['lava', 'export', arm310, '--scenarios', 'getifaddrs,dump-read,uevent', '--device-type', 'beaglebone-black', '--kernel-url', `file://${images}/zImage`, '--dtb-url', `file://${images}/versatile-pb.dtb`, '--out', out]);
    expect(exp.exitCode, exp.all.slice(-1500)).toBe(0);
    expect(exp.stdout).toMatch(/uevent: not runnable on LAVA/);
    const job = await fs.readFile(path.join(out, arm310, 'jobs', 'getifaddrs.yaml'), 'utf8');
    expect(job).toMatch(/to: tftp/);
    expect(job).toMatch(/method: u-boot/);
    const v = await lab(['lava', 'validate', out]);
    console.log(v.all);
    expect(v.exitCode).toBe(0);
    expect(v.stdout.match(/^valid /gm)).toHaveLength(2);
    // And the check can fail: a job naming a device type LAVA does not have is refused before the dispatcher runs.
    await fs.writeFile(path.join(out, arm310, 'jobs', 'getifaddrs.yaml'), job.replace('device_type: beaglebone-black', 'device_type: no-such-board'));
    const bad = await lab(['lava', 'validate', out]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/no-such-board/);
  });
});
