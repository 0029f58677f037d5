import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Listr, ListrLogger, PRESET_TIMER, PRESET_TIMESTAMP, ProcessOutput } from 'listr2';
import { loadExpectations, type Expectation } from '../catalog/expectations.ts';
import type { Target } from '../model/target.ts';
import { matrixHtml } from '../report/html.ts';
import { matrixJUnit } from '../report/junit.ts';
import type { Scenario, ScenarioParams } from '../scenarios/types.ts';
import { formatBurst } from '../fabric/usb-plan.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { LabError } from '../util/errors.ts';
import type { LabDirs } from '../util/paths.ts';
import type { SourceOptions } from '../sources/resolve.ts';
import { compareMatrices } from './compare.ts';
import { cellId, planMatrix, shardCells, type SweepRequest } from './plan.ts';
import { type Shard } from '../model/matrix-result.ts';
import { insideReal, resolveInside } from '../model/paths.ts';
import { checkMatrixResult, MATRIX_SCHEMA, type MatrixCellResult, type MatrixResult, type MatrixSweepResult } from '../model/matrix-result.ts';
import { LAB_CELL_DEPS, TargetCells } from './target-cells.ts';
import { claimRunDir, isRunName } from './history.ts';
import { scenarioByName, scenarioProbesOf } from '../scenarios/registry.ts';
import { targetTask, type TaskShared } from './target-task.ts';
import { usbStallRates } from './usb-stalls.ts';
import { timeoutMultiplier } from '../util/timeouts.ts';

export interface MatrixRequest {
  targets: Target[];
  scenarios: Scenario[];
  sweeps: SweepRequest[];
  repeat: number;
  params: ScenarioParams;
  /** VMs at once. */
  jobs: number;
  shard: Shard;
  dirs: LabDirs;
  /** Where sources come from and whether missing archives are downloaded. */
  sources: SourceOptions;
  outDir: string;
  /** default: live tree on a TTY; simple: one line per finished step (CI logs); silent. */
  renderer: 'default' | 'simple' | 'silent';
  previous?: { file: string; result: MatrixResult };
  /** Earlier kept runs, for the USB stall rate per target (the malta 3.10 stall). */
  history?: MatrixResult[];
}

export interface MatrixOutput {
  result: MatrixResult;
  json: string;
  junit: string;
  html: string;
}

/** Where a result's sweep plots are on this machine: the run directory that holds its matrix.json. */
export interface PlotSource {
  result: Pick<MatrixResult, 'outDir' | 'sweeps'>;
  runDir: string;
}

/**
 * Reads each sweep's SVG from inside its own run directory: the path recorded in matrix.json is taken
 * relative to the run's recorded outDir and read below `runDir` (the run may have been copied from a CI
 * machine); one that leads outside it, by "..", an absolute path elsewhere or a symlink, is refused.
 */
export async function readSweepPlots(sources: PlotSource[]): Promise<{ svgs: Map<string, string>; svgsMissing: Map<string, string> }> {
  const svgs = new Map<string, string>();
  const svgsMissing = new Map<string, string>();
  for (const { result, runDir } of sources) {
    for (const s of result.sweeps) {
      if (!s.svg) continue;
      const inRun = resolveInside(result.outDir, s.svg);
      const rel = inRun === undefined ? '' : path.relative(path.resolve(result.outDir), inRun);
      const refused = rel === '' ? `it is outside the run directory ${result.outDir}` : !rel.endsWith('.svg') ? 'it is not an .svg file' : undefined;
      if (refused) {
        svgsMissing.set(s.svg, `refused: ${refused}`);
        continue;
      }
      // A merge of shards from other machines may not have their plots: the report says which, instead of a blank box.
      const real = await fs.realpath(path.join(runDir, rel)).catch(() => undefined);
      if (real === undefined) svgsMissing.set(s.svg, 'no such file here');
      else if (!(await insideReal(runDir, real)) || !(await fs.stat(real)).isFile()) svgsMissing.set(s.svg, `refused: it leads outside the run directory ${runDir}`);
      else svgs.set(s.svg, await fs.readFile(real, 'utf8'));
    }
  }
  return { svgs, svgsMissing };
}

/**
 * The lab reads back what it writes (report html, merge, diff, tomorrow's comparison): a matrix.json its
 * own reader would refuse is a bug of the lab, said now, with the document kept beside it for the report.
 */
async function refuseUnreadable(json: string, text: string): Promise<void> {
  try {
    checkMatrixResult(json, JSON.parse(text));
  } catch (err) {
    const kept = json.replace(/\.json$/, '.unreadable.json');
    await fs.mkdir(path.dirname(json), { recursive: true });
    await writeFileAtomic(kept, text);
    throw new LabError(`the lab made a matrix.json its own reader refuses: ${(err as Error).message}`, { fix: `report this as a lab bug; the document is kept as ${kept}` });
  }
}

/**
 * Writes matrix.json (the source of truth), junit.xml and report.html into the run directory.
 * All three are made before any is written: a result that cannot be rendered leaves the directory as it was.
 */
