import fs from 'node:fs/promises';
import path from 'node:path';
import { readBundleManifest, type BundleManifest } from '../model/manifest.ts';
import { buildFabric, type Fabric } from '../fabric/fabric.ts';
import { shellQuote } from '../util/shell-quote.ts';
import { startGuest, type Guest } from '../guest/guest.ts';
import type { Vm } from '../qemu/vm.ts';
import { GuestSession } from '../fabric/session.ts';
import { describeError, LabError } from '../util/errors.ts';
import { uploadTree } from '../guest/upload-tree.ts';
import type { ScenarioProbeBuilds } from '../bundle/probes.ts';
import { scenarioProbeDir } from '../model/guest-layout.ts';
import type { LabDirs } from '../util/paths.ts';
import { type RepeatResult, type Scenario, type ScenarioContext, type ScenarioGuest, type ScenarioParams, type VariantPlan } from './types.ts';
import { type ScenarioResult, type VariantRun, type VariantSummary } from '../model/scenario-result.ts';
import { aggregate } from './verdict.ts';
import { worstOutcome, type Outcome } from '../model/verdict.ts';
import { planVariants } from './variants.ts';
import { formatBurst } from '../fabric/usb-plan.ts';
import { timeoutMultiplier } from '../util/timeouts.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { kernelLacks } from '../bundle/kernel-options.ts';

/** What a scenario's run needs of a lent guest: what its repetitions need, uploads (a user's probes), and the QEMU command line it records. */
export type RunGuest = ScenarioGuest & Pick<Guest, 'upload'> & { readonly vm: Pick<Vm, 'command'> };

export interface ScenarioRunOptions {
  scenario: Scenario;
  bundleDir: string;
  repeat: number;
  params: ScenarioParams;
  dirs: LabDirs;
  /** Evidence and result.json go here (created). */
  outDir: string;
  /** validate-patch: the libc build that plays "patched". */
  patchedLibc?: string;
  progress?: (line: string) => void;
  /** Reuse a booted guest (sweeps); it is then neither booted nor stopped here. */
  guest?: RunGuest;
  /** A user's scenario: its probes as the bundle built them (buildBundle's scenarioProbes). */
  scenarioProbes?: ScenarioProbeBuilds;
}

/**
 * A user's scenario's probes are not in the image: they go to their guest folders before it runs
 * (`sets`: this scenario's builds from buildBundle's scenarioProbes; the upload works in outDir).
 * reprolab run and soak both call it.
 */
export async function installScenarioProbes(opts: Pick<ScenarioRunOptions, 'scenario' | 'scenarioProbes' | 'outDir'>, sets: ScenarioProbeBuilds['sets'], guest: Pick<RunGuest, 'upload' | 'exec'>): Promise<void> {
  const { scenario } = opts;
  if (!scenario.definition?.probesDir) return;
  const failed = opts.scenarioProbes?.failed.find((f) => f.scenario === scenario.name);
  if (failed) throw new LabError(failed.message, { ...(failed.logPath ? { logPath: failed.logPath } : {}), fix: 'fix the probe; the other scenarios of this target ran' });
  if (!sets.length) {
    throw new LabError(`the probes of scenario "${scenario.name}" (${scenario.definition.probesDir}) were not built for this image`, { fix: 'an imported Buildroot product has no lab toolchain to build them; run the scenario on a lab-built target' });
  }
  await uploadTree(guest, sets.map((p) => ({ from: p.dir, to: scenarioProbeDir(scenario.name, p.variant, p.linkage) })), opts.outDir, `the probes of ${scenario.name}`);
}

function summarize(plan: VariantPlan, runs: VariantRun[]): VariantSummary {
  const mine = runs.filter((r) => r.variant === plan.variant && r.role === plan.role);
  const worst = worstOutcome(mine.map((r) => r.outcome));
  const shown = mine.find((r) => r.outcome === worst) ?? mine.at(-1);
  return { variant: plan.variant, role: plan.role, describe: plan.describe, outcome: mine.length ? worst : 'ERROR', symptom: shown?.symptom ?? 'did not run', runs: mine };
}

