import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { compareMatrices, formatComparison } from '../../../lab/matrix/compare.ts';
import { mergeShards } from '../../../lab/matrix/merge.ts';
import { cellId, defaultJobs, parseShard, parseSweepRequest, planMatrix, shardCells } from '../../../lab/matrix/plan.ts';
import { checkMatrixResult, loadMatrixResult, type MatrixCellResult, type MatrixResult } from '../../../lab/model/matrix-result.ts';
import { listRuns, previousRun, pruneRuns, runsToPrune } from '../../../lab/matrix/history.ts';
import { timeStamp } from '../../../lab/util/paths.ts';
import { matrixHtml } from '../../../lab/report/html.ts';
import { matrixJUnit } from '../../../lab/report/junit.ts';
import { writeReports } from '../../../lab/matrix/matrix.ts';
import { usbStallRates } from '../../../lab/matrix/usb-stalls.ts';
import { type Verdict } from '../../../lab/model/verdict.ts';
import { tempDirs } from '../../helpers.ts';

const TARGETS = ['arm-a', 'mips-b', 'mips-c'];
const SCENARIOS = ['getifaddrs', 'uevent', 'dump-read'];

function cell(target: string, scenario: string, verdict: Verdict | 'skipped', expected: Verdict = 'CONFIRMED'): MatrixCellResult {
  const ran = verdict !== 'skipped';
  return {
    target,
    scenario,
    bug: 'B1',
    title: 't',
    status: ran ? 'ran' : 'skipped',
    ...(ran ? { verdict } : {}),
    expected,
    asExpected: ran && verdict === expected,
    summary: ran ? `unpatched: errno=EBUSY <&> "x"` : 'skipped: linux-3.10.108.tar.xz not available',
    variants: ran ? [{ variant: 'unpatched', role: 'unpatched', outcome: 'FAIL', symptom: 'errno=EBUSY', evidence: ['/runs/x/unpatched.txt'] }] : [],
    key: ran ? { firstChunkBytes: 7660 } : {},
    attempts: ran ? [{ verdict, durationMs: 1000 }] : [],
    ...(ran ? { evidenceDir: `/runs/r/${target}/${scenario}` } : {}),
    durationMs: ran ? 1000 : 0,
  };
}

function matrix(verdicts: Record<string, Verdict | 'skipped'>, over: Partial<MatrixResult> = {}): MatrixResult {
  return {
    schema: 1,
    kind: 'reprolab-matrix',
    plan: { targets: TARGETS, scenarios: SCENARIOS, sweeps: [], repeat: 1, params: {} },
    shards: [{ index: 1, count: 1 }],
    startedAt: '2026-11-22T01:00:00.000Z',
    finishedAt: '2026-11-22T01:10:00.000Z',
    durationMs: 600_000,
    jobs: 2,
    host: { hostname: 'h', cpus: 2, memGiB: 24 },
    outDir: '/runs/r',
    targets: TARGETS.map((target) => ({ target, status: 'ran', boots: 1 })),
    cells: planMatrix(TARGETS, SCENARIOS).map((c) => cell(c.target, c.scenario, verdicts[cellId(c)] ?? 'CONFIRMED')),
    sweeps: [],
    ...over,
  };
}

