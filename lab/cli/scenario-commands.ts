import { flagged, inputFileOption } from './input.ts';
import { parseBurst } from '../fabric/usb-plan.ts';
import path from 'node:path';
import type { Command } from 'commander';
import { buildBundle } from '../bundle/bundle.ts';
import { loadExpectations } from '../catalog/expectations.ts';
import { expectationsName, type Target } from '../model/target.ts';
import { loadAllTargets, loadTargets, selectTargets } from '../catalog/targets.ts';
import { writeSweepPlot } from '../report/sweep-plot.ts';
import { skipReason, sourceProblem, targetAvailability } from '../sources/availability.ts';
import { allScenarios, scenarioByName, scenarioProbesOf } from '../scenarios/registry.ts';
import { sweepAxisOf, parseRange, runSweep, thresholdText } from '../scenarios/sweep.ts';
import { SUPPORTED_LIBCS, validatePatch } from '../workflows/validate-patch.ts';
import { CANDIDATE_LIBCS, ngRelease, type CandidateLibc } from '../workflows/candidate.ts';
import { inspectBuildrootOutput } from '../workflows/buildroot/inspect.ts';
import { productUclibcConfig, productUclibcSettings } from '../workflows/buildroot/uclibc-config.ts';
import { asUsageError, LabError, UsageError } from '../util/errors.ts';
import { runScenario } from '../scenarios/runner.ts';
import { type ScenarioResult } from '../model/scenario-result.ts';
import type { Dirs } from './guest-commands.ts';
import { PARAM_FLAGS, scenarioParams, type ParamOptions } from './scenario-params.ts';
import { whole } from './input.ts';
import { timeStamp, type LabDirs } from '../util/paths.ts';
import { terminalText } from '../util/safe-text.ts';

const isCandidateLibc = (name: string): name is CandidateLibc => Object.hasOwn(CANDIDATE_LIBCS, name);

/** Human-readable result: the verdict first, then each variant with its symptom and evidence. */
export function printResult(r: ScenarioResult, writeRaw: (line: string) => void): void {
  // Symptoms, errors and measured values are the guest's text: its control characters are shown, not obeyed.
  const write = (l: string, multiline = false) => writeRaw(terminalText(l, { multiline }));
  write(`${r.scenario} (${r.bug}) on ${r.target}: ${r.verdict}  (unpatched showed the symptom in ${r.rate.reproduced}/${r.rate.repeats} repeats${r.rate.errors ? `, ${r.rate.errors} errors` : ''})`);
  if (r.error) write(`  error: ${r.error}`, true);
  for (const v of r.variants) write(`  ${v.role.padEnd(9)} ${v.variant.padEnd(10)} ${v.outcome.padEnd(5)} ${v.symptom}`);
  const key = Object.entries(r.key).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  if (key) write(`  measured: ${key}`);
  write(`  evidence: ${r.evidenceDir}`);
}