function depends(manifest: BundleManifest | undefined, guest: RunGuest | undefined, uname: string | undefined): ScenarioResult['depends'] {
  // Without a readable manifest there is nothing to record but that.
  if (!manifest) return { bundleKey: '(manifest unreadable)', kernel: { version: '', release: '', configSha256: '', patches: [] }, libc: [], rootfsSha256: '', qemu: '(not started)' };
  return {
    bundleKey: manifest.key,
    kernel: { version: manifest.kernel.version, release: manifest.kernel.release, sourceSha256: manifest.kernel.source.sha256, configSha256: manifest.kernel.configSha256, patches: manifest.kernel.patches },
    libc: manifest.libc.variants.map((v) => ({ variant: v.variant, libc: v.libc, ...(v.source ? { sourceSha256: v.source.sha256 } : {}), patches: v.patches })),
    rootfsSha256: manifest.rootfs.sha256,
    qemu: guest ? [guest.vm.command.binary, ...guest.vm.command.args].map(shellQuote).join(' ') : '(not started)',
    ...(uname ? { uname } : {}),
    ...(guest ? { consoleLog: guest.consoleLog } : {}),
  };
}

/**
 * R repetitions on one guest, appended to `repeats`. A repetition that throws is an ERROR for every
 * variant and the next one runs; returns the run's error when the guest itself stopped.
 */
async function runRepeats(scenario: Scenario, ctx: Omit<ScenarioContext, 'repeat'>, count: number, say: (line: string) => void, repeats: RepeatResult[]): Promise<string | undefined> {
  for (let r = 1; r <= count; r++) {
    say(`repeat ${r}/${count}`);
    try {
      repeats.push(await scenario.repeat({ ...ctx, repeat: r }));
    } catch (err) {
      const symptom = `ERROR: ${describeError(err)}`;
      const errorKind = err instanceof LabError ? { errorKind: err.kind } : {};
      repeats.push({ runs: ctx.variants.map((v) => ({ variant: v.variant, role: v.role, outcome: 'ERROR', symptom, ...errorKind })), key: {} });
      if (!ctx.guest.vm.running) return `the guest stopped during repeat ${r}: ${describeError(err)}`;
    }
  }
  return undefined;
}

/** Each repeat's unpatched (and, when paired, patched) outcome; a variant with no run is an ERROR. */
function pairedOutcomes(repeats: RepeatResult[], paired: boolean): { unpatched: Outcome; patched?: Outcome }[] {
  const outcomeOf = (r: RepeatResult, role: 'unpatched' | 'patched') => r.runs.find((x) => x.role === role)?.outcome ?? 'ERROR';
  return repeats.map((r) => ({ unpatched: outcomeOf(r, 'unpatched'), ...(paired ? { patched: outcomeOf(r, 'patched') } : {}) }));
}

/** A kernel without an option the scenario needs cannot run it: said before anything boots. */
async function mustFitKernel(scenario: Scenario, bundleDir: string, target: string): Promise<void> {
  const lacks = await kernelLacks(bundleDir, scenario.name, target, scenario.definition?.kernelOptions ?? []);
  if (lacks) throw new LabError(lacks);
}

/**
 * Boot → fabric → R repeats of every variant → verdict, with evidence in outDir.
 * Never throws: whatever goes wrong in any phase (the manifest, the variant plan,
 * boot, fabric, a repeat) is an ERROR result with its cause.
 */
