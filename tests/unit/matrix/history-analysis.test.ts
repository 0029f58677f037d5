import { describe, expect, it } from 'vitest';
import { analyseHistory } from '../../../lab/matrix/history-analysis.ts';
import type { HistoryResult } from '../../../lab/model/history-result.ts';
import type { Verdict } from '../../../lab/model/verdict.ts';
import { nights, type Night } from './history-fixture.ts';

const cellOf = (h: HistoryResult, id: string) => h.cells.find((c) => `${c.target}/${c.scenario}` === id)!;
const regressionsOf = (h: HistoryResult, id: string) => h.regressions.filter((r) => `${r.target}/${r.scenario}` === id);
/** One cell's verdict per night, every other cell CONFIRMED. */
const series = (id: string, verdicts: (Verdict | 'skipped')[]): Night[] => verdicts.map((v) => ({ verdicts: { [id]: v } }));

describe('flaky cells', () => {
  it('a verdict that flips back and forth is flaky, at flips / (runs judged − 1)', () => {
    const h = analyseHistory('/runs', nights(series('arm-a/getifaddrs', ['CONFIRMED', 'NOT_REPRODUCED', 'CONFIRMED', 'NOT_REPRODUCED', 'CONFIRMED', 'CONFIRMED'])));
    expect(cellOf(h, 'arm-a/getifaddrs')).toMatchObject({ judged: 6, flips: 4, flakyRate: 0.8, flaky: true });
    expect(cellOf(h, 'arm-a/getifaddrs').series.map((p) => p.mark)).toEqual(['CONFIRMED', 'NOT_REPRODUCED', 'CONFIRMED', 'NOT_REPRODUCED', 'CONFIRMED', 'CONFIRMED']);
    expect(cellOf(h, 'arm-a/uevent')).toMatchObject({ judged: 6, flips: 0, flakyRate: 0, flaky: false });
  });

  it('one lasting change is not a flake (it is a regression); an ERROR between two verdicts is', () => {
    const moved = analyseHistory('/runs', nights(series('mips-b/uevent', ['CONFIRMED', 'CONFIRMED', 'FIX_INEFFECTIVE', 'FIX_INEFFECTIVE'])));
    expect(cellOf(moved, 'mips-b/uevent')).toMatchObject({ flips: 1, flaky: false });
    const blip = analyseHistory('/runs', nights(series('mips-b/uevent', ['CONFIRMED', 'ERROR', 'CONFIRMED', 'CONFIRMED', 'CONFIRMED'])));
    expect(cellOf(blip, 'mips-b/uevent')).toMatchObject({ judged: 5, flips: 2, flakyRate: 0.5, flaky: true });
  });

  it('runs that did not judge the cell (skipped, not planned) are passed over, and shown as such', () => {
    const h = analyseHistory('/runs', nights([{}, { verdicts: { 'arm-a/getifaddrs': 'skipped' } }, { omit: ['arm-a/getifaddrs'] }, {}]));
    const c = cellOf(h, 'arm-a/getifaddrs');
    expect(c.series.map((p) => p.mark)).toEqual(['CONFIRMED', 'SKIPPED', 'NOT_RUN', 'CONFIRMED']);
    expect(c).toMatchObject({ judged: 2, flips: 0, flaky: false });
  });
});

describe('ERRORs', () => {
  it('an ERROR that recovered is one stretch with the run that recovered it and the verdict it came back to; not a regression', () => {
    const h = analyseHistory('/runs', nights([{}, { verdicts: { 'mips-b/uevent': 'ERROR' }, retried: ['mips-b/uevent'] }, { verdicts: { 'mips-b/uevent': 'ERROR' } }, {}]));
    expect(h.errors).toEqual([expect.objectContaining({ target: 'mips-b', scenario: 'uevent', startedRun: 2, runs: 2, recoveredRun: 4, recoveredTo: 'CONFIRMED' })]);
    expect(h.errors[0]!.error).toMatch(/USB stack stalled/);
    expect(regressionsOf(h, 'mips-b/uevent')).toEqual([]);
    expect(cellOf(h, 'mips-b/uevent').series[1]).toMatchObject({ mark: 'ERROR', unexpected: true, retried: true });
  });

  it('an ERROR in the newest run is still ERROR (no recovery)', () => {
    const h = analyseHistory('/runs', nights([{}, {}, { verdicts: { 'arm-a/uevent': 'ERROR' } }]));
    expect(h.errors).toEqual([expect.objectContaining({ target: 'arm-a', scenario: 'uevent', startedRun: 3, runs: 1 })]);
    expect(h.errors[0]!.recoveredRun).toBeUndefined();
  });
});