export function registerScenarioCommands(program: Command, getDirs: Dirs): void {
  program
    .command('scenarios')
    .description("list the scenarios: the built-in ones (images/scenarios) and your own (--scenario-dir, REPROLAB_SCENARIOS), with where each is defined")
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const rows = allScenarios().map((s) => {
        const d = s.definition!;
        return { name: s.name, bug: s.bug, title: s.title, variants: d.variants, judge: 'code' in d.judge ? `code: ${d.judge.code}` : `counts vs ${d.judge.truth} truth`, builtin: d.builtin, definition: d.file, ...(d.probesDir ? { probes: d.probes } : {}), ...(d.patches.length ? { patches: d.patches } : {}), ...(d.kernelOptions.length ? { kernelOptions: d.kernelOptions } : {}) };
      });
      if (opts.json) return console.log(JSON.stringify(rows, null, 2));
      for (const r of rows) {
        console.log(`${r.name.padEnd(22)} ${r.bug.padEnd(14)} ${r.variants.padEnd(7)} ${r.judge.padEnd(24)} ${r.builtin ? 'built-in' : r.definition}\n${''.padEnd(23)}${r.title}`);
        if (r.kernelOptions) console.log(`${''.padEnd(23)}needs in the kernel: ${r.kernelOptions.map((o) => `${o}=y`).join(', ')}`);
      }
    });
  const run = program
    .command('run')
    .description('run one scenario on one target: unpatched and patched variants, judged against the guest ground truth')
    .argument('<scenario>', 'a scenario name (reprolab scenarios lists them)')
    .requiredOption('--target <name>', 'target to build, boot and judge')
    .option('--repeat <n>', 'repetitions in one boot; the result gives a reproduction rate k/n', '1')
    .option('--json', 'print the result as one JSON object')
    .option('--out <dir>', 'evidence directory (default <cache>/runs/<time>-<scenario>-<target>)');
  for (const [flag, help] of PARAM_FLAGS) run.option(flag, help);
  run.action(async (name: string, opts: ParamOptions & { target: string; repeat: string; json?: boolean; out?: string }) => {
    const scenario = scenarioByName(name);
    const params = scenarioParams(opts);
    const repeat = whole('--repeat', opts.repeat, 1, 10_000);
    const { dirs, sources } = getDirs();
    const [target] = selectTargets(await loadAllTargets(dirs.imported), [opts.target]) as [Target];
    const expectations = await loadExpectations(scenario.name, scenario.definition?.expectFile);
    const when = timeStamp();
    const log = (l: string) => console.error(terminalText(l, { multiline: true }));
    const bundle = await buildBundle({ target, extraPatches: [], dirs, sources, logDir: path.join(dirs.logs, `${target.name}-${when}`), progress: (s) => log(`build: ${s}`), scenarioProbes: scenarioProbesOf([scenario]) });
    const outDir = path.resolve(opts.out ?? path.join(dirs.cache, 'runs', `${when}-${scenario.name}-${target.name}`));
    const result = await runScenario({ scenario, bundleDir: bundle.dir, repeat, params, dirs, outDir, progress: (l) => log(`${scenario.name}: ${l}`), scenarioProbes: bundle.scenarioProbes });
    const expected = expectations.targets.get(expectationsName(target));
    if (opts.json) console.log(JSON.stringify({ ...result, expected: expected ?? null }, null, 2));
    else printResult(result, (l) => console.log(l));
    if (!expected) {
      log(`no expectation for ${target.name} in ${expectations.file}: add {"verdict": "${result.verdict}", "note": "…"} under "targets" once this result is understood`);
      process.exitCode = 1;
    } else if (expected.verdict !== result.verdict) {
      log(`UNEXPECTED: ${expectations.file} expects ${expected.verdict} on ${target.name} (${expected.note}); got ${result.verdict}`);
      process.exitCode = 1;
    } else {
      log(`as expected (${expectations.file}: ${expected.note})`);
    }
  });
}

