/**
 * End-to-end: bisect B1 on mips-malta16k-3.10-uclibc across real uClibc-ng
 * commits, built from a real clone of its repository, in one booted guest.
 * CI runs a short range around the change (a handful of builds); the whole
 * v1.0.0 → v1.0.57 walk is `npm run bench:bisect`.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/util/paths.ts';
import { buildBundle } from '../../lab/bundle/bundle.ts';
import type { Target } from '../../lab/model/target.ts';
import { scenarioByName } from '../../lab/scenarios/registry.ts';
import { runScenario } from '../../lab/scenarios/runner.ts';
import { openRepo, resolveRev } from '../../lab/sources/git-repo.ts';
import { runBisect } from '../../lab/workflows/bisect/bisect.ts';
import { dirs, skipReasonFor, targets } from './lab.ts';

const TARGET = 'mips-malta16k-3.10-uclibc';
const repoDir = process.env.REPROLAB_UCLIBC_NG_REPO ?? path.join(dirs.overrides, 'uclibc-ng');
const repo = await openRepo(repoDir, 'the uClibc-ng repository').catch(() => undefined);
const skip = skipReasonFor(TARGET) ?? (repo ? undefined : `skipped: uclibc-ng git repository not available (clone https://github.com/wbx-github/uclibc-ng to ${repoDir}, or set REPROLAB_UCLIBC_NG_REPO)`);
const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-bisect-'));
const target = targets.find((t) => t.name === TARGET)!;
const progress = (l: string) => console.log(`bisect: ${l}`);

describe('bisect on a real uClibc-ng repository', () => {
  // Two commits before and two after "libc: Fix page-size in getifaddrs()" (uClibc-ng, 2015), on the side branch merged for v1.0.2.
  const OLD = 'eb56ff55d410c8aa37161a0cd14c3d6850e85584';
  const NEW = '08a82b3d60c36abdf28585e1b421f27431ef2452';

  it.skipIf(!!skip)(skip ?? `finds the commit that fixed B1 between ${OLD.slice(0, 12)} and ${NEW.slice(0, 12)}, and offers it to validate-patch`, { timeout: 60 * 60_000 }, async () => {
    const ends = { givenAs: 'good/bad' as const, good: await resolveRev(repo!, NEW, '--good'), bad: await resolveRev(repo!, OLD, '--bad') };
    const r = await runBisect({ scenario: scenarioByName('getifaddrs'), target, repo: repo!, ends, repeat: 2, releases: false, validate: true, params: {}, dirs, sources: { dirs }, outDir: path.join(runRoot, 'fix'), progress });
    console.log(JSON.stringify({ outcome: r.outcome, message: r.message, steps: r.steps.map((s) => `${s.n} ${s.commit.short} ${s.state} ${s.rate} ${s.detail}`), validation: r.validation?.finding }, null, 2));
    expect(r.outcome, r.message).toBe('FOUND');
    expect(r.direction).toBe('fix');
    // The ends were judged on real builds: the old one failed with EBUSY, the new one returned every address.
    expect(r.steps[0]).toMatchObject({ commit: { commit: OLD }, state: 'symptom', symptom: 2, repeats: 2 });
    expect(r.steps[0]!.detail).toMatch(/EBUSY/);
    expect(r.steps[1]).toMatchObject({ commit: { commit: NEW }, state: 'clean', repeats: 2 });
    expect(r.steps[1]!.detail).toMatch(/links, \d+ addresses, all present/);
    // What it found touches the reader the bug is in, and is released from v1.0.2 on.
    expect(r.first!.diffStat).toMatch(/libc\/inet\/ifaddrs\.c/);
    expect(r.first!.firstRelease).toBe('v1.0.2');
    expect(r.boots).toBe(1);
    expect(r.steps.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(4)));
    const html = await fs.readFile(path.join(r.outDir, 'bisect.html'), 'utf8');
    expect(html).toContain(r.first!.commit);
    expect(JSON.parse(await fs.readFile(path.join(r.outDir, 'bisect.json'), 'utf8')).outcome).toBe('FOUND');
    // Every step kept its evidence: the probe's full output per repeat.
    for (const s of r.steps.filter((x) => x.built)) expect((await fs.readdir(path.join(s.evidenceDir, 'a'))).some((f) => f.includes('ifaddrs-probe'))).toBe(true);
    expect(r.validation, 'validate-patch ran on the found commit').toBeDefined();
    expect(r.validation!.finding).not.toBe('ERROR');
  });

  it.skipIf(!!skip)(skip ?? "bisects a user's scenario (if-nameindex, from a directory outside the repository) through the CLI to the same commit", { timeout: 30 * 60_000 }, async () => {
    const mine = path.join(runRoot, 'my-scenarios');
    await fs.cp(path.join(repoRoot, 'tests', 'e2e', 'scenarios'), mine, { recursive: true });
    const out = path.join(runRoot, 'user-scenario');
    const r = await execa(path.join(repoRoot, 'reprolab'), ['--scenario-dir', mine, 'bisect', 'if-nameindex', '--target', TARGET, '--libc-repo', repoDir, '--good', NEW, '--bad', OLD, '--repeat', '1', '--json', '--out', out], { reject: false, all: true });
    expect(r.exitCode, r.all.slice(-2000)).toBe(0);
    const b = JSON.parse(r.stdout) as { outcome: string; first: { commit: string }; steps: { state: string; detail: string }[] };
    expect(b.outcome).toBe('FOUND');
    // uClibc-ng's if_nameindex() shares __netlink_request() with getifaddrs(): one fix for both.
    expect(b.first.commit).toBe('0a3cc64d4c8050758482f68c48482e6e375c4ffa');
    expect(b.steps[0]!.detail).toMatch(/EBUSY/);
    expect(b.steps[1]!.detail).toMatch(/^count (\d+)\/\1$/);
  });

  it.skipIf(!!skip)(skip ?? 'says at once that both ends show the symptom, without a step between them', { timeout: 30 * 60_000 }, async () => {
    const before = await resolveRev(repo!, `${OLD}~1`, '--old');
    const r = await runBisect({ scenario: scenarioByName('getifaddrs'), target, repo: repo!, ends: { givenAs: 'old/new', old: before, new: OLD }, repeat: 1, releases: false, validate: false, params: {}, dirs, sources: { dirs }, outDir: path.join(runRoot, 'alike'), progress });
    expect(r.outcome, r.message).toBe('ENDS_ALIKE');
    expect(r.steps.map((s) => s.state)).toEqual(['symptom', 'symptom']);
    expect(r.message).toMatch(/both ends show the symptom/);
  });

  it.skipIf(!!skip)(skip ?? 'a target whose patched variant names a uClibc-ng release: unpatched 0.9.33.2 fails with EBUSY, uClibc-ng v1.0.57 returns everything', { timeout: 60 * 60_000 }, async () => {
    // The malta16k target with its "patched" variant built from uClibc-ng v1.0.57 (another name, so the real target's bundle link stays).
    const ngTarget: Target = { ...target, name: `${TARGET}-ng-e2e`, libc: { kind: 'uclibc', variants: ['unpatched', 'patched'], uclibcNg: { patched: 'v1.0.57' } } };
    const bundle = await buildBundle({ target: ngTarget, extraPatches: [], dirs, sources: { dirs }, logDir: path.join(runRoot, 'ng-build'), progress: (s) => console.log(`build: ${s}`) });
    const ng = bundle.manifest.libc.variants.find((v) => v.variant === 'patched')!;
    expect(ng.libc).toMatch(/^uClibc-ng 1\.0\.57 \(v1\.0\.57 = [0-9a-f]{40}\)$/);
    expect(ng.shared).toMatchObject({ libDir: '/opt/reprolab/libc/patched/lib', imagePrograms: false });
    // As `reprolab run` runs it: the patched role is the "patched" variant.
    const r = await runScenario({ scenario: scenarioByName('getifaddrs'), bundleDir: bundle.dir, repeat: 1, params: {}, dirs, outDir: path.join(runRoot, 'ng-run') });
    console.log(JSON.stringify({ verdict: r.verdict, variants: r.variants.map((v) => `${v.variant} ${v.outcome} ${v.symptom}`), key: r.key }, null, 2));
    expect(r.verdict, r.error).toBe('CONFIRMED');
    expect(r.variants[0]!.symptom).toMatch(/EBUSY/);
    expect(r.variants[1]).toMatchObject({ variant: 'patched', outcome: 'PASS' });
    expect(r.depends.libc[1]!.libc).toMatch(/^uClibc-ng 1\.0\.57/);
    expect(r.variants[1]!.symptom).toMatch(/links, \d+ addresses, all present/);
    // The image's busybox is linked against 0.9.33.2's libc.so.0: it is not run on uClibc-ng, and the result says so.
    expect(String(r.key['programs'])).toMatch(/not this libc's ABI/);
  });
});