describe('regressions', () => {
  const runs = nights([
    {},
    {},
    { verdicts: { 'arm-a/getifaddrs': 'FIX_INEFFECTIVE' } },
    { verdicts: { 'arm-a/getifaddrs': 'FIX_INEFFECTIVE', 'mips-b/uevent': 'NOT_REPRODUCED' } },
    { verdicts: { 'mips-b/uevent': 'ERROR' } },
    { verdicts: { 'mips-b/uevent': 'PATCH_REGRESSION' } },
  ]);
  const h = analyseHistory('/runs', runs);

  it('one still active: the run where it started, the verdicts it moved to, ERROR neither ending nor starting it', () => {
    expect(regressionsOf(h, 'mips-b/uevent')).toEqual([
      { target: 'mips-b', scenario: 'uevent', against: 'expected', from: 'CONFIRMED', to: 'NOT_REPRODUCED', latest: 'PATCH_REGRESSION', startedRun: 4, sinceOldest: false, active: true },
    ]);
  });

  it('one that ended: the run where the verdict came back', () => {
    expect(regressionsOf(h, 'arm-a/getifaddrs')).toEqual([
      { target: 'arm-a', scenario: 'getifaddrs', against: 'expected', from: 'CONFIRMED', to: 'FIX_INEFFECTIVE', latest: 'FIX_INEFFECTIVE', startedRun: 3, sinceOldest: false, endedRun: 5, active: false },
    ]);
  });

  it('active ones are listed first, even one that started before an ended one', () => {
    const g = analyseHistory('/runs', nights([{}, { verdicts: { 'mips-b/uevent': 'NOT_REPRODUCED' } }, { verdicts: { 'mips-b/uevent': 'NOT_REPRODUCED', 'arm-a/getifaddrs': 'FIX_INEFFECTIVE' } }, { verdicts: { 'mips-b/uevent': 'NOT_REPRODUCED' } }]));
    expect(g.regressions.map((r) => [r.scenario, r.startedRun, r.active])).toEqual([
      ['uevent', 2, true],
      ['getifaddrs', 3, false],
    ]);
  });

  it('without an expectation, against the verdict it last held two judged runs in a row; that baseline stays while it is away', () => {
    const g = analyseHistory('/runs', nights(series('mips-b/getifaddrs', ['CONFIRMED', 'NOT_REPRODUCED', 'NOT_REPRODUCED', 'ERROR', 'CONFIRMED', 'CONFIRMED', 'CONFIRMED'])));
    expect(regressionsOf(g, 'mips-b/getifaddrs')).toEqual([
      { target: 'mips-b', scenario: 'getifaddrs', against: 'stable', from: 'NOT_REPRODUCED', to: 'CONFIRMED', latest: 'CONFIRMED', startedRun: 5, sinceOldest: false, active: true },
    ]);
  });

  it('away already in the first run that judged it: it may have started before the runs kept', () => {
    const g = analyseHistory('/runs', nights(series('arm-a/getifaddrs', ['skipped', 'NOT_REPRODUCED', 'CONFIRMED'])));
    expect(regressionsOf(g, 'arm-a/getifaddrs')).toEqual([expect.objectContaining({ startedRun: 2, sinceOldest: true, endedRun: 3, active: false })]);
  });
});

describe('per target', () => {
  it('retried cells, USB bursts and stalls, and durations run by run', () => {
    const h = analyseHistory('/runs', nights([{ buildSeconds: 300 }, { verdicts: { 'mips-b/uevent': 'CONFIRMED' }, retried: ['mips-b/uevent'] }, { verdicts: { 'mips-b/uevent': 'ERROR' } }]));
    const mips = h.targets.find((t) => t.target === 'mips-b')!;
    expect(mips.retries).toEqual([{ run: 2, scenario: 'uevent', reason: expect.stringMatching(/^the first attempt ended in ERROR/) }]);
    // One burst per uevent attempt: 1 + 2 (retried) + 1; stalled: the retried night's first try and night 3's.
    expect(mips.usb).toEqual({ bursts: 4, stalls: 2, runsWithStalls: [2, 3] });
    expect(mips.durations).toEqual([
      { run: 1, buildMs: 300_000, cellsMs: 2000, boots: 1 },
      { run: 2, buildMs: 2000, cellsMs: 2500, boots: 1 },
      { run: 3, buildMs: 2000, cellsMs: 2000, boots: 1 },
    ]);
    expect(h.targets.find((t) => t.target === 'arm-a')!).toMatchObject({ retries: [], usb: { bursts: 3, stalls: 0, runsWithStalls: [] } });
    expect(h.runs.map((r) => [r.index, r.judged, r.cells])).toEqual([
      [1, 4, 4],
      [2, 4, 4],
      [3, 4, 4],
    ]);
  });
});