export function registerSweepCommand(program: Command, getDirs: Dirs): void {
  const sweep = program
    .command('sweep')
    .description('run a scenario over a range of one parameter on one boot: finds the smallest value where the unpatched variant fails, checks the patched one everywhere, writes a table and an SVG plot')
    .argument('<scenario>', 'a scenario name, e.g. getifaddrs (--interfaces), uevent (--burst), dump-buffer (--sockets); reprolab scenarios lists them')
    .requiredOption('--target <name>', 'target to build, boot and judge')
    .option('--interfaces <range>', 'B1: interface counts, FROM..TO[:STEP], e.g. 0..64')
    .option('--burst <range>', 'B2: USB devices per burst, FROM..TO[:STEP]; kinds and timing from --burst-shape')
    .option('--burst-shape <spec>', 'B2: the burst the counts apply to (default kbd,storage,mouse,net:10@50ms+enum)')
    .option('--sockets <range>', 'B3/B4: held TCP sockets, FROM..TO[:STEP]')
    .option('--buffer <bytes>', 'B4: the fixed reader buffer (default 16384)')
    .option('--json', 'print the sweep as JSON')
    .option('--out <dir>', 'output directory (default <cache>/sweeps/<time>-<scenario>-<target>)');
  sweep.action(
    async (
      name: string,
      opts: { target: string; interfaces?: string; burst?: string; burstShape?: string; sockets?: string; buffer?: string; json?: boolean; out?: string },
    ) => {
      const scenario = scenarioByName(name);
      const axis = sweepAxisOf(scenario);
      if (!axis) throw new UsageError(`${scenario.name} has no sweep parameter`, { fix: `sweep one of ${allScenarios().filter((s) => sweepAxisOf(s)).map((s) => s.name).join(', ')}, or give ${scenario.definition?.file ?? 'its definition'} a "sweep"` });
      const given = { interfaces: opts.interfaces, burst: opts.burst, sockets: opts.sockets };
      const text = given[axis];
      if (!text) throw new UsageError(`sweep ${scenario.name} needs --${axis} FROM..TO[:STEP]`);
      // Every range given is checked, the swept one and any other.
      for (const [k, v] of Object.entries(given)) if (v !== undefined) parseRange(`--${k}`, v);
      const range = parseRange(`--${axis}`, text);
      const params = scenarioParams({ ...(opts.buffer ? { buffer: opts.buffer } : {}) });
      if (opts.burstShape) params.burst = flagged('--burst-shape', opts.burstShape, parseBurst);
      const { dirs, sources } = getDirs();
      const [target] = selectTargets(await loadAllTargets(dirs.imported), [opts.target]) as [Target];
      const when = timeStamp();
      const bundle = await buildBundle({ target, extraPatches: [], dirs, sources, logDir: path.join(dirs.logs, `${target.name}-${when}`), progress: (s) => console.error(`build: ${s}`), scenarioProbes: scenarioProbesOf([scenario]) });
      const outDir = path.resolve(opts.out ?? path.join(dirs.cache, 'sweeps', `${when}-${scenario.name}-${target.name}`));
      const result = await runSweep({ scenario, bundleDir: bundle.dir, axis, range, params, dirs, outDir, progress: (l) => console.error(terminalText(l, { multiline: true })), scenarioProbes: bundle.scenarioProbes });
      const svg = await writeSweepPlot(outDir, result);
      if (opts.json) {
        console.log(JSON.stringify({ ...result, plot: svg }, null, 2));
      } else {
        console.log(`${axis.padStart(10)}  unpatched  patched  symptom (unpatched)`);
        for (const p of result.points) console.log(`${String(p.value).padStart(10)}  ${p.unpatched.padEnd(9)}  ${(p.patched ?? '-').padEnd(7)}  ${terminalText(p.unpatchedSymptom)}`);
        console.log(thresholdText(result));
        console.log(result.patchedFailures.length ? `patched did NOT pass at: ${result.patchedFailures.join(', ')}` : 'patched passed at every value');
        console.log(`plot: ${svg}`);
      }
      if (result.errors.length || result.patchedFailures.length) process.exitCode = 1;
    },
  );
}

/**
 * A named target whose libc is not the one --libc builds cannot be judged by validate-patch: its
 * candidate is that libc's release plus the patches, compared with the target's own build of it.
 * Said with the target's libc, not as an unknown target.
 */
export function refuseOtherLibcs(every: Target[], named: string[], libc: CandidateLibc): void {
  const kind = CANDIDATE_LIBCS[libc];
  const builds = libc === 'uclibc-ng' ? "uClibc-ng at the product's own release with your patches, to compare with the uClibc-ng it ships" : "uClibc 0.9.33.2 with your patches to compare with the target's own uClibc 0.9.33.x";
  for (const t of every.filter((x) => named.includes(x.name) && x.libc.kind !== kind)) {
    const other = (Object.keys(CANDIDATE_LIBCS) as CandidateLibc[]).find((l) => CANDIDATE_LIBCS[l] === t.libc.kind);
    throw new UsageError(`--targets ${t.name}: its libc is ${t.libc.kind}, and validate-patch --libc ${libc} builds ${builds}`, {
      fix: other ? `validate it with --libc ${other}` : `--libc ${libc} takes: ${every.filter((x) => x.libc.kind === kind).map((x) => x.name).join(', ') || (libc === 'uclibc-ng' ? 'imported uClibc-ng products (none is imported)' : 'the built-in uClibc targets')}`,
    });
  }
}

/**
 * What the user must fix before a uClibc-ng product can be validated, said before anything builds
 * (exit 2): no clone or no release tag, no product uClibc .config (or two), one the lab refuses.
 * Anything else (an output moved away, an odd release number) is left to validate-patch: that
 * product's ERROR, and the others still run.
 */