export async function writeReports(result: MatrixResult, outDir: string, plots: PlotSource[] = [{ result, runDir: outDir }]): Promise<Omit<MatrixOutput, 'result'>> {
  const json = path.join(outDir, 'matrix.json');
  const junit = path.join(outDir, 'junit.xml');
  const html = path.join(outDir, 'report.html');
  const { svgs, svgsMissing } = await readSweepPlots(plots);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  await refuseUnreadable(json, text);
  const texts: [string, string][] = [
    [json, text],
    [junit, matrixJUnit(result)],
    // A run kept in a runs directory links to the history page beside it.
    [html, matrixHtml(result, { htmlDir: outDir, svgs, svgsMissing, ...(isRunName(path.basename(outDir)) ? { historyHref: '../history.html' } : {}) })],
  ];
  await fs.mkdir(outDir, { recursive: true });
  for (const [file, text] of texts) await writeFileAtomic(file, text);
  return { json, junit, html };
}

/**
 * Every target × scenario of the shard: one listr task per target (up to
 * `jobs` at once, each with one VM), one subtask per build, cell and sweep.
 */
export async function runMatrix(req: MatrixRequest): Promise<MatrixOutput> {
  const startedAt = new Date();
  // Marked live until its reports are written: another matrix's pruning leaves it alone.
  const releaseRun = await claimRunDir(req.outDir);
  const allCells = planMatrix(
    req.targets.map((t) => t.name),
    req.scenarios.map((s) => s.name),
  );
  const mine = new Set(shardCells(allCells, req.shard).map(cellId));
  // Sweeps are numbered after the cells so they spread over the shards too.
  const sweepItems = req.targets.flatMap((t) => req.sweeps.map((s) => ({ target: t.name, sweep: s })));
  const mySweeps = shardCells(sweepItems, req.shard, allCells.length);
  const expectations = new Map<string, Map<string, Expectation>>();
  for (const s of req.scenarios) expectations.set(s.name, (await loadExpectations(s.name, s.definition?.expectFile)).targets);

  const cells = new Map<string, MatrixCellResult>();
  const sweeps: MatrixSweepResult[] = [];
  // One TargetCells per target, made up front: a cell whose task never ran is still reported through its target's run.
  const scenarioProbes = scenarioProbesOf([...req.scenarios, ...req.sweeps.map((s) => scenarioByName(s.scenario))].filter((s, i, all) => all.findIndex((x) => x.name === s.name) === i));
  const runs = req.targets.map((target) => new TargetCells({ target, dirs: req.dirs, sources: req.sources, outDir: path.join(req.outDir, target.name), repeat: req.repeat, params: req.params, expectations, scenarioProbes, deps: LAB_CELL_DEPS }));

  const shared: TaskShared = { renderer: req.renderer, scenarios: req.scenarios, mine, mySweeps, cells, sweeps };
  // Progress goes to stderr, so stdout carries only the summary a script or a CI log parser reads.
  const toStderr = () => new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  const tasks = new Listr(req.targets.map((t, i) => targetTask(t, runs[i]!, shared)), {
    concurrent: req.jobs,
    exitOnError: false,
    renderer: req.renderer,
    fallbackRenderer: 'simple',
    rendererOptions: { collapseSubtasks: false, collapseSkips: false, timer: PRESET_TIMER, logger: toStderr() },
    fallbackRendererOptions: { timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP, logger: toStderr() },
  });
  try {
    await tasks.run();
  } finally {
    await Promise.all(runs.map((r) => r.stop()));
  }

  const lost = (target: string, scenario: string): MatrixCellResult =>
    runs[req.targets.findIndex((t) => t.name === target)]!.lostCell(req.scenarios.find((x) => x.name === scenario)!, 'the matrix recorded no result for it (its task ended before the cell ran)');
  const finishedAt = new Date();
  const result: MatrixResult = {
    schema: MATRIX_SCHEMA,
    kind: 'reprolab-matrix',
    plan: {
      targets: req.targets.map((t) => t.name),
      scenarios: req.scenarios.map((s) => s.name),
      sweeps: req.sweeps.map((s) => s.text),
      repeat: req.repeat,
      params: { ...req.params, ...(req.params.burst ? { burst: formatBurst(req.params.burst) } : {}) },
    },
    shards: [req.shard],
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    jobs: req.jobs,
    timeoutMultiplier: timeoutMultiplier(),
    host: { hostname: os.hostname(), cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    outDir: req.outDir,
    targets: runs.map((r) => r.info),
    // Every planned cell is reported: one that left no result (its task failed) is an ERROR with the cause.
    cells: allCells
      .filter((c) => mine.has(cellId(c)))
      .map((c) => cells.get(cellId(c)) ?? lost(c.target, c.scenario)),
    // A planned sweep that left no result is reported as an error too, never dropped.
    sweeps: mySweeps.map(
      (x) =>
        sweeps.find((s) => s.target === x.target && s.scenario === x.sweep.scenario) ??
        { target: x.target, scenario: x.sweep.scenario, axis: x.sweep.axis, range: x.sweep.text.slice(x.sweep.scenario.length + 1), status: 'error', error: 'the matrix recorded no result for this sweep (its task ended before it ran)', patchedFailures: [], errors: [], points: [] },
    ),
  };
  if (req.previous) result.comparison = compareMatrices(req.previous.result, result, req.previous.file);
  result.usbStalls = usbStallRates([...(req.history ?? []), result]);
  const written = await writeReports(result, req.outDir);
  await releaseRun();
  return { result, ...written };
}
