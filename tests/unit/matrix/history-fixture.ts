/** Kept runs made for the history tests: MatrixResult objects in the lab's real format (checked by its reader). */
import { checkMatrixResult, type MatrixCellResult, type MatrixResult } from '../../../lab/model/matrix-result.ts';
import type { Verdict } from '../../../lab/model/verdict.ts';
import type { KeptRun } from '../../../lab/matrix/history-analysis.ts';
import { timeStamp } from '../../../lab/util/paths.ts';

export const TARGETS = ['arm-a', 'mips-b'];
export const SCENARIOS = ['getifaddrs', 'uevent'];
/** What expect.json records for each cell (mips-b getifaddrs has no expectation). */
export const EXPECTED: Record<string, Verdict | undefined> = { 'arm-a/getifaddrs': 'CONFIRMED', 'arm-a/uevent': 'CONFIRMED', 'mips-b/getifaddrs': undefined, 'mips-b/uevent': 'CONFIRMED' };

/** A cell as TargetCells records it; `retried` gives it an ERROR first attempt (a USB stall on uevent). */
export function cell(target: string, scenario: string, verdict: Verdict | 'skipped', opts: { retried?: boolean; runDir?: string } = {}): MatrixCellResult {
  const ran = verdict !== 'skipped';
  const expected = EXPECTED[`${target}/${scenario}`];
  const stall = "ERROR: the guest's USB stack stalled: 4 of 10 devices never enumerated while held (+enum), so the burst did not happen as asked";
  const last = { verdict: verdict as Verdict, repeats: 1, usbStalls: verdict === 'ERROR' && scenario === 'uevent' ? 1 : 0, durationMs: 1000 };
  const attempts = !ran ? [] : opts.retried ? [{ verdict: 'ERROR' as const, error: stall, repeats: 1, usbStalls: 1, durationMs: 500 }, last] : [last];
  return {
    target,
    scenario,
    bug: scenario === 'uevent' ? 'B2' : 'B1',
    title: 't',
    status: ran ? 'ran' : 'skipped',
    ...(ran ? { verdict } : {}),
    ...(expected ? { expected } : {}),
    asExpected: ran && verdict === expected,
    summary: !ran ? 'skipped: linux-3.10.108.tar.xz not available' : verdict === 'ERROR' ? `unpatched: ${stall}` : `unpatched: errno=EBUSY`,
    variants: ran ? [{ variant: 'unpatched', role: 'unpatched', outcome: verdict === 'ERROR' ? 'ERROR' : 'FAIL', symptom: 'errno=EBUSY' }] : [],
    key: {},
    attempts,
    ...(opts.retried ? { retried: `the first attempt ended in ERROR (${stall}); retried once on a fresh boot` } : {}),
    ...(ran && opts.runDir ? { evidenceDir: `${opts.runDir}/${target}/${scenario}` } : {}),
    durationMs: attempts.reduce((s, a) => s + a.durationMs, 0),
  };
}

/** Night n's verdicts by "target/scenario" ('skipped': planned, not run; absent from the map: CONFIRMED; `omit`: not planned at all). */
export interface Night {
  verdicts?: Record<string, Verdict | 'skipped'>;
  retried?: string[];
  omit?: string[];
  buildSeconds?: number;
}

/** Nightly runs from 2026-11-01 01:00, one day apart, each read back through the lab's reader. */
export function nights(specs: Night[], root = '/runs'): KeptRun[] {
  return specs.map((n, i) => {
    const start = new Date(Date.UTC(2026, 10, 1 + i, 1, 0, 0));
    const name = timeStamp(start);
    const outDir = `${root}/${name}`;
    const cells = TARGETS.flatMap((t) => SCENARIOS.map((s) => `${t}/${s}`))
      .filter((id) => !n.omit?.includes(id))
      .map((id) => {
        const [t, s] = id.split('/') as [string, string];
        return cell(t, s, n.verdicts?.[id] ?? 'CONFIRMED', { retried: n.retried?.includes(id) ?? false, runDir: outDir });
      });
    const result: MatrixResult = {
      schema: 1,
      kind: 'reprolab-matrix',
      plan: { targets: TARGETS, scenarios: SCENARIOS, sweeps: [], repeat: 1, params: {} },
      shards: [{ index: 1, count: 1 }],
      startedAt: start.toISOString(),
      finishedAt: new Date(start.getTime() + 600_000).toISOString(),
      durationMs: 600_000 + i * 1000,
      jobs: 2,
      host: { hostname: 'h', cpus: 2, memGiB: 24 },
      outDir,
      targets: TARGETS.map((target) => ({ target, status: 'ran', boots: 1, buildSeconds: n.buildSeconds ?? 2 })),
      cells,
      sweeps: [],
    };
    return { name, file: `${outDir}/matrix.json`, result: checkMatrixResult(`${outDir}/matrix.json`, JSON.parse(JSON.stringify(result))) };
  });
}
