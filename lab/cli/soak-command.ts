import path from 'node:path';
import type { Command } from 'commander';
import { buildBundle, type Bundle } from '../bundle/bundle.ts';
import { kernelLacks } from '../bundle/kernel-options.ts';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import type { Target } from '../model/target.ts';
import { scenarioByName, scenarioProbesOf } from '../scenarios/registry.ts';
import { describeError, UsageError } from '../util/errors.ts';
import { timeStamp, type LabDirs } from '../util/paths.ts';
import { terminalText } from '../util/safe-text.ts';
import { soakPlan, soakReader, type SoakPlan } from '../workflows/soak/plan.ts';
import { progressPath, type ProgressRead, type SoakRound } from '../workflows/soak/progress.ts';
import { beginProgress, loadPrevious, withSoakLock } from '../workflows/soak/resume.ts';
import { MIN_ROUND_MS, runSoak } from '../workflows/soak/soak.ts';
import { boundText, soakTotals, type SoakTotals } from '../workflows/soak/tally.ts';
import type { Dirs } from './guest-commands.ts';
import { durationOption } from './input.ts';

/** Exit codes of a soak: no hang; a hang (the field symptom); the soak could not measure (an ERROR). */
export const SOAK_EXIT = { clean: 0, hang: 1, error: 3 } as const;

interface SoakFlags {
  target: string;
  duration: string;
  round: string;
  resume?: boolean;
  json?: boolean;
  out?: string;
}

/** A soak's input, every value checked before anything builds or boots (a bad one: exit 2 naming it). */
interface SoakInput {
  plan: SoakPlan;
  target: Target;
  durationMs: number;
  roundMs: number;
  outDir: string;
  resume: boolean;
}

/** What a soak ends with, for printing. */
export interface SoakOutcome {
  rounds: SoakRound[];
  totals: SoakTotals;
  reader: string;
  bundle: string;
  error?: string;
  consoleLog?: string;
}

async function soakInput(name: string, o: SoakFlags, dirs: LabDirs): Promise<SoakInput> {
  const plan = soakPlan(scenarioByName(name));
  const durationMs = durationOption('--duration', o.duration, 5, 30 * 24 * 3600);
  const roundMs = durationOption('--round', o.round, MIN_ROUND_MS / 1000, 3600);
  const target = selectTargets(await loadAllTargets(dirs.imported), [o.target])[0]!;
  const outDir = path.resolve(o.out ?? path.join(dirs.cache, 'soaks', `${plan.scenario.name}-${target.name}`));
  return { plan, target, durationMs, roundMs, outDir, resume: o.resume === true };
}

/** The image, built as `run` builds it; a build that fails is the soak's ERROR (returned), bad input still a usage error. */
async function buildFor(input: SoakInput, getDirs: Dirs, log: (l: string) => void): Promise<Bundle | { error: string }> {
  const { dirs, sources } = getDirs();
  const { target } = input;
  try {
    return await buildBundle({ target, extraPatches: [], dirs, sources, logDir: path.join(dirs.logs, `${target.name}-${timeStamp()}`), progress: (s) => log(`build: ${s}`), scenarioProbes: scenarioProbesOf([input.plan.scenario]) });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    return { error: `building ${target.name}: ${describeError(err)}` };
  }
}

/** Build, then soak; what fails past the input checks (a build, a boot) is the soak's ERROR, never a stack trace. */
async function soak(input: SoakInput, previous: ProgressRead | undefined, getDirs: Dirs, log: (l: string) => void): Promise<SoakOutcome> {
  const { plan, target } = input;
  const bundle = await buildFor(input, getDirs, log);
  if ('error' in bundle) return { ...soFar(previous), error: bundle.error };
  // A kernel without the options the scenario needs cannot soak it: said before anything boots.
  const lacks = await kernelLacks(bundle.dir, plan.scenario.name, target.name, plan.scenario.definition?.kernelOptions ?? []);
  if (lacks) return { ...soFar(previous), error: lacks };
  const reader = soakReader(plan, bundle.manifest).variant;
  const file = progressPath(input.outDir);
  const header = { kind: 'reprolab-soak', schema: 1, scenario: plan.scenario.name, target: target.name, bundle: bundle.manifest.key, reader, started: new Date().toISOString() } as const;
  const done = await beginProgress(file, previous, header);
  log(`${plan.scenario.name} on ${target.name}: soaking the ${reader} reader to ${input.durationMs / 1000} s in rounds of up to ${input.roundMs / 1000} s; progress: ${file}`);
  const r = await runSoak({ plan, bundleDir: bundle.dir, manifest: bundle.manifest, dirs: getDirs().dirs, outDir: input.outDir, durationMs: input.durationMs, roundMs: input.roundMs, previous: done, scenarioProbes: bundle.scenarioProbes, progress: (l) => log(`soak: ${l}`) });
  return { rounds: r.rounds, totals: r.totals, reader, bundle: bundle.manifest.key, ...(r.error ? { error: r.error } : {}), ...(r.consoleLog ? { consoleLog: r.consoleLog } : {}) };
}

/**
 * A soak whose files failed past the input checks (the progress file, a session folder) is an
 * ERROR of the lab, exit 3, with the rounds already on disk: never exit 1, which says a hang was seen.
 */
export async function soakOrError(run: Promise<SoakOutcome>, previous: ProgressRead | undefined): Promise<SoakOutcome> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // A file system error says what and where in its message; its stack is no news to the user.
    const error = err instanceof Error && 'code' in err ? `the soak's files: ${err.message}` : describeError(err);
    return { ...soFar(previous), error };
  }
}

