import { commaList } from './input.ts';
import { scenariosOption } from './scenario-params.ts';
import { registerKcidbCommand } from './kcidb-command.ts';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import { compareMatrices, formatComparison } from '../matrix/compare.ts';
import { type Comparison } from '../model/matrix-result.ts';
import { mergeShards } from '../matrix/merge.ts';
import { DEFAULT_SWEEPS, defaultJobs, parseShard, parseSweepRequest } from '../matrix/plan.ts';
import { keptRuns } from '../matrix/usb-stalls.ts';
import { unexpectedCells } from '../matrix/result.ts';
import { loadMatrixResult, type MatrixResult } from '../model/matrix-result.ts';
import { FETCH_HINT, missingSources } from '../report/missing-sources.ts';
import { runMatrix, writeReports } from '../matrix/matrix.ts';
import { previousRun, pruneRuns } from '../matrix/history.ts';
import { writeHistory } from '../matrix/history-report.ts';
import { thresholdText } from '../scenarios/sweep.ts';
import { LabError, UsageError } from '../util/errors.ts';
import { terminalText } from '../util/safe-text.ts';
import { timeStamp, type LabDirs } from '../util/paths.ts';
import type { Dirs } from './guest-commands.ts';
import { PARAM_FLAGS, scenarioParams, type ParamOptions } from './scenario-params.ts';
import { whole } from './input.ts';
import { registerHistoryCommand } from './history-command.ts';

/** Exit codes of matrix and report: a regression against the previous run outranks an unexpected verdict. */
export const EXIT = { ok: 0, unexpected: 1, regression: 3 } as const;

export const runsRoot = (dirs: LabDirs): string => path.join(dirs.cache, 'matrix');

/** stdout, one line at a time: matrix.json carries guest text (symptoms, errors), shown with its control characters escaped. */
const say = (line: string): void => console.log(terminalText(line));

function exitCode(r: MatrixResult): number {
  if (r.comparison?.regressions.length) return EXIT.regression;
  return unexpectedCells(r).length ? EXIT.unexpected : EXIT.ok;
}

/** The verdict grid as text, what changed, what did not run, and where the files are. */
function printSummary(r: MatrixResult, files: { json: string; junit: string; html: string } | undefined, write: (l: string) => void): void {
  if (r.comparison) for (const l of formatComparison(r.comparison)) write(l);
  const width = Math.max(...r.plan.scenarios.map((s) => s.length), 16) + 2;
  const first = Math.max(...r.plan.targets.map((t) => t.length), 6) + 2;
  write('');
  write(`${'target'.padEnd(first)}${r.plan.scenarios.map((s) => s.padEnd(width)).join('')}`);
  for (const t of r.plan.targets) {
    const row = r.plan.scenarios.map((s) => {
      const c = r.cells.find((x) => x.target === t && x.scenario === s);
      const text = !c ? '·' : c.status === 'skipped' ? 'skipped' : `${c.verdict}${c.asExpected ? '' : '!'}`;
      return text.padEnd(width);
    });
    write(`${t.padEnd(first)}${row.join('')}`);
  }
  const unexpected = unexpectedCells(r);
  write(`('!' = not the verdict <scenario>/expect.json records; '·' = in another shard)`);
  for (const c of unexpected) write(`NOT AS EXPECTED ${c.target} ${c.scenario}: ${c.verdict}${c.expected ? `, expected ${c.expected}` : ', no expectation recorded'} — ${c.summary}${c.evidenceDir ? ` (evidence ${c.evidenceDir})` : ''}`);
  for (const c of r.cells.filter((x) => x.retried)) write(`retried ${c.target} ${c.scenario}: ${c.retried}`);
  for (const t of r.targets.filter((x) => x.status !== 'ran')) write(`${t.status === 'skipped' ? 'SKIPPED' : t.status === 'source-error' ? 'SOURCE ERROR' : 'BUILD FAILED'} ${t.target}: ${t.reason}`);
  const missing = missingSources(r);
  if (missing.length) {
    write(`missing sources (fetch them with: ${FETCH_HINT}, or put them where each line says):`);
    for (const m of missing) write(`  ${m.archive} — needed by ${m.targets.join(', ')}; ${m.fix}`);
  }
  for (const u of (r.usbStalls ?? []).filter((x) => x.stalls > 0)) write(`USB enumeration stalls on ${u.target}: ${u.stalls} of ${u.bursts} uevent burst(s) over ${u.runs} run(s) kept (each stalled cell was retried on a fresh boot)`);
  for (const s of r.sweeps.filter((x) => x.status === 'ran')) write(`sweep ${s.scenario} on ${s.target} ${s.range}: ${thresholdText(s)}${s.patchedFailures.length ? `; patched failed at ${s.patchedFailures.join(', ')}` : ''}`);
  write(`wall time ${(r.durationMs / 1000).toFixed(0)} s, ${r.jobs} VM(s) at once${(r.timeoutMultiplier ?? 1) !== 1 ? `, timeouts ×${r.timeoutMultiplier}` : ''}`);
  if (files) {
    write(`json:  ${files.json}`);
    write(`junit: ${files.junit}`);
    write(`report: ${files.html}`);
  }
}

