import path from 'node:path';
import { buildBundle, type Bundle, type BuildRequest } from '../bundle/bundle.ts';
import type { Expectation } from '../catalog/expectations.ts';
import { expectationsName, type Target } from '../model/target.ts';
import { startGuest } from '../guest/guest.ts';
import { writeSweepPlot } from '../report/sweep-plot.ts';
import { skipReason, sourceProblem, targetAvailability, type TargetAvailability } from '../sources/availability.ts';
import { describeProgress } from '../sources/download.ts';
import type { SourceOptions } from '../sources/resolve.ts';
import { runScenario, type RunGuest, type ScenarioRunOptions } from '../scenarios/runner.ts';
import type { ScenarioProbes } from '../bundle/probes.ts';
import { runSweep } from '../scenarios/sweep.ts';
import { type Scenario, type ScenarioParams } from '../scenarios/types.ts';
import { type ScenarioResult } from '../model/scenario-result.ts';
import { type Verdict } from '../model/verdict.ts';
import { describeError } from '../util/errors.ts';
import { kernelLacks } from '../bundle/kernel-options.ts';
import type { LabDirs } from '../util/paths.ts';
import type { SweepRequest } from './plan.ts';
import { type CellAttempt, type MatrixCellResult, type MatrixSweepResult, type MatrixTargetResult } from '../model/matrix-result.ts';
import { GuestSession, retryOnFreshBoot, type SessionGuest, type StartGuest } from '../fabric/session.ts';

export interface TargetCellsOptions {
  target: Target;
  dirs: LabDirs;
  /** Where sources come from and whether missing archives are downloaded. */
  sources: SourceOptions;
  /** <run>/<target>: boots, cells and sweeps go below it. */
  outDir: string;
  repeat: number;
  params: ScenarioParams;
  expectations: Map<string, Map<string, Expectation>>;
  /** The users' scenarios among the cells and sweeps: their probes are built beside the image. */
  scenarioProbes?: ScenarioProbes[];
  /** What the cells build, boot and run with: the matrix passes LAB_CELL_DEPS. */
  deps: CellDeps;
}

/** What a target's cells need of a guest: what a scenario's run (and a sweep) needs, kept in a session. */
export type CellGuest = RunGuest & SessionGuest;

/** What the cells need of the target's build: its directory and manifest, and the users' probes built beside it. */
export type CellBundle = Pick<Bundle, 'dir' | 'manifest' | 'scenarioProbes'>;

/** The collaborators a target's cells work through, passed in by whoever makes them (the matrix the lab's own, a unit test its fakes). */
export interface CellDeps {
  /** Builds the target's image (a cache hit when nothing changed). */
  build: (req: BuildRequest) => Promise<CellBundle>;
  /** Boots a guest of that image; the target's GuestSession keeps it across cells and retries. */
  start: StartGuest<CellGuest>;
  /** Runs one cell's scenario on the session's guest. */
  runScenario: (o: ScenarioRunOptions) => Promise<ScenarioResult>;
}

/** The lab's own: buildBundle, startGuest, runScenario. */
export const LAB_CELL_DEPS: CellDeps = { build: buildBundle, start: startGuest, runScenario };

const firstLine = (s: string): string => s.split('\n')[0]!;

/** Repeats run and repeats lost to a stalled USB enumeration (one unpatched run per repeat). */
function stallCount(r: ScenarioResult): { repeats: number; usbStalls: number } {
  const perRepeat = r.variants.find((v) => v.role === 'unpatched')?.runs ?? [];
  return { repeats: perRepeat.length, usbStalls: perRepeat.filter((x) => x.errorKind === 'usb-stall').length };
}

/** Why an attempt ended in ERROR: the run's own error, or the first variant symptom that was an ERROR. */
function attemptError(r: ScenarioResult): string | undefined {
  if (r.error) return r.error;
  if (r.verdict !== 'ERROR') return undefined;
  return r.variants.flatMap((v) => v.runs).find((x) => x.outcome === 'ERROR')?.symptom;
}

/**
 * One target's share of the matrix: build once, boot once, run its cells on
 * that guest one after another, and boot again only when a guest was lost.
 * Every method records its outcome instead of throwing, so one bad cell never
 * hides the others.
 */
