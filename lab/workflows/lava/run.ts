import { readdirSync, readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MatrixResult } from '../../model/matrix-result.ts';
import { expectationsName } from '../../model/target.ts';
import { findScenario } from '../../scenarios/registry.ts';
import { describeError, UsageError } from '../../util/errors.ts';
import { anySignal, labSignal, onAbnormalExit } from '../../util/lifetime.ts';
import { runLogged } from '../../util/process.ts';
import { timeout } from '../../util/timeouts.ts';
import { deviceDictionary, deviceTypesDir, dispatcherVersion, renderDevice } from './device-types.ts';
import { exportLava, type ExportedCell, type LavaExportInput } from './export.ts';
import { readJob } from './job.ts';
import { lavaMatrixResult } from './lava-matrix.ts';
import { lavaCell, parseDispatcherLog, type LavaCell } from './results.ts';

export interface LavaRunInput {
  targets: LavaExportInput['targets'];
  scenarios: LavaExportInput['scenarios'];
  outDir: string;
  cache: string;
  repeat: number;
  progress?: (line: string) => void;
}

/** Where lava-run keeps a job's downloads, overlay and QEMU's images while it runs. */
const DISPATCHER_TMP = '/var/lib/lava/dispatcher/tmp';

/**
 * What an interrupted job leaves: lava-run is killed with the lab's process group, but QEMU runs in a
 * session of its own (pexpect) and the job's folder stays. Synchronous, for the lab's exit handlers:
 * every process whose command line names the folder is killed, then the folder is removed.
 */
export function removeJobLeftovers(jobId: number, procRoot = '/proc'): void {
  const dir = `${DISPATCHER_TMP}/${jobId}/`;
  for (const pid of readdirSync(procRoot).filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(path.join(procRoot, pid, 'cmdline'), 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(dir) && Number(pid) !== process.pid) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** A job id per run: lava-run keeps its temporary files under /var/lib/lava/dispatcher/tmp/<id>. */
let nextJobId = (Math.floor(Date.now() / 1000) % 100_000) * 10;

/**
 * One job on the local standalone dispatcher (as root), its log kept in the cell's directory. A job
 * LAVA failed still has a log to read; a dispatcher that could not run at all is the lab's ERROR.
 */
async function runJob(o: LavaRunInput, cell: ExportedCell & { job: string }, types: string, memoryMiB: number): Promise<{ cell: LavaCell; durationMs: number; evidenceDir: string }> {
  const dir = path.join(o.outDir, cell.target, cell.scenario);
  await fs.mkdir(dir, { recursive: true });
  const job = path.join(o.outDir, 'export', cell.job);
  await fs.copyFile(job, path.join(dir, 'job.yaml'));
  const device = path.join(dir, 'device.yaml');
  await renderDevice({ dictionary: deviceDictionary('qemu', memoryMiB), types, job, out: device });
  const log = path.join(dir, 'dispatcher.log');
  const started = Date.now();
  let failure: string | undefined;
  const id = ++nextJobId;
  const undo = onAbnormalExit(() => removeJobLeftovers(id));
  try {
    const signal = anySignal(labSignal, AbortSignal.timeout((await readJob(job)).jobMinutes * 60_000 + timeout('lavaRunSlack')));
    await runLogged('lava-run', ['--job-id', String(id), '--output-dir', path.join(dir, 'lava'), '--device', device, job], { logFile: log, signal });
  } catch (err) {
    // lava-run exits 1 for a job that failed: the log says how, and is read below.
    failure = describeError(err).split('\n')[0];
  } finally {
    // A job the bound stopped leaves the same as an interrupted one.
    removeJobLeftovers(id);
    undo();
  }
  const results = parseDispatcherLog(await fs.readFile(log, 'utf8'));
  const read = lavaCell(results, { target: cell.target, scenario: cell.scenario, roles: cell.roles, repeats: o.repeat });
  const lost = !results.job && failure ? { ...read, verdict: 'ERROR' as const, error: `the dispatcher did not finish the job: ${failure}` } : read;
  return { cell: lost, durationMs: Date.now() - started, evidenceDir: dir };
}

/**
 * `reprolab lava run`: the targets' jobs (exported with file:// artifacts) on a local standalone LAVA
 * dispatcher, one at a time, then the results read back into matrix.json, JUnit and HTML in outDir.
 */
export async function lavaRun(o: LavaRunInput): Promise<MatrixResult> {
  const say = o.progress ?? (() => undefined);
  if (process.getuid?.() !== 0) throw new UsageError('reprolab lava run drives lava-run, which must run as root (it keeps its files in /var/lib/lava)', { fix: 'run it as root (sudo), or export the jobs and submit them to a LAVA server' });
  const version = await dispatcherVersion();
  const types = await deviceTypesDir(o.cache, version, say);
  const startedAt = new Date();
  const exported = await exportLava({ targets: o.targets, scenarios: o.scenarios, outDir: path.join(o.outDir, 'export'), deviceType: 'qemu', repeat: o.repeat, progress: say });
  const cells: Parameters<typeof lavaMatrixResult>[0] = [];
  for (const c of exported.cells) {
    if (!c.job) {
      say(`${c.target}: ${c.scenario} cannot run on LAVA: ${c.notRunnable}`);
      continue;
    }
    const t = o.targets.find((x) => x.target.name === c.target)!;
    say(`${c.target}: ${c.scenario}: lava-run (dispatcher ${version})`);
    const got = { ...(await runJob(o, { ...c, job: c.job }, types, t.manifest.qemu.memoryMiB)), expectAs: expectationsName(t.target) };
    say(`${c.target}: ${c.scenario}: ${got.cell.verdict}${got.cell.error ? ` (${got.cell.error})` : ''}`);
    cells.push(got);
  }
  const result = await lavaMatrixResult(cells, { outDir: o.outDir, startedAt, repeat: o.repeat });
  return withNotRunnable(result, exported.cells);
}

/** The scenarios LAVA cannot run, as skipped cells saying why: in every report, never a silent pass. */
export function withNotRunnable(r: MatrixResult, cells: ExportedCell[]): MatrixResult {
  const skipped = cells.filter((c) => c.notRunnable).map((c) => ({ target: c.target, scenario: c.scenario, bug: findScenario(c.scenario)?.bug ?? '', title: findScenario(c.scenario)?.title ?? c.scenario, status: 'skipped' as const, asExpected: false, summary: `not runnable on LAVA: ${c.notRunnable}`, variants: [], key: {}, attempts: [], durationMs: 0 }));
  const scenarios = [...new Set([...r.plan.scenarios, ...skipped.map((c) => c.scenario)])];
  const targets = [...new Set([...r.plan.targets, ...skipped.map((c) => c.target)])];
  const known = new Set(r.targets.map((t) => t.target));
  return { ...r, plan: { ...r.plan, targets, scenarios }, targets: [...r.targets, ...targets.filter((t) => !known.has(t)).map((target) => ({ target, status: 'ran' as const, boots: 0 }))], cells: [...r.cells, ...skipped] };
}
