import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { buildBundle } from '../bundle/bundle.ts';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import { writeReports } from '../matrix/matrix.ts';
import type { MatrixResult } from '../model/matrix-result.ts';
import type { Verdict } from '../model/verdict.ts';
import { UsageError } from '../util/errors.ts';
import { timeStamp } from '../util/paths.ts';
import { terminalText } from '../util/safe-text.ts';
import { checkBoardKernel, exportLava } from '../workflows/lava/export.ts';
import { lavaMatrixResult } from '../workflows/lava/lava-matrix.ts';
import { cellsInResults, jobError, lavaCell, parseLavaResults } from '../workflows/lava/results.ts';
import { lavaRun } from '../workflows/lava/run.ts';
import { readJob } from '../workflows/lava/job.ts';
import { validateJobs } from '../workflows/lava/validate.ts';
import type { Dirs } from './guest-commands.ts';
import { scenariosOption } from './scenario-params.ts';
import { freshDirOption, inputDirOption, inputFileOption, outDirOption, whole } from './input.ts';

const log = (l: string) => console.error(terminalText(l, { multiline: true }));

/** An http(s) or file URL for a farm's artifacts, kernel or dtb. */
function urlOption(flag: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${flag} ${value}: not a URL`, { fix: `give ${flag} an http://, https:// or file:// URL` });
  }
  if (!['http:', 'https:', 'file:'].includes(u.protocol)) throw new UsageError(`${flag} ${value}: LAVA fetches http, https and file URLs only`);
  return value;
}

/** The targets' bundles, built (or found in the store) as `reprolab run` builds them. */
async function bundlesOf(names: string[], getDirs: Dirs) {
  const { dirs, sources } = getDirs();
  const targets = selectTargets(await loadAllTargets(dirs.imported), names);
  const when = timeStamp();
  const out = [];
  for (const target of targets) {
    const b = await buildBundle({ target, extraPatches: [], dirs, sources, logDir: path.join(dirs.logs, `${target.name}-${when}`), progress: (s) => log(`build ${target.name}: ${s}`), scenarioProbes: [] });
    out.push({ target, bundleDir: b.dir, manifest: b.manifest });
  }
  return out;
}

/** Verdict lines as `reprolab run` prints them, one cell at a time; exit 1 when a verdict is not the expected one. */
function printCells(r: MatrixResult): void {
  for (const c of r.cells) {
    if (c.status === 'skipped') {
      console.log(terminalText(`${c.scenario} on ${c.target}: ${c.summary}`));
      continue;
    }
    const rate = c.rate ? `  (unpatched showed the symptom in ${c.rate.reproduced}/${c.rate.repeats} repeats)` : '';
    console.log(terminalText(`${c.scenario} (${c.bug}) on ${c.target}: ${c.verdict}${rate}${c.expected ? (c.asExpected ? '  as expected' : `  UNEXPECTED: expected ${c.expected}`) : ''}`));
    for (const v of c.variants) console.log(terminalText(`  ${v.role.padEnd(9)} ${v.outcome.padEnd(5)} ${v.symptom}`));
    if (!c.asExpected) process.exitCode = 1;
  }
}

function registerExport(lava: Command, getDirs: Dirs): void {
  lava
    .command('export')
    .description('write LAVA jobs (one per target × scenario) and the artifacts they deploy: kernel, dtb, the rootfs with the scenarios as a cpio.newc ramdisk')
    .argument('<targets...>', 'targets (reprolab targets lists them)')
    .requiredOption('--out <dir>', 'where the jobs, artifacts and export.json go')
    .option('--scenarios <names>', 'comma-separated scenarios (default: all; those LAVA cannot run are listed with the reason)')
    .option('--device-type <type>', "LAVA device type: qemu, or a u-boot board's (e.g. beaglebone-black) with --kernel-url", 'qemu')
    .option('--artifacts-url <url>', 'where the farm fetches the artifacts: <url>/<target>/<file> (default: file:// paths in --out)')
    .option('--kernel-url <url>', "a board's own kernel (zImage)")
    .option('--dtb-url <url>', "a board's device tree")
    .option('--repeat <n>', 'repetitions of each scenario in its boot', '1')
    .action(async (names: string[], opts: { out: string; scenarios?: string; deviceType: string; artifactsUrl?: string; kernelUrl?: string; dtbUrl?: string; repeat: string }) => {
      const outDir = freshDirOption('--out', opts.out);
      const scenarios = scenariosOption(opts.scenarios);
      const repeat = whole('--repeat', opts.repeat, 1, 1000);
      if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(opts.deviceType)) throw new UsageError(`--device-type ${opts.deviceType}: not a LAVA device type name`);
      const urls = { ...(opts.artifactsUrl ? { artifactsUrl: urlOption('--artifacts-url', opts.artifactsUrl) } : {}), ...(opts.kernelUrl ? { kernelUrl: urlOption('--kernel-url', opts.kernelUrl) } : {}), ...(opts.dtbUrl ? { dtbUrl: urlOption('--dtb-url', opts.dtbUrl) } : {}) };
      // Said before any build: a board needs its own kernel unless the target is a product imported for it.
      const chosen = selectTargets(await loadAllTargets(getDirs().dirs.imported), names);
      checkBoardKernel(opts.deviceType, opts.kernelUrl, chosen);
      const targets = await bundlesOf(names, getDirs);
      const r = await exportLava({ targets, scenarios, outDir, deviceType: opts.deviceType, repeat, ...urls, progress: log });
      for (const c of r.cells) console.log(terminalText(c.job ? `${c.target} ${c.scenario}: ${path.join(outDir, c.job)}` : `${c.target} ${c.scenario}: not runnable on LAVA: ${c.notRunnable}`));
      const jobs = r.cells.filter((c) => c.job).length;
      console.log(`${jobs} job(s), ${r.artifacts.length} artifact(s) → ${path.join(outDir, 'export.json')}; submit: lavacli jobs submit <job.yaml>`);
      if (!opts.artifactsUrl && jobs) log('the jobs fetch their artifacts from file:// paths on this machine: for a farm, pass --artifacts-url and copy each <target>/ folder there');
      if (!jobs) process.exitCode = 1;
    });
}