describe('matrix plan and shards', () => {
  it('plans target-major and shards round-robin: disjoint, complete, balanced, the same on every machine', () => {
    const plan = planMatrix(TARGETS, SCENARIOS);
    expect(plan.map(cellId).slice(0, 4)).toEqual(['arm-a/getifaddrs', 'arm-a/uevent', 'arm-a/dump-read', 'mips-b/getifaddrs']);
    for (const n of [1, 2, 4, 9, 12]) {
      const shards = Array.from({ length: n }, (_, i) => shardCells(plan, { index: i + 1, count: n }).map(cellId));
      expect(shards.flat().sort()).toEqual(plan.map(cellId).sort());
      expect(new Set(shards.flat()).size).toBe(plan.length);
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(shards).toEqual(Array.from({ length: n }, (_, i) => shardCells(plan, { index: i + 1, count: n }).map(cellId)));
    }
  });

  it('numbers the items that follow the cells (the sweeps) after them', () => {
    // 9 cells then 3 sweeps: positions 9, 10, 11 go to shards 2, 1, 2 of 2.
    expect(shardCells(['s9', 's10', 's11'], { index: 1, count: 2 }, 9)).toEqual(['s10']);
    expect(shardCells(['s9', 's10', 's11'], { index: 2, count: 2 }, 9)).toEqual(['s9', 's11']);
  });

  it('parses I/N and refuses what is not a shard', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3']) expect(() => parseShard(bad)).toThrow(/--shard .*expected I\/N/);
  });

  it('picks VMs at once from cores and free memory', () => {
    const GiB = 2 ** 30;
    expect(defaultJobs(2, 20 * GiB, 256)).toBe(2);
    expect(defaultJobs(16, 2 * GiB, 256)).toBe(3);
    expect(defaultJobs(8, 100 * 2 ** 20, 256)).toBe(1);
  });

  it('parses sweep requests and names what is wrong', () => {
    expect(parseSweepRequest('getifaddrs-mechanism:0..48:16')).toMatchObject({ scenario: 'getifaddrs-mechanism', axis: 'interfaces', range: { from: 0, to: 48, step: 16 } });
    expect(parseSweepRequest('uevent:2..10:4')).toMatchObject({ axis: 'burst' });
    expect(() => parseSweepRequest('dump-hang:0..4')).toThrow(/dump-hang:0..4: expected SCENARIO:FROM..TO\[:STEP\] with a scenario that has a sweep parameter/);
    expect(() => parseSweepRequest('getifaddrs:10..2')).toThrow(/TO must be >= FROM/);
  });
});

describe('comparing runs', () => {
  const prev = matrix({ 'arm-a/uevent': 'ERROR', 'mips-c/dump-read': 'CONFIRMED' });

  it('lists a changed verdict and a new ERROR as regressions, ERROR → verdict as recovered', () => {
    const cur = matrix({ 'arm-a/getifaddrs': 'FIX_INEFFECTIVE', 'mips-b/uevent': 'ERROR', 'arm-a/uevent': 'CONFIRMED' });
    const c = compareMatrices(prev, cur, 'prev.json');
    expect(c.regressions.map((x) => `${x.target}/${x.scenario}:${x.before}>${x.after}`)).toEqual(['arm-a/getifaddrs:CONFIRMED>FIX_INEFFECTIVE', 'mips-b/uevent:CONFIRMED>ERROR']);
    expect(c.recovered.map((x) => `${x.target}/${x.scenario}`)).toEqual(['arm-a/uevent']);
    expect(c.unchanged).toBe(6);
    const text = formatComparison(c);
    expect(text[0]).toMatch(/2 regression\(s\), 1 recovered/);
    expect(text[1]).toMatch(/^ {2}REGRESSION +arm-a getifaddrs: CONFIRMED → FIX_INEFFECTIVE/);
  });

  it('a target skipped now is "no longer run"; cells outside this run (a shard, a subset) are not compared', () => {
    const cur = matrix({ 'mips-c/getifaddrs': 'skipped' });
    cur.cells = cur.cells.filter((x) => x.target !== 'arm-a');
    const c = compareMatrices(prev, cur, 'prev.json');
    expect(c.dropped.map((x) => `${x.target}/${x.scenario}:${x.after}`)).toEqual(['mips-c/getifaddrs:SKIPPED']);
    expect(c.regressions).toEqual([]);
    expect(c.unchanged).toBe(5);
    const back = compareMatrices(cur, prev, 'cur.json');
    expect(back.added.map((x) => `${x.target}/${x.scenario}`)).toContain('mips-c/getifaddrs');
  });
});