async function maybePrevious(file: string | undefined): Promise<{ file: string; result: MatrixResult } | undefined> {
  return file ? { file, result: await loadMatrixResult(file) } : undefined;
}

/**
 * The run before this one in the runs directory. A --compare file the user named must be valid (exit 2);
 * the one the lab picks itself is only context: a broken one is named and the run goes on without it.
 */
async function lastKeptRun(root: string, outDir: string): Promise<{ file: string; result: MatrixResult } | undefined> {
  const file = await previousRun(root, outDir);
  try {
    return await maybePrevious(file);
  } catch (err) {
    if (!(err instanceof LabError)) throw err;
    console.error(terminalText(`matrix: not comparing with the previous run: ${err.message}`));
    return undefined;
  }
}

export function registerMatrixCommand(program: Command, getDirs: Dirs): void {
  const cmd = program
    .command('matrix')
    .description('the nightly job: every available target × scenario (unpatched and patched), one VM per target, up to -j at once; writes matrix.json, junit.xml and report.html')
    .option('--targets <names>', 'comma-separated targets (default: every default target; those without sources are listed as skipped)')
    .option('--scenarios <names>', 'comma-separated scenarios (default: every built-in one and every one in --scenario-dir)')
    .option('--repeat <n>', 'repetitions of each cell in its boot (reproduction rate k/n)', '1')
    .option('-j, --jobs <n>', 'VMs at once (default: from cores and free memory)')
    .option('--shard <i/n>', 'run only shard i of n of the plan (CI parallel jobs); join them with reprolab report merge')
    .option('--out <dir>', 'run directory (default <cache>/matrix/<time>)')
    .option('--compare <previous.json>', 'report verdicts that changed since this run (default without --out: the previous run in <cache>/matrix)')
    .option('--no-compare', 'do not compare with the previous run')
    .option('--sweep <scenario:from..to[:step]>', `sweep to run on every target after its cells (repeatable; default ${DEFAULT_SWEEPS.join(' ')})`, (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--no-sweeps', 'run no sweeps')
    .option('--keep-runs <n>', 'after the run, keep only the newest n run directories in <cache>/matrix', '30')
    .option('--max-age-days <d>', 'after the run, remove run directories older than d days')
    .option('--quiet', 'no progress output, only the summary');
  for (const [flag, help] of PARAM_FLAGS) cmd.option(flag, help);
  cmd.action(
    async (
      opts: ParamOptions & {
        targets?: string;
        scenarios?: string;
        repeat: string;
        jobs?: string;
        shard?: string;
        out?: string;
        compare?: string | false;
        sweep?: string[];
        sweeps: boolean;
        keepRuns: string;
        maxAgeDays?: string;
        quiet?: boolean;
      },
    ) => {
      const { dirs, sources } = getDirs();
      const targets = selectTargets(await loadAllTargets(dirs.imported), commaList(opts.targets));
      const scenarios = scenariosOption(opts.scenarios);
      const repeat = whole('--repeat', opts.repeat, 1, 10_000);
      const guestMiB = Math.max(...targets.map((t) => t.qemu.memoryMiB));
      const jobs = opts.jobs ? whole('--jobs', opts.jobs, 1, 64) : defaultJobs(os.cpus().length, os.freemem(), guestMiB);
      const shard = opts.shard ? parseShard(opts.shard) : { index: 1, count: 1 };
      const sweeps = (opts.sweeps ? (opts.sweep ?? DEFAULT_SWEEPS) : []).map(parseSweepRequest);
      const keep = whole('--keep-runs', opts.keepRuns, 1, 1_000_000);
      // --keep-runs and --max-age-days were checked before the action (cli/input.ts).
      const maxAgeDays = opts.maxAgeDays !== undefined ? Number(opts.maxAgeDays) : undefined;
      const params = scenarioParams(opts);
      const root = runsRoot(dirs);
      const outDir = path.resolve(opts.out ?? path.join(root, timeStamp()));
      // Without --compare, a run in the runs directory is compared with the one before it; a run elsewhere (--out) only when asked.
      const previous =
        opts.compare === false ? undefined : typeof opts.compare === 'string' ? await maybePrevious(path.resolve(opts.compare)) : opts.out ? undefined : await lastKeptRun(root, outDir);
      const interactive = !!process.stdout.isTTY && !process.env.CI;
      console.error(`matrix: ${targets.length} target(s) × ${scenarios.length} scenario(s)${shard.count > 1 ? `, shard ${shard.index}/${shard.count}` : ''}, ${jobs} VM(s) at once → ${outDir}`);
      // The runs that stay after pruning: the stall rate covers what the runs directory keeps.
      const history = keep > 1 ? (await keptRuns(root, outDir)).slice(-(keep - 1)) : [];
      const out = await runMatrix({ targets, scenarios, sweeps, repeat, params, jobs, shard, dirs, sources, outDir, history, renderer: opts.quiet ? 'silent' : interactive ? 'default' : 'simple', ...(previous ? { previous } : {}) });
      if (!opts.out) {
        const latest = path.join(root, 'latest');
        await fs.rm(latest, { force: true });
        await fs.symlink(path.basename(outDir), latest).catch(() => undefined);
      }
      const pruned = await pruneRuns(root, { keep, ...(maxAgeDays !== undefined ? { maxAgeDays } : {}) }, outDir);
      if (pruned.length) console.error(`pruned ${pruned.length} old run(s) from ${root}`);
      // The report links ../history.html: a run in the runs directory brings the page up to date.
      if (!opts.out) await writeHistory(root, root).then((h) => console.error(`history: ${h.html}`), (err: unknown) => console.error(terminalText(`history: not written: ${(err as Error).message}`)));
      printSummary(out.result, out, say);
      process.exitCode = exitCode(out.result);
    },
  );
}

export function registerReportCommands(program: Command, getDirs: Dirs): void {
  const report = program.command('report').description('work with matrix results: merge shards, diff two runs, re-render reports, prune old runs');
  registerKcidbCommand(report, getDirs);

  report
    .command('merge')
    .description('join the matrix.json of every shard of one plan into one result, with JUnit and HTML')
    .argument('<shards...>', 'matrix.json of each shard')
    .requiredOption('--out <dir>', 'where the merged matrix.json, junit.xml and report.html go')
    .option('--compare <previous.json>', 'also report what changed since this run')
    .action(async (files: string[], opts: { out: string; compare?: string }) => {
      const parts = await Promise.all(files.map(async (f) => ({ file: path.resolve(f), result: await loadMatrixResult(path.resolve(f)) })));
      const outDir = path.resolve(opts.out);
      const merged = mergeShards(parts, outDir);
      const previous = await maybePrevious(opts.compare && path.resolve(opts.compare));
      if (previous) merged.comparison = compareMatrices(previous.result, merged, previous.file);
      // Each shard's plots are read from its own run directory, where its matrix.json is.
      const written = await writeReports(merged, outDir, parts.map((p) => ({ result: p.result, runDir: path.dirname(p.file) })));
      printSummary(merged, written, say);
      process.exitCode = exitCode(merged);
    });

  report
    .command('diff')
    .description('what changed from run A to run B; exits 3 when a verdict changed (a regression)')
    .argument('<a>', 'the earlier matrix.json')
    .argument('<b>', 'the later matrix.json')
    .option('--json', 'print the comparison as JSON')
    .action(async (a: string, b: string, opts: { json?: boolean }) => {
      const before = await loadMatrixResult(path.resolve(a));
      const after = await loadMatrixResult(path.resolve(b));
      const c: Comparison = compareMatrices(before, after, path.resolve(a));
      if (opts.json) console.log(JSON.stringify(c, null, 2));
      else for (const l of formatComparison(c)) say(l);
      process.exitCode = c.regressions.length ? EXIT.regression : EXIT.ok;
    });

  report
    .command('html')
    .description('render junit.xml and report.html again from a matrix.json')
    .argument('<matrix.json>')
    .option('--out <dir>', 'output directory (default: beside the matrix.json)')
    .action(async (file: string, opts: { out?: string }) => {
      const r = await loadMatrixResult(path.resolve(file));
      const written = await writeReports(r, path.resolve(opts.out ?? path.dirname(file)), [{ result: r, runDir: path.dirname(path.resolve(file)) }]);
      say(`report: ${written.html}`);
    });

  report
    .command('prune')
    .description('remove old run directories from <cache>/matrix')
    .option('--keep-runs <n>', 'keep only the newest n runs')
    .option('--max-age-days <d>', 'remove runs older than d days')
    .action(async (opts: { keepRuns?: string; maxAgeDays?: string }) => {
      if (opts.keepRuns === undefined && opts.maxAgeDays === undefined) throw new UsageError('report prune needs --keep-runs N or --max-age-days D');
      const root = runsRoot(getDirs().dirs);
      const removed = await pruneRuns(root, {
        ...(opts.keepRuns !== undefined ? { keep: whole('--keep-runs', opts.keepRuns, 1, 1_000_000) } : {}),
        ...(opts.maxAgeDays !== undefined ? { maxAgeDays: Number(opts.maxAgeDays) } : {}),
      });
      console.log(removed.length ? removed.map((r) => `removed ${r}`).join('\n') : `nothing to remove in ${root}`);
    });

  registerHistoryCommand(report, getDirs);
}
