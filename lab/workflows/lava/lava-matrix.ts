import os from 'node:os';
import { loadExpectations, type Expectation } from '../../catalog/expectations.ts';
import { MATRIX_SCHEMA, type MatrixCellResult, type MatrixResult } from '../../model/matrix-result.ts';
import { findScenario } from '../../scenarios/registry.ts';
import { timeoutMultiplier } from '../../util/timeouts.ts';
import type { LavaCell } from './results.ts';

/** One cell read back, and what it is held to. */
export interface ReadCell {
  cell: LavaCell;
  durationMs: number;
  evidenceDir?: string;
  /** The name expect.json knows the target by (an imported product's --like); default the target's. */
  expectAs?: string;
  /** The expectation the job carried; null: none applies (a board's kernel decides). Default: expect.json's. */
  expectation?: Expectation | null;
}

/** A cell read back from LAVA as the matrix's cell: the same verdicts, reports and comparisons as a lab run. */
async function matrixCell(r: ReadCell): Promise<MatrixCellResult> {
  const { cell: c } = r;
  const o = { durationMs: r.durationMs, ...(r.evidenceDir ? { evidenceDir: r.evidenceDir } : {}) };
  const s = findScenario(c.scenario);
  const expectation = r.expectation !== undefined ? (r.expectation ?? undefined) : s ? (await loadExpectations(s.name, s.definition?.expectFile)).targets.get(r.expectAs ?? c.target) : undefined;
  const unpatched = c.variants.find((v) => v.role === 'unpatched');
  const summary = c.error ? `LAVA: ${c.error}` : (unpatched?.symptom ?? '');
  return {
    target: c.target,
    scenario: c.scenario,
    bug: s?.bug ?? '',
    title: s?.title ?? c.scenario,
    status: 'ran',
    verdict: c.verdict,
    ...(expectation ? { expected: expectation.verdict, expectedNote: expectation.note } : {}),
    asExpected: expectation?.verdict === c.verdict,
    summary,
    rate: c.rate,
    variants: c.variants.map((v) => ({ variant: v.role, role: v.role, outcome: v.outcome, symptom: v.symptom })),
    key: c.key,
    attempts: [{ verdict: c.verdict, ...(c.error ? { error: c.error } : {}), ...(o.evidenceDir ? { evidenceDir: o.evidenceDir } : {}), durationMs: o.durationMs }],
    ...(o.evidenceDir ? { evidenceDir: o.evidenceDir } : {}),
    durationMs: o.durationMs,
  };
}

/** The cells of one or more LAVA jobs as a matrix.json (the report writers take nothing else). */
export async function lavaMatrixResult(cells: ReadCell[], o: { outDir: string; startedAt: Date; repeat: number }): Promise<MatrixResult> {
  const finished = new Date();
  const targets = [...new Set(cells.map((c) => c.cell.target))];
  return {
    schema: MATRIX_SCHEMA,
    kind: 'reprolab-matrix',
    plan: { targets, scenarios: [...new Set(cells.map((c) => c.cell.scenario))], sweeps: [], repeat: o.repeat, params: {} },
    shards: [{ index: 1, count: 1 }],
    startedAt: o.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - o.startedAt.getTime(),
    jobs: 1,
    timeoutMultiplier: timeoutMultiplier(),
    host: { hostname: os.hostname(), cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    outDir: o.outDir,
    targets: targets.map((target) => ({ target, status: 'ran', boots: cells.filter((c) => c.cell.target === target).length })),
    cells: await Promise.all(cells.map(matrixCell)),
    sweeps: [],
  };
}