describe('merging shards', () => {
  const whole = matrix({ 'mips-b/uevent': 'NOT_REPRODUCED' });
  const part = (i: number, n: number): MatrixResult => {
    const ids = new Set(shardCells(planMatrix(TARGETS, SCENARIOS), { index: i, count: n }).map(cellId));
    return { ...whole, shards: [{ index: i, count: n }], cells: whole.cells.filter((c) => ids.has(cellId(c))), durationMs: 1000 * i };
  };

  it('joins shards into the cells and verdicts of one run', () => {
    const merged = mergeShards([{ file: 's2', result: part(2, 3) }, { file: 's1', result: part(1, 3) }, { file: 's3', result: part(3, 3) }], '/out');
    expect(merged.cells.map((c) => [cellId(c), c.verdict])).toEqual(whole.cells.map((c) => [cellId(c), c.verdict]));
    expect(merged.shards.map((s) => s.index)).toEqual([1, 2, 3]);
    expect(merged.durationMs).toBe(3000);
    expect(merged.targets.find((t) => t.target === 'arm-a')!.boots).toBe(3);
  });

  it('refuses a missing shard, a shard given twice and shards of different plans', () => {
    expect(() => mergeShards([{ file: 's1', result: part(1, 2) }], '/o')).toThrow(/do not cover the plan: 4 cell\(s\) missing/);
    expect(() => mergeShards([{ file: 'a', result: part(1, 2) }, { file: 'b', result: part(1, 2) }], '/o')).toThrow(/shard 1\/2 is in both a and b/);
    const other = { ...part(2, 2), plan: { ...whole.plan, repeat: 5 } };
    expect(() => mergeShards([{ file: 'a', result: part(1, 2) }, { file: 'b', result: other }], '/o')).toThrow(/b: its plan differs from a's/);
  });
});

describe('reports', () => {
  const r = matrix({ 'arm-a/uevent': 'NOT_REPRODUCED', 'mips-b/dump-read': 'ERROR', 'mips-c/getifaddrs': 'skipped', 'mips-c/uevent': 'skipped', 'mips-c/dump-read': 'skipped' });
  r.targets[2] = { target: 'mips-c', status: 'skipped', reason: 'skipped: linux-3.10.108.tar.xz not available', boots: 0 };

  it('JUnit: valid XML, a testcase per cell, unexpected verdicts as failures with symptom and evidence, ERROR as error, skips', () => {
    const xml = matrixJUnit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as { testsuites: { tests: string; failures: string; errors: string; skipped: string; testsuite: { name: string; testcase: { name: string; failure?: { message: string; '#text': string }; error?: unknown; skipped?: unknown }[] }[] } };
    expect(doc.testsuites).toMatchObject({ tests: '9', failures: '1', errors: '1', skipped: '3' });
    const arm = doc.testsuites.testsuite.find((s) => s.name === 'arm-a')!;
    const failed = arm.testcase.find((t) => t.name === 'uevent (B1)')!;
    expect(failed.failure!.message).toMatch(/^expected CONFIRMED, got NOT_REPRODUCED: unpatched: errno=EBUSY <&> "x"/);
    expect(failed.failure!['#text']).toMatch(/evidence: \/runs\/r\/arm-a\/uevent/);
  });

  it('JUnit marks a regression against the previous run as a failure even when the verdict is expected', () => {
    const cur = matrix({});
    cur.comparison = compareMatrices(matrix({ 'arm-a/getifaddrs': 'NOT_REPRODUCED' }), cur, 'p');
    const xml = matrixJUnit(cur);
    expect(xml).toMatch(/<failure type="REGRESSION" message="changed since the previous run: NOT_REPRODUCED → CONFIRMED">/);
  });

  it('HTML: a self-contained page with the verdict grid, not-as-expected cells marked, skipped targets with their reason', () => {
    const html = matrixHtml(r, { htmlDir: '/runs/r', svgs: new Map() });
    expect(html).toMatch(/<table class="grid" id="verdict-grid">/);
    expect(html.match(/<td class="cell/g)!.length).toBe(9);
    expect(html).toMatch(/class="cell unexpected" data-verdict="NOT_REPRODUCED"/);
    expect(html).toMatch(/mips-c<\/b>: skipped: linux-3\.10\.108\.tar\.xz not available/);
    expect(html).toMatch(/href="arm-a\/getifaddrs"/);
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(html).toContain('&lt;&amp;&gt; &quot;x&quot;');
  });

  it('HTML: a cell skipped on a target that ran (a scenario LAVA cannot run) is listed with its own reason', () => {
    const m = matrix({ 'arm-a/uevent': 'skipped' });
    const cell = m.cells.find((c) => c.target === 'arm-a' && c.scenario === 'uevent')!;
    cell.summary = 'not runnable on LAVA: its USB hotplug burst needs <QMP>';
    const html = matrixHtml(m, { htmlDir: '/runs/r', svgs: new Map() });
    expect(html).toMatch(/<h2>Cells not run<\/h2><ul><li><b>arm-a<\/b> · uevent \(B1\): not runnable on LAVA: its USB hotplug burst needs &lt;QMP&gt;<\/li><\/ul>/);
    // A target that did not run lists its reason once, under "Targets not run", not per cell.
    expect(matrixHtml(r, { htmlDir: '/runs/r', svgs: new Map() })).not.toContain('Cells not run');
  });

  it('the first report of an offline machine says each missing source once, with the command that fetches it', () => {
    const fix = 'put linux-3.10.108.tar.xz (from https://cdn.kernel.org/…) in /cache/downloads/, or unpack the linux-3.10.108 tree into /cache/overrides/linux-3.10.108/';
    const missing = [{ archive: 'linux-3.10.108.tar.xz', package: 'linux-3.10.108', fix }];
    const m = matrix({ 'mips-b/getifaddrs': 'skipped', 'mips-b/uevent': 'skipped', 'mips-b/dump-read': 'skipped', 'mips-c/getifaddrs': 'skipped', 'mips-c/uevent': 'skipped', 'mips-c/dump-read': 'skipped' });
    m.targets[1] = { target: 'mips-b', status: 'skipped', reason: 'skipped: linux-3.10.108.tar.xz not available', missingSources: missing, boots: 0 };
    m.targets[2] = { target: 'mips-c', status: 'skipped', reason: 'skipped: linux-3.10.108.tar.xz not available', missingSources: missing, boots: 0 };
    m.sweeps = [{ target: 'mips-b', scenario: 'getifaddrs-mechanism', axis: 'interfaces', range: '0..48:16', status: 'skipped', error: 'skipped: linux-3.10.108.tar.xz not available', patchedFailures: [], errors: [], points: [] }];
    const html = matrixHtml(m, { htmlDir: '/runs/r', svgs: new Map() });
    expect(html.split(fix).length - 1).toBe(1);
    expect(html).toContain('needed by mips-b, mips-c');
    expect(html).toContain('reprolab sources fetch');
    expect(html).not.toContain('skipped: skipped:');
  });

  it('the USB stall rate per target over the kept runs: stalled uevent attempts, retries counted', () => {
    const stalled = { verdict: 'ERROR' as const, error: "ERROR: the guest's USB stack stalled: 9 of 10 devices never enumerated while held (+enum)", durationMs: 1 };
    const other = { verdict: 'ERROR' as const, error: 'SSH timed out', durationMs: 1 };
    const run = (attempts: MatrixCellResult['attempts'][]) => {
      const m = matrix({});
      m.cells = attempts.map((a, i) => ({ ...cell(TARGETS[i]!, 'uevent', 'CONFIRMED'), attempts: a }));
      return m;
    };
    const night1 = run([[stalled, { verdict: 'CONFIRMED', durationMs: 1 }], [{ verdict: 'CONFIRMED', durationMs: 1 }]]);
    const night2 = run([[{ verdict: 'CONFIRMED', durationMs: 1 }], [other, { verdict: 'CONFIRMED', durationMs: 1 }]]);
    const rates = usbStallRates([night1, night2]);
    // Runs recorded before per-repeat counts: one burst per attempt, stalled when its error says so.
    expect(rates).toEqual([
      { target: 'arm-a', runs: 2, bursts: 3, stalls: 1 },
      { target: 'mips-b', runs: 2, bursts: 3, stalls: 0 },
    ]);
    // Per-repeat counts win: an attempt of 3 repeats with a stall in one of them.
    const night3 = run([[{ verdict: 'ERROR', error: 'SSH timed out', repeats: 3, usbStalls: 1, durationMs: 1 }]]);
    expect(usbStallRates([night3])).toEqual([{ target: 'arm-a', runs: 1, bursts: 3, stalls: 1 }]);
    const html = matrixHtml({ ...night2, usbStalls: rates }, { htmlDir: '/runs/r', svgs: new Map() });
    expect(html).toMatch(/<table id="usb-stalls">.*arm-a<\/td><td class="reg">1 of 3 \(33%\)<\/td><td>2<\/td>/);
  });

  it('a report whose sweep plot cannot be read (a merge of shards from elsewhere) says which plot is missing', async () => {
    const { root } = await tempDirs();
    const sweep = { target: 'arm-a', scenario: 'getifaddrs-mechanism', axis: 'interfaces', range: '0..48:16', status: 'ran' as const, patchedFailures: [], errors: [], points: [], svg: '/runs/r/arm-a/sweep-getifaddrs-mechanism/sweep.svg' };
    const out = await writeReports(matrix({}, { sweeps: [sweep] }), root);
    const html = await fs.readFile(out.html, 'utf8');
    expect(html).toContain('plot missing: /runs/r/arm-a/sweep-getifaddrs-mechanism/sweep.svg could not be read (no such file here)');
  });
});

describe('run directories', () => {
  it('prunes by count and by age, oldest first, never the run just made', () => {
    const names = ['2026-11-01T00-00-00-000Z', '2026-11-10T00-00-00-000Z', '2026-11-20T00-00-00-000Z', '2026-11-22T00-00-00-000Z'];
    const now = Date.parse('2026-11-22T12:00:00Z');
    expect(runsToPrune(names, { keep: 2 }, now)).toEqual(['2026-11-10T00-00-00-000Z', '2026-11-01T00-00-00-000Z']);
    expect(runsToPrune(names, { maxAgeDays: 5 }, now)).toEqual(['2026-11-10T00-00-00-000Z', '2026-11-01T00-00-00-000Z']);
    expect(runsToPrune(names, { keep: 1 }, now, '2026-11-01T00-00-00-000Z')).toEqual(['2026-11-22T00-00-00-000Z', '2026-11-20T00-00-00-000Z', '2026-11-10T00-00-00-000Z']);
  });

  it('finds the previous finished run and removes only run directories', async () => {
    const { root } = await tempDirs();
    const runs = path.join(root, 'matrix');
    const a = timeStamp(new Date('2026-11-20T00:00:00Z'));
    const b = timeStamp(new Date('2026-11-21T00:00:00Z'));
    const c = timeStamp(new Date('2026-11-22T00:00:00Z'));
    for (const d of [a, b, c, 'notes']) await fs.mkdir(path.join(runs, d), { recursive: true });
    await fs.writeFile(path.join(runs, a, 'matrix.json'), '{}');
    expect(await previousRun(runs, path.join(runs, c))).toBe(path.join(runs, a, 'matrix.json'));
    expect(await pruneRuns(runs, { keep: 1 }, path.join(runs, a))).toEqual([path.join(runs, c), path.join(runs, b)]);
    expect(await listRuns(runs)).toEqual([a]);
    await fs.access(path.join(runs, 'notes'));
  });

  it('refuses a file that is not a matrix result, naming the file and field', async () => {
    const { root } = await tempDirs();
    const f = path.join(root, 'result.json');
    await fs.writeFile(f, JSON.stringify({ schema: 1, scenario: 'uevent' }));
    await expect(loadMatrixResult(f)).rejects.toThrow(/result\.json: "kind" must be "reprolab-matrix"/);
    expect(() => checkMatrixResult('m.json', { ...matrix({}), schema: 2 })).toThrow(/m\.json: "schema" is 2; this lab reads schema 1/);
    const bad = matrix({});
    (bad.cells[4] as { verdict: string }).verdict = 'MAYBE';
    expect(() => checkMatrixResult('m.json', bad)).toThrow(/cells\[4\]\.verdict must be one of CONFIRMED/);
  });
});
