/**
 * End-to-end: every scenario on every available target, on real guests, gives
 * the verdict its expectation file records for that target — with evidence,
 * ground truth and everything the verdict depends on. Then validate-patch with
 * the lab's own fix and with a patch that does not apply.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExpectations } from '../../lab/catalog/expectations.ts';
import { startGuest, type Guest } from '../../lab/guest/guest.ts';
import { SCENARIOS } from '../../lab/scenarios/registry.ts';
import { runScenario } from '../../lab/scenarios/runner.ts';
import type { ScenarioParams } from '../../lab/scenarios/types.ts';
import { validatePatch } from '../../lab/scenarios/validate-patch.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { buildTarget, dirs, skipReasonFor, targets } from './lab.ts';

const started: Guest[] = [];
afterAll(async () => {
  await Promise.all(started.map((g) => g.stop().catch(() => undefined)));
});

/** CI-sized knobs: a short B5; everything else at the scenario defaults. */
const PARAMS: Partial<Record<string, ScenarioParams>> = { 'dump-hang': { iterations: 500, budgetMs: 30_000 } };
const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-scenarios-'));

for (const target of targets) {
  const skip = skipReasonFor(target.name);
  describe(`scenarios on ${target.name}`, () => {
    it.skipIf(!!skip)(skip ?? 'every scenario gives its expected verdict with evidence', { timeout: 60 * 60_000 }, async () => {
      const bundle = await buildTarget(target.name);
      const guest = await startGuest(bundle.dir, { dirs });
      started.push(guest);
      const lines: string[] = [];
      for (const scenario of Object.values(SCENARIOS)) {
        const expected = (await loadExpectations(scenario.name)).targets.get(target.name);
        const r = await runScenario({ scenario, bundleDir: bundle.dir, repeat: 1, params: PARAMS[scenario.name] ?? {}, dirs, outDir: path.join(runRoot, target.name, scenario.name), guest });
        lines.push(`${scenario.name}: ${r.verdict} ${r.variants.map((v) => `${v.variant}=${v.outcome} (${v.symptom})`).join(' ')} ${JSON.stringify(r.key)}`);
        expect(r.verdict, `${scenario.name}: ${r.error ?? r.variants.map((v) => v.symptom).join(' | ')}`).toBe(expected?.verdict);
        for (const v of r.variants) {
          expect(v.symptom.length).toBeGreaterThan(0);
          for (const run of v.runs) if (run.evidence) await fs.access(run.evidence);
        }
        expect(r.depends.qemu).toContain(target.qemu.binary);
        expect(r.depends.uname).toContain(bundle.manifest.kernel.release);
        expect(r.depends.kernel.configSha256).toMatch(/^[0-9a-f]{64}$/);
        const saved = JSON.parse(await fs.readFile(path.join(r.evidenceDir, 'result.json'), 'utf8')) as { verdict: string };
        expect(saved.verdict).toBe(r.verdict);
      }
      console.log(`${target.name}\n  ${lines.join('\n  ')}`);
      await guest.stop();
    });
  });
}

const uclibcTargets = targets.filter((t) => t.libc.kind === 'uclibc');
const fix = path.join(repoRoot, 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs-peek-size-netlink-chunks.patch');

describe('validate-patch', () => {
  const available = uclibcTargets.filter((t) => !skipReasonFor(t.name));
  const skip = available.length ? undefined : skipReasonFor(uclibcTargets[0]!.name);
  it.skipIf(!!skip)(skip ?? "the lab's own B1 fix, validated as a user patch, fixes what the unpatched uClibc shows", { timeout: 60 * 60_000 }, async () => {
    const findings = await validatePatch({ patches: [fix], targets: available, dirs, sources: { dirs }, params: {}, outDir: path.join(runRoot, 'validate-fix') });
    for (const f of findings) {
      const expected = (await loadExpectations('getifaddrs')).targets.get(f.target)?.verdict;
      // Where the unpatched libc fails, the patch must fix it; elsewhere there is nothing to fix.
      expect(f.finding, f.detail).toBe(expected === 'CONFIRMED' ? 'FIXES' : 'NOTHING_TO_FIX');
    }
    console.log(findings.map((f) => `${f.target}: ${f.finding}\n    ${f.detail}`).join('\n'));
  });

  it.skipIf(!!skip)(skip ?? 'a patch that does not apply is a finding that names the patch, file and hunk', { timeout: 20 * 60_000 }, async () => {
    const bad = path.join(runRoot, 'bad.patch');
    await fs.writeFile(bad, ['--- a/libc/inet/ifaddrs.c', '+++ b/libc/inet/ifaddrs.c', '@@ -1,3 +1,3 @@', '-this line is not in uClibc', '+neither is this one', ' nor this', ' nor that', ''].join('\n'));
    const [finding] = await validatePatch({ patches: [bad], targets: available.slice(0, 1), dirs, sources: { dirs }, params: {}, outDir: path.join(runRoot, 'validate-bad') });
    expect(finding!.finding).toBe('DOES_NOT_APPLY');
    expect(finding!.detail).toMatch(/bad\.patch does not apply/);
    expect(finding!.detail).toMatch(/libc\/inet\/ifaddrs\.c/);
  });
});