/** What the progress file holds already (nothing built or booted this time). */
function soFar(previous: ProgressRead | undefined): SoakOutcome {
  const rounds = previous?.rounds ?? [];
  return { rounds, totals: soakTotals(rounds), reader: previous?.header.reader ?? '(not planned)', bundle: previous?.header.bundle ?? '(not built)' };
}

/** 0 no hang, 1 a hang (it wins over an ERROR after it: the symptom was seen), 3 the soak could not measure. */
export function soakExitCode(o: Pick<SoakOutcome, 'totals' | 'error'>): number {
  if (o.totals.hangs > 0) return SOAK_EXIT.hang;
  return o.error ? SOAK_EXIT.error : SOAK_EXIT.clean;
}

/** The one JSON object --json prints: the four fields the issue asks for first, then what explains them. */
export function soakJson(input: Pick<SoakInput, 'plan' | 'target' | 'durationMs' | 'outDir'>, o: SoakOutcome): Record<string, unknown> {
  const t = o.totals;
  return {
    dumps: t.dumps, seconds: t.seconds, hangs: t.hangs, bound: t.bound,
    dumpsPerSecond: t.dumpsPerSecond, rounds: t.rounds, errorRounds: t.errorRounds, hangRounds: t.hangRounds,
    setChanges: t.setChanges, churnRounds: t.churnRounds,
    scenario: input.plan.scenario.name, target: input.target.name, reader: o.reader, bundle: o.bundle,
    durationSeconds: input.durationMs / 1000, out: input.outDir, progress: progressPath(input.outDir),
    ...(o.consoleLog ? { consoleLog: o.consoleLog } : {}),
    ...(o.error ? { error: o.error } : {}),
  };
}

function printSummary(input: SoakInput, o: SoakOutcome, write: (l: string) => void): void {
  const t = o.totals;
  const where = `${input.plan.scenario.name} on ${input.target.name} (${o.reader} reader)`;
  const verdict = t.hangs ? `HANG: ${t.hangs} in ${t.dumps} dumps (rounds ${t.hangRounds.join(', ')})` : `no hang in ${t.dumps} dumps`;
  write(`${where}: ${verdict}, ${t.seconds.toFixed(1)} s in ${t.rounds} rounds (${t.dumpsPerSecond.toFixed(1)} dumps/s)`);
  write(`  95% upper bound on the hang rate: ${boundText(t.bound)} per dump (one-sided Clopper-Pearson, ${t.hangs} in ${t.dumps})`);
  write(`  under churn: ${t.churnRounds} churn rounds; ${t.setChanges} dumps saw the socket set change`);
  for (const r of o.rounds) if (r.outcome === 'FAIL') write(`  hang in round ${r.round} (${r.hangs} of ${r.dumps} dumps): ${path.join(input.outDir, r.evidence)}, console ${path.join(input.outDir, r.console)}`);
  if (o.error) write(`  ERROR: ${terminalText(o.error, { multiline: true })}\n  (the rounds before it are kept: --resume continues the soak)`);
  write(`  progress: ${progressPath(input.outDir)}`);
  write(`  evidence: ${path.join(input.outDir, 'rounds')}${o.consoleLog ? `  console: ${o.consoleLog}` : ''}`);
}

const HELP = `
Each round runs the scenario's unpatched (blocking) reader with its watchdog for --round seconds while
the fabric's churn daemon opens and closes sockets and adds and deletes links; a round whose churn did
not run, or whose dumps all saw one socket set, is an ERROR and counts nothing. After every round one
line is appended (and synced) to <out>/progress.jsonl: Ctrl-C or a crash loses at most the round in
progress, and --resume continues until --duration is soaked in all (same scenario, target and image).
Exit codes: 0 no hang; 1 a hang was seen (the field symptom: its round's evidence and the console log
stay in <out>); 2 bad input; 3 the soak could not measure (an ERROR; the rounds before it are kept).`;

export function registerSoakCommand(program: Command, getDirs: Dirs): void {
  program
    .command('soak')
    .description("run a scenario's blocking reader under churn for a duration, in rounds, with its watchdog: dumps, hangs, dumps per second and the 95% upper bound on the hang rate")
    .argument('<scenario>', 'a scenario whose judge counts dumps and hangs (dump-hang)')
    .requiredOption('--target <name>', 'target to build, boot and soak')
    .requiredOption('--duration <time>', 'how long the reader dumps in all, e.g. 90s, 5m, 2h, 1h30m (a resumed soak counts what it soaked before)')
    .option('--round <time>', 'length of one round; progress is saved after each', '30s')
    .option('--resume', 'continue the soak in the out folder until --duration is soaked')
    .option('--json', 'print one JSON object: {"dumps","seconds","hangs","bound",…}')
    .option('--out <dir>', 'the soak folder (default <cache>/soaks/<scenario>-<target>)')
    .addHelpText('after', HELP)
    .action(async (name: string, opts: SoakFlags) => {
      const input = await soakInput(name, opts, getDirs().dirs);
      const log = (l: string) => console.error(terminalText(l, { multiline: true }));
      await withSoakLock(input.outDir, async () => {
        const asked = { scenario: input.plan.scenario.name, target: input.target.name };
        const previous = await loadPrevious(progressPath(input.outDir), input.resume, asked, log);
        const before = soFar(previous);
        const left = input.durationMs - before.totals.seconds * 1000;
        if (previous && left <= 0) log(`${progressPath(input.outDir)}: ${before.totals.seconds} s soaked already, nothing left to soak for --duration ${opts.duration}`);
        const o = previous && left <= 0 ? before : await soakOrError(soak(input, previous, getDirs, log), previous);
        if (opts.json) console.log(JSON.stringify(soakJson(input, o)));
        else printSummary(input, o, (l) => console.log(l));
        process.exitCode = soakExitCode(o);
      });
    });
}
