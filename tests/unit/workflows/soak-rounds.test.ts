import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JUDGE_CAPABILITIES } from '../../../lab/catalog/scenario-defs.ts';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import { scenarioByName } from '../../../lab/scenarios/registry.ts';
import { upperBound95 } from '../../../lab/util/binomial.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { soakPlan } from '../../../lab/workflows/soak/plan.ts';
import { appendRound, createProgress, progressPath, readProgress, type MeasuredRound, type SoakRound } from '../../../lab/workflows/soak/progress.ts';
import { ROUND_ITERATIONS, type RoundContext } from '../../../lab/workflows/soak/round.ts';
import { nextBudgetMs, soakRounds, type SoakOptions } from '../../../lab/workflows/soak/soak.ts';
import { soakTotals, totalsLine } from '../../../lab/workflows/soak/tally.ts';
import { sampleManifest, tempDirs } from '../../helpers.ts';

/*
 * The rounds loop on a fake guest: the churn helper's counters and the reader's result line are
 * the guest's answers, so what a round counts (and what it refuses to count) is checked here.
 */
interface Guest {
  /** Churn counters move between two readings. */
  churn: boolean;
  /** Socket-set changes the reader reports. */
  setChanges: number;
  hangs?: number;
  /** The reader never answers: the host's watchdog ends it. */
  wedged?: boolean;
}

function fakeGuest(g: Guest) {
  let reading = 0;
  const budgets: number[] = [];
  const guest = {
    async exec(argv: string[]): Promise<ExecResult> {
      const cmd = argv.join(' ');
      let out = '';
      if (cmd.includes('rl-fabric churn')) out = 'REPROLAB-FABRIC {"ok":true,"pid":321}\n';
      else if (cmd === 'cat /tmp/rl-churn-321') {
        const n = g.churn ? 40 * reading++ : 0;
        out = `REPROLAB-FABRIC {"ok":true,"rounds":${n},"socketsOpened":${n * 25},"socketFailures":0,"linkRounds":${n},"linksAdded":${n * 4},"linkFailures":0,"linksDeleted":${n * 4}}\n`;
      } else if (cmd.includes('/dump-hang blocking')) {
        if (g.wedged) throw new LabError('guest command timed out after 65000 ms');
        const budget = Number(argv.at(-1));
        budgets.push(budget);
        const dumps = budget * 2;
        out = `REPROLAB-RESULT {"probe":"dump-hang","mode":"blocking","ok":${!g.hangs},"asked":${ROUND_ITERATIONS},"iterations":${dumps},"hangs":${g.hangs ?? 0},"recoveries":0,"errors":0,"stoppedBy":"budget","maxIterationMs":12.5,"elapsedMs":${budget + 3},"minSockets":226,"maxSockets":252,"setChanges":${g.setChanges}}\n`;
      } else if (cmd.includes('links-del')) out = 'REPROLAB-FABRIC {"ok":true,"deleted":4,"failed":0}\n';
      return { exitCode: 0, stdout: out, stderr: '', stdoutBuffer: Buffer.from(out) };
    },
  };
  return { guest, budgets };
}

async function soakOn(g: Guest, durationMs: number, previous: SoakRound[] = []) {
  const { root, dirs } = await tempDirs();
  const plan = soakPlan(scenarioByName('dump-hang'));
  const { guest, budgets } = fakeGuest(g);
  const manifest = sampleManifest();
  const ctx: RoundContext = { guest, manifest, reader: { variant: 'legacy', role: 'unpatched', probeDir: '/opt/reprolab/probes/unpatched', describe: 'legacy' }, outDir: root, evidenceDir: path.join(root, 'rounds'), consoleLog: path.join(root, 'session-1', 'boot-1', 'console.log') };
  const lines: string[] = [];
  const opts: SoakOptions = { plan, bundleDir: root, manifest, dirs, outDir: root, durationMs, roundMs: 20_000, previous, progress: (l) => lines.push(l) };
  await createProgress(progressPath(root), { kind: 'reprolab-soak', schema: 1, scenario: 'dump-hang', target: 'fake-target', bundle: 'k1', reader: 'legacy', started: '2026-12-06T10:00:00.000Z' });
  for (const r of previous) await appendRound(progressPath(root), r);
  const rounds = [...previous];
  const error = await soakRounds(opts, ctx, rounds);
  return { error, rounds, budgets, lines, root, saved: (await readProgress(progressPath(root))).rounds };
}