export async function runScenario(opts: ScenarioRunOptions): Promise<ScenarioResult> {
  const { scenario } = opts;
  const started = Date.now();
  const params = { ...scenario.defaults, ...opts.params };
  // A user's scenario's probe builds: uploaded before it runs, and recorded in result.json.
  const probeSets = (opts.scenarioProbes?.sets ?? []).filter((p) => p.scenario === scenario.name);
  const repeats: RepeatResult[] = [];
  let manifest: BundleManifest | undefined;
  let variants: VariantPlan[] = [];
  // A guest of its own when none is lent (reprolab run, validate-patch): stopped however the run ends.
  await using own = new GuestSession({ bundleDir: opts.bundleDir, dirs: opts.dirs, runDir: opts.outDir, start: startGuest });
  let guest = opts.guest;
  let uname: string | undefined;
  let fabric: Fabric | undefined;
  let error: string | undefined;
  let phase = 'reading the bundle manifest';
  const say = opts.progress ?? (() => undefined);
  try {
    await fs.mkdir(opts.outDir, { recursive: true });
    manifest = await readBundleManifest(opts.bundleDir);
    phase = 'planning the variants';
    variants = planVariants(scenario, manifest, opts.patchedLibc);
    phase = "checking the kernel's options";
    await mustFitKernel(scenario, opts.bundleDir, manifest.target);
    if (!guest) {
      phase = 'booting';
      say(`booting ${manifest.target}`);
      guest = await own.guest();
    }
    phase = "installing the scenario's probes";
    await installScenarioProbes(opts, probeSets, guest);
    phase = 'reading uname';
    uname = (await guest.exec(['uname', '-a'])).stdout.trim();
    phase = 'building the fabric';
    say(phase);
    fabric = await buildFabric(guest, scenario.fabric(params));
    error = await runRepeats(scenario, { guest, manifest, params, variants, evidenceDir: opts.outDir, fabric: fabric.report }, opts.repeat, say, repeats);
  } catch (err) {
    error = `${phase}: ${describeError(err)}`;
  } finally {
    if (fabric && guest?.vm.running) await fabric.teardown().catch(() => undefined);
    await own.stop();
  }
  const runs = repeats.flatMap((r) => r.runs);
  const agg = aggregate(error && repeats.length === 0 ? [] : pairedOutcomes(repeats, variants.length > 1));
  const result: ScenarioResult = {
    schema: 1,
    scenario: scenario.name,
    bug: scenario.bug,
    title: scenario.title,
    target: manifest?.target ?? '(unknown: the bundle manifest could not be read)',
    verdict: error ? 'ERROR' : agg.verdict,
    rate: { reproduced: agg.reproduced, repeats: agg.repeats, errors: agg.errors },
    variants: variants.map((v) => summarize(v, runs)),
    key: repeats.at(-1)?.key ?? {},
    params: { ...params, ...(params.burst ? { burst: formatBurst(params.burst) } : {}), repeat: opts.repeat },
    ...(error ? { error } : {}),
    ...(fabric ? { fabric: { interfaces: fabric.report.interfaces ? { requested: fabric.report.interfaces.requested, created: fabric.report.interfaces.created, failed: fabric.report.interfaces.failed, wallMs: fabric.report.interfaces.wallMs } : undefined, links: fabric.report.net.counts, sockets: fabric.report.sockets?.total } } : {}),
    depends: {
      ...depends(manifest, guest, uname),
      bundleDir: path.resolve(opts.bundleDir),
      ...(scenario.definition ? { scenarioDefinition: { file: scenario.definition.file, sha256: scenario.definition.sha256 } } : {}),
      ...(scenario.definition?.probesDir ? { scenarioProbes: probeSets.map((p) => ({ variant: p.variant, linkage: p.linkage, dir: p.dir })) } : {}),
    },
    evidenceDir: opts.outDir,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    timeoutMultiplier: timeoutMultiplier(),
    aggregate: agg,
  };
  // The result is returned even when its file cannot be written (the out directory is the failing part).
  // Atomic: reports and repro packs read it back (readCellRecord); a crash never leaves half of it.
  await writeFileAtomic(path.join(opts.outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`).catch((err: unknown) => {
    result.error ??= `writing result.json: ${describeError(err)}`;
    result.verdict = 'ERROR';
    result.aggregate = { ...result.aggregate, verdict: 'ERROR' };
  });
  return result;
}
