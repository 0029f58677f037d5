/**
 * End-to-end: `reprolab soak dump-hang` on a real arm 3.10 + uClibc guest — two 20 s rounds of the
 * blocking reader under churn, saved round by round, then --resume adds one more on a fresh boot.
 * Skipped, saying which archive is missing, when the target's sources are absent.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { upperBound95 } from '../../lab/util/binomial.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { progressPath, readProgress } from '../../lab/workflows/soak/progress.ts';
import { buildTarget, skipReasonFor } from './lab.ts';

const TARGET = 'arm-versatile-3.10-uclibc';
const skip = skipReasonFor(TARGET);

/** The one JSON object a soak prints, its numbers read without trusting their types. */
function soakJson(stdout: string): (key: string) => number {
  const v: unknown = JSON.parse(stdout);
  if (typeof v !== 'object' || v === null) throw new Error(`not a JSON object: ${stdout.slice(0, 200)}`);
  const fields: Map<string, unknown> = new Map(Object.entries(v));
  return (key) => {
    const n = fields.get(key);
    if (typeof n !== 'number') throw new Error(`${key} is not a number in ${stdout.slice(0, 500)}`);
    return n;
  };
}

describe('reprolab soak', () => {
  it.skipIf(!!skip)(skip ?? `soaks dump-hang's blocking reader under churn on ${TARGET}, saves every round, and --resume adds one`, { timeout: 10 * 60_000 }, async () => {
    await buildTarget(TARGET); // a cache hit when the image is built: the soak's own build is then a no-op too
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-soak-')), 'soak');
    const soak = (...args: string[]) => execa(path.join(repoRoot, 'reprolab'), ['soak', 'dump-hang', '--target', TARGET, '--round', '20s', '--out', out, '--json', ...args], { reject: false, stdin: 'ignore' });

    const first = await soak('--duration', '40s');
    expect(first.exitCode, first.stderr.slice(-3000)).toBe(0);
    const a = soakJson(first.stdout);
    expect(a('hangs')).toBe(0);
    expect(a('rounds')).toBe(2);
    expect(a('dumps')).toBeGreaterThan(0);
    expect(a('seconds')).toBeGreaterThanOrEqual(40);
    expect(a('bound')).toBe(upperBound95(0, a('dumps')));
    expect(first.stderr).toMatch(/soak: round 2 ok: \d+ dumps, 0 hangs in 4\d\.\d s/);

    const second = await soak('--resume', '--duration', '60s');
    expect(second.exitCode, second.stderr.slice(-3000)).toBe(0);
    const b = soakJson(second.stdout);
    expect(b('rounds')).toBe(3);
    expect(b('hangs')).toBe(0);
    expect(b('dumps')).toBeGreaterThan(a('dumps'));
    expect(b('seconds')).toBeGreaterThanOrEqual(60);
    expect(b('bound')).toBe(upperBound95(0, b('dumps')));
    expect(b('bound')).toBeLessThan(a('bound'));

    // The progress file, read back by the lab's own reader: three rounds, each under churn that took effect.
    const p = await readProgress(progressPath(out));
    expect(p.header).toMatchObject({ scenario: 'dump-hang', target: TARGET, reader: 'legacy' });
    expect(p.rounds.map((r) => [r.round, r.outcome])).toEqual([[1, 'PASS'], [2, 'PASS'], [3, 'PASS']]);
    let dumps = 0;
    for (const r of p.rounds) {
      if (r.outcome === 'ERROR') throw new Error(r.error);
      expect(r.churn.rounds, `round ${r.round}`).toBeGreaterThanOrEqual(2);
      expect(r.churn.socketsOpened, `round ${r.round}`).toBeGreaterThan(0);
      expect(r.churn.linksAdded + r.churn.linksDeleted, `round ${r.round}`).toBeGreaterThan(0);
      expect(r.setChanges, `round ${r.round}`).toBeGreaterThan(0);
      expect(await fs.readFile(path.join(out, r.evidence), 'utf8')).toContain('REPROLAB-RESULT {"probe":"dump-hang","mode":"blocking"');
      dumps += r.dumps;
    }
    expect(dumps).toBe(b('dumps'));
    // The resumed soak booted afresh; the first boot's console log is still there.
    expect(p.rounds.map((r) => r.console)).toEqual(['session-1/boot-1/console.log', 'session-1/boot-1/console.log', 'session-2/boot-1/console.log']);
    for (const s of ['session-1', 'session-2']) expect((await fs.stat(path.join(out, s, 'boot-1', 'console.log'))).size).toBeGreaterThan(0);
  });

  it.skipIf(!!skip)(skip ?? 'a scenario whose kernel options the image lacks is an ERROR (exit 3) before anything boots', { timeout: 10 * 60_000 }, async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-soak-kernel-'));
    // dump-hang as a user's scenario (its probe copied in), needing an option no lab kernel sets.
    const dir = path.join(root, 'scenarios', 'needs-kernel');
    await fs.mkdir(path.join(dir, 'probes'), { recursive: true });
    await fs.copyFile(path.join(repoRoot, 'images', 'probes', 'dump-hang.c'), path.join(dir, 'probes', 'dump-hang.c'));
    const def = JSON.parse(await fs.readFile(path.join(repoRoot, 'images', 'scenarios', 'dump-hang', 'scenario.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(path.join(dir, 'scenario.json'), JSON.stringify({ ...def, name: 'needs-kernel', bug: 'B5-TEST', kernelOptions: ['CONFIG_REPROLAB_NOT_AN_OPTION'] }));
    const out = path.join(root, 'soak');
    const r = await execa(path.join(repoRoot, 'reprolab'), ['soak', 'needs-kernel', '--target', TARGET, '--duration', '20s', '--out', out, '--json'], { reject: false, stdin: 'ignore', env: { REPROLAB_SCENARIOS: path.join(root, 'scenarios') } });
    expect(r.exitCode, r.stderr.slice(-3000)).toBe(3);
    const j = JSON.parse(r.stdout) as { error?: string; dumps: number };
    expect(j.error).toMatch(/^needs-kernel needs CONFIG_REPROLAB_NOT_AN_OPTION=y in the kernel; the kernel of arm-versatile-3\.10-uclibc does not set CONFIG_REPROLAB_NOT_AN_OPTION \(.*images\/kernel\.config\)$/);
    expect(j.dumps).toBe(0);
    // Nothing booted, nothing begun.
    const left = await fs.readdir(out).catch(() => [] as string[]);
    expect(left).not.toContain('progress.jsonl');
    expect(left).not.toContain('session-1');
  });
});