describe('the soak rounds', () => {
  it('runs rounds under churn until the duration is soaked, each appended to progress.jsonl as it ends', async () => {
    const s = await soakOn({ churn: true, setChanges: 50 }, 45_000);
    expect(s.error).toBeUndefined();
    // 20 s, 20 s, then what is left (5 s, the shortest round) — with a huge iteration count, so the budget ends each.
    expect(s.budgets).toEqual([20_000, 20_000, 5_000]);
    expect(s.saved).toEqual(s.rounds);
    expect(s.rounds.map((r) => r.outcome)).toEqual(['PASS', 'PASS', 'PASS']);
    const first = s.rounds[0];
    if (!first || first.outcome === 'ERROR') throw new Error('round 1 did not measure');
    expect(first).toMatchObject({ round: 1, seconds: 20.003, dumps: 40_000, hangs: 0, setChanges: 50, churn: { rounds: 40, socketsOpened: 1000, linksAdded: 160, linksDeleted: 160 }, evidence: 'rounds/r1-unpatched-legacy-dump-hang.txt', console: 'session-1/boot-1/console.log' });
    expect(await fs.readFile(path.join(s.root, first.evidence), 'utf8')).toContain(`dump-hang blocking ${ROUND_ITERATIONS} 20000`);
    expect(s.lines.at(-1)).toBe(`round 3 ok: ${totalsLine(soakTotals(s.rounds))}`);
  });

  it('a resumed soak numbers its rounds after the previous ones and soaks only what is left', async () => {
    const before = (await soakOn({ churn: true, setChanges: 50 }, 40_000)).rounds;
    const s = await soakOn({ churn: true, setChanges: 50 }, 60_000, before);
    // 40.003 s were soaked (a reader overruns its budget by a few ms): 19.997 s are left.
    expect(soakTotals(before).seconds).toBe(40.003);
    expect(s.budgets).toEqual([19_997]);
    expect(s.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
  });

  it('a round whose churn did not run is an ERROR that ends the soak and counts nothing', async () => {
    const s = await soakOn({ churn: false, setChanges: 50 }, 60_000);
    expect(s.rounds).toHaveLength(1);
    expect(s.saved[0]).toMatchObject({ outcome: 'ERROR', error: expect.stringMatching(/^the churn did not take effect: the churn daemon ran 0 rounds while the probes ran/) });
    expect(s.error).toMatch(/^round 1: the churn did not take effect/);
    expect(soakTotals(s.rounds)).toMatchObject({ dumps: 0, seconds: 0, rounds: 0, errorRounds: 1 });
  });

  it('a round whose dumps all saw one socket set is an ERROR, never clean dumps', async () => {
    const s = await soakOn({ churn: true, setChanges: 0 }, 60_000);
    expect(s.saved[0]).toMatchObject({ outcome: 'ERROR', error: expect.stringMatching(/the churn did not take effect: all 40000 dumps saw the same socket set/) });
    expect(soakTotals(s.rounds).dumps).toBe(0);
  });

  it('a hang is counted (FAIL) and the soak goes on; a reader the host watchdog ends is an ERROR', async () => {
    const s = await soakOn({ churn: true, setChanges: 50, hangs: 1 }, 40_000);
    expect(s.error).toBeUndefined();
    expect(s.rounds.map((r) => r.outcome)).toEqual(['FAIL', 'FAIL']);
    expect(soakTotals(s.rounds)).toMatchObject({ hangs: 2, hangRounds: [1, 2] });
    const w = await soakOn({ churn: true, setChanges: 50, wedged: true }, 40_000);
    expect(w.saved[0]).toMatchObject({ outcome: 'ERROR', error: 'guest command timed out after 65000 ms' });
    expect(w.error).toBe('round 1: guest command timed out after 65000 ms');
  });
});

describe('which scenarios soak', () => {
  it("the judge's capabilities say so, never the scenario's or the judge's name", () => {
    expect(soakPlan(scenarioByName('dump-hang')).churn).toEqual({ sockets: 50, links: 4, periodMs: 20 });
    expect(() => soakPlan(scenarioByName('dump-buffer'))).toThrow(/^scenario dump-buffer cannot soak: its judge \(the counts rule \(sockets truth\)\) does not count dumps and hangs/);
    JUDGE_CAPABILITIES['dump-hang'].soaks = false;
    try {
      expect(() => soakPlan(scenarioByName('dump-hang'))).toThrow(/^scenario dump-hang cannot soak: its judge \(the dump-hang judge\)/);
    } finally {
      JUDGE_CAPABILITIES['dump-hang'].soaks = true;
    }
    JUDGE_CAPABILITIES.getifaddrs.soaks = true;
    try {
      // getifaddrs would soak by its judge, but has no churn to soak under.
      expect(() => soakPlan(scenarioByName('getifaddrs'))).toThrow(/^scenario getifaddrs cannot soak: its fabric has no churn/);
    } finally {
      JUDGE_CAPABILITIES.getifaddrs.soaks = false;
    }
  });
});

describe('the totals and the bound', () => {
  const m = (n: number, dumps: number, hangs: number, seconds: number): MeasuredRound => ({
    round: n, startedAt: '2026-12-06T10:00:00.000Z', outcome: hangs ? 'FAIL' : 'PASS', seconds, dumps, hangs, errors: 0, setChanges: 10, maxIterationMs: 1,
    churn: { rounds: 30, socketsOpened: 1, linksAdded: 1, linksDeleted: 1 }, evidence: 'rounds/x.txt', console: 'c.log',
  });

  it('sums the measured rounds only, and bounds the hang rate from the totals (Clopper-Pearson)', () => {
    const rounds: SoakRound[] = [m(1, 60_000, 0, 30.001), { round: 2, startedAt: '2026-12-06T10:00:00.000Z', outcome: 'ERROR', error: 'x', console: 'c.log' }, m(3, 59_000, 1, 30.002), m(4, 1000, 0, 0.1)];
    const t = soakTotals(rounds);
    expect(t).toMatchObject({ dumps: 120_000, hangs: 1, seconds: 60.103, rounds: 3, errorRounds: 1, hangRounds: [3], setChanges: 30, churnRounds: 90 });
    expect(t.bound).toBe(upperBound95(1, 120_000));
    expect(t.bound).toBeCloseTo(3.95e-5, 6);
    expect(t.dumpsPerSecond).toBe(1996.6);
    expect(soakTotals([m(1, 30_000, 0, 10)]).bound).toBeCloseTo(9.98e-5, 6);
    expect(soakTotals([])).toMatchObject({ dumps: 0, seconds: 0, bound: 1, dumpsPerSecond: 0 });
    expect(totalsLine(t)).toBe('120000 dumps, 1 hang in 60.1 s (1996.6 dumps/s); 95% upper bound on the hang rate 4.0e-5');
  });

  it('a round is the round length, or what is left of the duration, but never under 5 s', () => {
    expect(nextBudgetMs(300_000, 30_000)).toBe(30_000);
    expect(nextBudgetMs(12_345.2, 30_000)).toBe(12_346);
    expect(nextBudgetMs(800, 30_000)).toBe(5_000);
  });
});