export class TargetCells {
  readonly info: MatrixTargetResult;
  private bundle: CellBundle | undefined;
  private session: GuestSession<CellGuest> | undefined;
  private unusable: string | undefined;

  constructor(private readonly o: TargetCellsOptions) {
    this.info = { target: o.target.name, status: 'ran', boots: 0 };
  }

  /** Sources present? Then build (a cache hit when nothing changed). Returns why the target cannot run, if it cannot. */
  async prepare(progress: (line: string) => void): Promise<string | undefined> {
    let avail: TargetAvailability;
    try {
      // Download progress goes to this target's progress line, not straight to the terminal the task tree draws on.
      avail = await targetAvailability(this.o.target, { ...this.o.sources, fetch: true, progress: (p) => progress(`download ${describeProgress(p)}`) });
    } catch (err) {
      return this.fail('source-error', `source error: ${describeError(err)}`, 0);
    }
    const problem = sourceProblem(avail);
    if (problem) return this.fail('source-error', problem, 0);
    const skip = skipReason(avail);
    if (skip) {
      const missing = avail.sources.filter((s) => s.state === 'missing').map((s) => ({ archive: s.archive ?? s.package, package: s.package, fix: s.fix ?? '' }));
      Object.assign(this.info, { status: 'skipped', reason: skip, missingSources: missing });
      this.unusable = skip;
      return skip;
    }
    const started = Date.now();
    try {
      this.bundle = await this.o.deps.build({
        target: this.o.target,
        extraPatches: [],
        dirs: this.o.dirs,
        sources: this.o.sources,
        logDir: path.join(this.o.outDir, 'build-logs'),
        progress,
        ...(this.o.scenarioProbes?.length ? { scenarioProbes: this.o.scenarioProbes } : {}),
      });
      Object.assign(this.info, { bundleDir: this.bundle.dir, bundleKey: this.bundle.manifest.key, buildSeconds: (Date.now() - started) / 1000 });
      this.session = new GuestSession({ bundleDir: this.bundle.dir, dirs: this.o.dirs, runDir: this.o.outDir, start: this.o.deps.start });
      return undefined;
    } catch (err) {
      return this.fail('build-failed', `build failed: ${describeError(err)}`, (Date.now() - started) / 1000);
    }
  }

  /** The target cannot run: every cell of it becomes an ERROR with this reason (never a skip). */
  private fail(status: 'build-failed' | 'source-error', reason: string, buildSeconds: number): string {
    Object.assign(this.info, { status, reason, buildSeconds });
    this.unusable = reason;
    return reason;
  }

  private async ensureGuest(progress: (line: string) => void): Promise<CellGuest> {
    try {
      return await this.session!.guest(progress);
    } finally {
      this.info.boots = this.session!.boots;
    }
  }

  /** Stops the guest, if any; the next cell boots a fresh one. */
  async stop(): Promise<void> {
    await this.session?.stop();
  }

  /** One try: boot if needed, run the scenario on the shared guest. A boot failure is an ERROR attempt. */
  private async attempt(scenario: Scenario, outDir: string, progress: (line: string) => void): Promise<{ attempt: CellAttempt; result?: ScenarioResult; consoleLog?: string }> {
    const started = Date.now();
    let guest: CellGuest;
    try {
      guest = await this.ensureGuest(progress);
    } catch (err) {
      const bootDir = this.session!.bootDir;
      return { attempt: { verdict: 'ERROR', error: `boot failed: ${describeError(err)}`, evidenceDir: bootDir, durationMs: Date.now() - started }, consoleLog: path.join(bootDir, 'console.log') };
    }
    const result = await this.o.deps.runScenario({ scenario, bundleDir: this.bundle!.dir, repeat: this.o.repeat, params: this.o.params, dirs: this.o.dirs, outDir, guest, progress, scenarioProbes: this.bundle!.scenarioProbes });
    const error = attemptError(result);
    return {
      attempt: { verdict: result.verdict, ...(error ? { error } : {}), ...stallCount(result), evidenceDir: outDir, durationMs: result.durationMs },
      result,
      consoleLog: guest.consoleLog,
    };
  }