function registerValidateRun(lava: Command, getDirs: Dirs): void {
  lava
    .command('validate')
    .description("check every job of an export with the real dispatcher (lava-run --validate) against its device type's rendered dictionary")
    .argument('<dir>', 'the --out directory of reprolab lava export')
    .action(async (dir: string) => {
      const results = await validateJobs({ dir: inputDirOption('<dir>', dir), cache: getDirs().dirs.cache, progress: log });
      for (const v of results) console.log(terminalText(`${v.ok ? 'valid  ' : 'INVALID'} ${v.job} (${v.deviceType})${v.problem ? `: ${v.problem}` : ''}`));
      if (results.some((v) => !v.ok)) process.exitCode = 1;
    });
  lava
    .command('run')
    .description('run the jobs of one target on a local standalone LAVA dispatcher (root), read the results back and write matrix.json, junit.xml, report.html')
    .argument('<target>', 'a target (reprolab targets lists them)')
    .option('--scenarios <names>', 'comma-separated scenarios (default: all; those LAVA cannot run are reported as such)')
    .option('--repeat <n>', 'repetitions of each scenario in its boot', '1')
    .option('--out <dir>', 'run directory (default <cache>/lava/runs/<time>-<target>)')
    .action(async (name: string, opts: { scenarios?: string; repeat: string; out?: string }) => {
      const scenarios = scenariosOption(opts.scenarios);
      const repeat = whole('--repeat', opts.repeat, 1, 1000);
      const { dirs } = getDirs();
      const outDir = freshDirOption('--out', opts.out ?? path.join(dirs.cache, 'lava', 'runs', `${timeStamp()}-${name}`));
      const targets = await bundlesOf([name], getDirs);
      const result = await lavaRun({ targets, scenarios, outDir, cache: dirs.cache, repeat, progress: log });
      const files = await writeReports(result, outDir);
      printCells(result);
      if (!result.cells.some((c) => c.status === 'ran')) {
        log('nothing ran: no scenario asked for can run on LAVA');
        process.exitCode = 1;
      }
      log(`reports: ${files.html}, ${files.junit}, ${files.json}`);
    });
}

function registerResults(lava: Command): void {
  lava
    .command('results')
    .description("read a LAVA job's results back into the lab's verdicts, matrix.json, junit.xml and report.html: a dispatcher log (lava-run's output) or a server's results YAML (lavacli results JOB --yaml)")
    .argument('<file>', 'the dispatcher log or the results YAML')
    .option('--job <file>', 'the job it ran (export\'s <target>/jobs/<scenario>.yaml): names the target, and the cell even when LAVA reported none of it')
    .option('--target <name>', 'the target the job ran on, when --job is not at hand')
    .option('--out <dir>', 'where to write the reports (default: print the verdicts only)')
    .action(async (file: string, opts: { job?: string; target?: string; out?: string }) => {
      if (!opts.job && !opts.target) throw new UsageError('lava results: which target did the job run on?', { fix: 'pass --job <the job.yaml it ran> or --target <name>' });
      if (opts.target && !/^[A-Za-z0-9._-]+$/.test(opts.target)) throw new UsageError(`--target ${opts.target}: not a target name`);
      const jobFile = opts.job ? inputFileOption('--job', opts.job) : undefined;
      const outDir = opts.out ? outDirOption('--out', opts.out) : undefined;
      const results = parseLavaResults(inputFileOption('<file>', file), await fs.readFile(path.resolve(file), 'utf8'));
      const fromJob = jobFile ? (await readJob(jobFile)).cell : undefined;
      if (jobFile && !fromJob) throw new UsageError(`--job ${opts.job}: its metadata names no reprolab cell`, { fix: 'pass a job written by reprolab lava export' });
      const cells = fromJob ? [fromJob] : cellsInResults(results, opts.target!);
      if (!cells.length) throw new UsageError(`${file}: no reprolab test case in it (${jobError(results.job)})`, { fix: 'pass --job <the job it ran> so the lab can name the cell it lost' });
      // A job's metadata carries what it was held to (nothing, for a board); without it, expect.json's.
      const expectation = fromJob ? (fromJob.expected ? { verdict: fromJob.expected as Verdict, note: `${opts.job}: metadata.reprolab.expected` } : null) : undefined;
      const read = cells.map((c) => ({ cell: lavaCell(results, { ...c, repeats: fromJob?.repeats ?? 1 }), durationMs: 0, ...(expectation !== undefined ? { expectation } : {}) }));
      const result = await lavaMatrixResult(read, { outDir: outDir ?? path.dirname(path.resolve(file)), startedAt: new Date(), repeat: fromJob?.repeats ?? 1 });
      if (outDir) log(`reports: ${(await writeReports(result, outDir)).html}`);
      printCells(result);
    });
}

export function registerLavaCommands(program: Command, getDirs: Dirs): void {
  const lava = program.command('lava').description('the scenarios as LAVA jobs: export them for a farm or a real board, validate them, run them on a local dispatcher, read results back');
  registerExport(lava, getDirs);
  registerValidateRun(lava, getDirs);
  registerResults(lava);
}