async function ngInputs(t: Target, dirs: LabDirs): Promise<void> {
  const o = await inspectBuildrootOutput(t.imported!.from).catch(() => undefined);
  if (!o) return;
  await ngRelease(t, o.libc.version, dirs).catch((err: unknown) => {
    if (err instanceof UsageError) throw err;
  });
  const config = await productUclibcConfig(o.dir, o.libc.version).catch((err: unknown) => asUsageError(err));
  await productUclibcSettings(config.file).catch((err: unknown) => asUsageError(err, () => `validate-patch builds ${t.name}'s uClibc-ng with that configuration; the lab refuses what could reach make or the compiler (docs/trust.md)`));
}

export function registerValidatePatchCommand(program: Command, getDirs: Dirs): void {
  const cmd = program
    .command('validate-patch')
    .description("build the libc with your patches on the unpatched release, relink the probes, run every libc scenario, and say per target whether the patch fixes what the unpatched libc shows")
    .argument('<patches...>', 'patch files (-p1, applied in order)')
    .requiredOption('--libc <name>', `libc the patches are for (${SUPPORTED_LIBCS.join(', ')})`)
    .option('--targets <names>', 'comma-separated targets (default: every available target with that libc)')
    .option('--json', 'print the findings as JSON')
    .option('--out <dir>', 'output directory (default <cache>/validate/<time>)');
  for (const [flag, help] of PARAM_FLAGS.slice(0, 1)) cmd.option(flag, help);
  cmd.action(async (patches: string[], opts: ParamOptions & { libc: string; targets?: string; json?: boolean; out?: string }) => {
    if (!isCandidateLibc(opts.libc)) throw new UsageError(`--libc ${opts.libc}: not a libc the lab builds from source`, { fix: `use one of: ${SUPPORTED_LIBCS.join(', ')}` });
    const params = scenarioParams(opts);
    const files = patches.map((p) => inputFileOption('patch', p));
    const { dirs, sources } = getDirs();
    // uClibc 0.9.33.2: the built-in targets by default, imported products with it when named.
    // uClibc-ng: imported products only (each its own release), every one by default.
    const libc = opts.libc;
    const every = await loadAllTargets(dirs.imported);
    const named = opts.targets?.split(',').map((s) => s.trim());
    refuseOtherLibcs(every, named ?? [], libc);
    const all = every.filter((t) => t.libc.kind === CANDIDATE_LIBCS[libc]);
    const chosen = named ? selectTargets(all, named) : all.filter((t) => libc === 'uclibc-ng' || !t.imported);
    if (!chosen.length) throw new UsageError(`--libc ${libc}: no target has that libc`, { fix: libc === 'uclibc-ng' ? 'import a uClibc-ng product first: reprolab import-buildroot OUTPUT_DIR --board BOARD (docs/buildroot.md)' : 'reprolab targets lists the uClibc targets' });
    if (libc === 'uclibc-ng') for (const t of chosen) await ngInputs(t, dirs);
    const avail = await Promise.all(chosen.map((t) => targetAvailability(t, { ...sources, fetch: true })));
    // A source that is present but wrong is a failure to fix, never a target quietly left out.
    const wrong = avail.map(sourceProblem).filter(Boolean);
    if (wrong.length) throw new LabError(wrong.join('\n'));
    const ready = chosen.filter((_, i) => avail[i]!.available);
    for (const [i, t] of chosen.entries()) if (!avail[i]!.available) console.error(`${t.name}: ${skipReason(avail[i]!)}`);
    if (!ready.length) throw new LabError(`no ${opts.libc} target can be built here`, { fix: 'put the missing archives in the download cache (reprolab targets lists them)' });
    const outDir = path.resolve(opts.out ?? path.join(dirs.cache, 'validate', timeStamp()));
    const findings = await validatePatch({ patches: files, libc, targets: ready, dirs, sources, params, outDir, progress: (l) => console.error(terminalText(l, { multiline: true })), builtins: await loadTargets() });
    if (opts.json) console.log(JSON.stringify({ patches: files, libc: opts.libc, findings }, null, 2));
    else {
      for (const f of findings) {
        console.log(`${f.target}: ${f.finding}`);
        for (const l of f.detail.split('\n')) console.log(`    ${terminalText(l)}`);
      }
      console.log(`evidence: ${outDir}`);
    }
    const bad = findings.some((f) => !['FIXES', 'NOTHING_TO_FIX'].includes(f.finding));
    const fixedSomewhere = findings.some((f) => f.finding === 'FIXES');
    if (bad || !fixedSomewhere) process.exitCode = 1;
  });
}