  private cellBase(scenario: Pick<Scenario, 'name' | 'bug' | 'title'>) {
    const expected = this.o.expectations.get(scenario.name)?.get(expectationsName(this.o.target));
    return {
      target: this.o.target.name,
      scenario: scenario.name,
      bug: scenario.bug,
      title: scenario.title,
      ...(expected ? { expected: expected.verdict, expectedNote: expected.note } : {}),
      variants: [],
      key: {},
      attempts: [],
    };
  }

  /** A planned cell the lab lost (its run threw, or left no result): an ERROR with the cause, so it is still reported and fails the run. */
  lostCell(scenario: Pick<Scenario, 'name' | 'bug' | 'title'>, cause: string): MatrixCellResult {
    const summary = `the lab lost this cell: ${firstLine(cause)}`;
    return { ...this.cellBase(scenario), status: 'ran', verdict: 'ERROR', asExpected: false, summary, attempts: [{ verdict: 'ERROR', error: cause, durationMs: 0 }], durationMs: 0 };
  }

  /** A cell: run, and if the lab could not judge it (ERROR), once more on a fresh boot — and say so. Never throws. */
  async cell(scenario: Scenario, progress: (line: string) => void): Promise<MatrixCellResult> {
    try {
      return await this.runCell(scenario, progress);
    } catch (err) {
      return this.lostCell(scenario, describeError(err));
    }
  }

  private async runCell(scenario: Scenario, progress: (line: string) => void): Promise<MatrixCellResult> {
    const base = this.cellBase(scenario);
    if (this.unusable) {
      const status = this.info.status === 'skipped' ? 'skipped' : 'ran';
      return { ...base, status, ...(status === 'ran' ? { verdict: 'ERROR' as const } : {}), asExpected: false, summary: firstLine(this.unusable), durationMs: 0 };
    }
    const unfit = await this.kernelUnfit(scenario, base);
    if (unfit) return unfit;
    const dir = path.join(this.o.outDir, scenario.name);
    const { first, last, retried } = await retryOnFreshBoot(
      this.session!,
      (n) => this.attempt(scenario, n === 1 ? dir : `${dir}.retry`, progress),
      (a) => (a.attempt.verdict === 'ERROR' ? `the first attempt ended in ERROR (${firstLine(a.attempt.error ?? a.result?.variants.map((v) => v.symptom).join('; ') ?? 'no detail')}); retried once on a fresh boot` : undefined),
      (why) => progress(`ERROR; ${why}`),
    );
    return this.cellResult(this.singleVariantExpectation(base, last.result), last, retried ? [first.attempt, last.attempt] : [first.attempt], retried);
  }

  /**
   * A cell whose scenario needs kernel options this image's kernel lacks, decided before any boot: on
   * an imported product (its kernel is the product's) the scenario does not apply, a skipped cell
   * saying why; on the lab's own target the lab's kernel config is wrong, an ERROR (never retried).
   */
  private async kernelUnfit(scenario: Scenario, base: ReturnType<TargetCells['cellBase']>): Promise<MatrixCellResult | undefined> {
    const why = await kernelLacks(this.bundle!.dir, scenario.name, this.o.target.name, scenario.definition?.kernelOptions ?? []);
    if (!why) return undefined;
    if (this.o.target.imported) return { ...base, status: 'skipped', asExpected: false, summary: `does not apply to this product: ${why}`, durationMs: 0 };
    const error = `${why}: the lab's kernel config for ${this.o.target.name} must set them (kernels/${this.o.target.kernel.line}/)`;
    return { ...base, status: 'ran', verdict: 'ERROR', asExpected: false, summary: error, attempts: [{ verdict: 'ERROR', error, durationMs: 0 }], durationMs: 0 };
  }

  /**
   * An imported product judged against a built-in target's expectations runs its one libc "as shipped":
   * where the built-in pair says CONFIRMED (unpatched fails), the same failure here reads REPRODUCED.
   */
  private singleVariantExpectation<T extends { expected?: Verdict; expectedNote?: string }>(base: T, r: ScenarioResult | undefined): T {
    if (!this.o.target.imported?.like || !r || r.variants.length !== 1 || !base.expected) return base;
    const single: Partial<Record<Verdict, Verdict>> = { CONFIRMED: 'REPRODUCED', FIX_INEFFECTIVE: 'REPRODUCED', PATCH_REGRESSION: 'NOT_REPRODUCED' };
    const mapped = single[base.expected];
    return mapped ? { ...base, expected: mapped, expectedNote: `${base.expected} on ${this.o.target.imported.like} (unpatched vs patched); one libc as shipped here. ${base.expectedNote ?? ''}` } : base;
  }

  private cellResult(
    base: Omit<MatrixCellResult, 'status' | 'asExpected' | 'summary' | 'durationMs'>,
    last: { attempt: CellAttempt; result?: ScenarioResult; consoleLog?: string },
    attempts: CellAttempt[],
    retried: string | undefined,
  ): MatrixCellResult {
    const r = last.result;
    const verdict = last.attempt.verdict;
    const summary = r?.error || !r
      ? firstLine(last.attempt.error ?? 'no result')
      : r.variants.map((v) => `${v.role === 'unpatched' && r.variants.length > 1 ? 'unpatched' : v.role === 'patched' ? 'patched' : v.variant}: ${v.symptom}`).join('; ');
    const m = this.bundle!.manifest;
    return {
      ...base,
      status: 'ran',
      verdict,
      asExpected: base.expected === verdict,
      summary,
      ...(r ? { rate: r.rate, key: r.key } : {}),
      variants: (r?.variants ?? []).map((v) => ({ variant: v.variant, role: v.role, outcome: v.outcome, symptom: v.symptom, evidence: v.runs.map((x) => x.evidence).filter((e): e is string => !!e) })),
      attempts,
      ...(retried ? { retried } : {}),
      ...(r ? { resultFile: path.join(r.evidenceDir, 'result.json'), evidenceDir: r.evidenceDir, qemu: r.depends.qemu } : { evidenceDir: last.attempt.evidenceDir }),
      ...(r?.depends.uname ? { uname: r.depends.uname } : {}),
      ...(last.consoleLog ? { consoleLog: last.consoleLog } : {}),
      digests: {
        bundle: m.key,
        kernelConfig: m.kernel.configSha256,
        ...(m.kernel.source.sha256 ? { kernelSource: m.kernel.source.sha256 } : {}),
        rootfs: m.rootfs.sha256,
        ...Object.fromEntries(m.libc.variants.filter((v) => v.source?.sha256).map((v) => [`libc ${v.variant} source`, v.source!.sha256])),
      },
      durationMs: attempts.reduce((s, a) => s + a.durationMs, 0),
    };
  }

  /** A sweep on the same guest, after the cells; its SVG sits beside its sweep.json. */
  async sweep(req: SweepRequest, scenario: Scenario, progress: (line: string) => void): Promise<MatrixSweepResult> {
    const base = { target: this.o.target.name, scenario: req.scenario, axis: req.axis, range: req.text.slice(req.scenario.length + 1), patchedFailures: [], errors: [], points: [] };
    if (this.unusable) return { ...base, status: this.info.status === 'skipped' ? 'skipped' : 'error', error: firstLine(this.unusable) };
    const outDir = path.join(this.o.outDir, `sweep-${req.scenario}`);
    try {
      const guest = await this.ensureGuest(progress);
      const s = await runSweep({ scenario, bundleDir: this.bundle!.dir, axis: req.axis, range: req.range, params: this.o.params, dirs: this.o.dirs, outDir, progress, guest, scenarioProbes: this.bundle!.scenarioProbes });
      const svg = await writeSweepPlot(outDir, s);
      return {
        ...base,
        status: 'ran',
        ...(s.threshold !== undefined ? { threshold: s.threshold } : {}),
        patchedFailures: s.patchedFailures,
        errors: s.errors,
        points: s.points.map((p) => ({ value: p.value, unpatched: p.unpatched, ...(p.patched ? { patched: p.patched } : {}) })),
        svg,
        json: path.join(outDir, 'sweep.json'),
      };
    } catch (err) {
      await this.stop();
      return { ...base, status: 'error', error: describeError(err) };
    }
  }
}
