import fs from 'node:fs/promises';
import path from 'node:path';
import { buildProbes, type ProbeSet } from '../../bundle/probes.ts';
import { TOOLCHAINS, toolchainVersion } from '../../bundle/toolchain.ts';
import { buildUclibcNg, uclibcNgSharedRecipe, type UclibcNgBuild } from '../../bundle/uclibc-ng.ts';
import type { Fabric } from '../../fabric/fabric.ts';
import { GuestSession, retryOnFreshBoot } from '../../fabric/session.ts';
import { startGuest, type Guest } from '../../guest/guest.ts';
import { uploadTree } from '../../guest/upload-tree.ts';
import type { BundleManifest } from '../../model/manifest.ts';
import type { Target } from '../../model/target.ts';
import type { Scenario, ScenarioParams, VariantPlan } from '../../scenarios/types.ts';
import { describeError, LabError } from '../../util/errors.ts';
import type { LabDirs } from '../../util/paths.ts';
import { libcLibDir, sharedProbeDir, staticProbeDir } from '../../model/guest-layout.ts';
import type { Observation } from './search.ts';

/**
 * A build failure that says something about the revision (a skip, as `git bisect skip`): its make or
 * the probes' compile exiting non-zero, a compat patch that does not apply, its Kconfig. A signal, a
 * tool that did not start, git, a lock or a copy is the lab's own failure: ERROR.
 */
export function isRevisionsOwnFailure(err: LabError, buildLog: string): boolean {
  if (err.kind === 'patch' || err.kind === 'config') return true;
  return err.kind === 'command' && err.logPath === buildLog && /^(make|\S*gcc)$/.test(err.command ?? '');
}

/** A step's builds: its uClibc-ng and the probes linked against it, static and shared. */
interface StepBuild {
  libc: UclibcNgBuild;
  probes: ProbeSet;
  shared: ProbeSet;
}

/** What a step did, beside its observation: for the step log. */
export interface StepRecord {
  commit: string;
  variant: string;
  version?: string;
  /** Config settings this revision's Kconfig does not have (left out of its build). */
  droppedOptions?: string[];
  /** Built now (false: every part came from the store). */
  builtNow: boolean;
  buildMs: number;
  runMs: number;
  /** Fresh boots this step needed (after an ERROR). */
  reboots: number;
  /** Why the step was retried on a fresh boot (its first try's ERROR). */
  retryReason?: string;
  outcomes: string[];
  symptoms: string[];
  evidenceDir: string;
  buildLog: string;
  observation: Observation;
}

/**
 * One guest for a whole bisection: booted once with the target's image and
 * its fabric (the interfaces of the scenario), then for every step the
 * revision's libc and probes are uploaded under their own prefix and the
 * scenario's libc side runs R times. A step with an ERROR gets one fresh boot
 * and one more try; a step never leaves its files behind for the next.
 */
export class BisectGuest implements AsyncDisposable {
  private readonly session: GuestSession;

  constructor(
    private readonly o: {
      target: Target;
      bundleDir: string;
      manifest: BundleManifest;
      scenario: Scenario;
      params: ScenarioParams;
      repo: string;
      headers: { headers: string; key: string };
      dirs: LabDirs;
      outDir: string;
      repeat: number;
      progress: (line: string) => void;
    },
  ) {
    this.session = new GuestSession({ bundleDir: o.bundleDir, dirs: o.dirs, runDir: o.outDir, start: startGuest, progress: (line) => o.progress(`${o.manifest.target}: ${line}`) });
  }

  /** Boots so far (a step's ERROR costs one). */
  get boots(): number {
    return this.session.boots;
  }

  /** The guest with the scenario's fabric (the interfaces every step reads), booted once and again only when lost. */
  private async boot(): Promise<{ guest: Guest; fabric: Fabric }> {
    return this.session.withFabric(this.o.scenario.fabric({ ...this.o.scenario.defaults, ...this.o.params }));
  }

  /** Builds the commit's uClibc-ng and probes (cached), then runs the scenario on it. */
  async step(commit: string, index: number): Promise<StepRecord> {
    const short = commit.slice(0, 12);
    const variant = `ng-${short}`;
    const evidenceDir = path.join(this.o.outDir, 'steps', `${String(index).padStart(2, '0')}-${short}`);
    const buildLog = path.join(evidenceDir, 'build.log');
    await fs.mkdir(evidenceDir, { recursive: true });
    const t0 = Date.now();
    const base = { commit, variant, evidenceDir, buildLog, reboots: 0, outcomes: [] as string[], symptoms: [] as string[] };
    let built: StepBuild;
    try {
      built = await this.build(commit, variant, buildLog);
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
      const detail = err.firstError ?? describeError(err).split('\n')[0]!;
      // Only the revision's own failures (its make, a compat patch that does not apply, its Kconfig) make it a skip;
      // anything else (a lock, git, the toolchain) is the lab's: an ERROR, never read as either side.
      const own = isRevisionsOwnFailure(err, buildLog);
      const observation: Observation = own ? { built: false, repeats: 0, symptom: 0, errors: 0, detail } : { built: true, repeats: 0, symptom: 0, errors: 1, detail: `the lab failed while building: ${detail}` };
      return { ...base, builtNow: true, buildMs: Date.now() - t0, runMs: 0, observation };
    }
    const buildMs = Date.now() - t0;
    const builtNow = !(built.libc.hit && built.probes.hit && built.shared.hit);
    const t1 = Date.now();
    // Judge again on a fresh guest: an ERROR is the lab's, not the revision's, until it repeats.
    const tries = await retryOnFreshBoot(
      this.session,
      (n) => this.run(built, variant, evidenceDir, n === 1 ? 'a' : 'b'),
      (r) => (r.errors > 0 ? (r.symptoms.find((s) => s.startsWith('ERROR')) ?? 'ERROR') : undefined),
      (why) => this.o.progress(`${short}: ${why}; fresh boot and one more try`),
    );
    const retryReason = tries.retried;
    const reboots = retryReason ? 1 : 0;
    let run = tries.last;
    if (retryReason) {
      // The first try's judged repeats stay: a symptom it saw is proof, whatever the second try shows.
      const first = tries.first;
      const judged = first.outcomes.map((o, i) => ({ o, s: first.symptoms[i]! })).filter((x) => x.o !== 'ERROR');
      run = { outcomes: [...judged.map((x) => x.o), ...run.outcomes], symptoms: [...judged.map((x) => x.s), ...run.symptoms], errors: run.errors };
      // A guest that gave an ERROR twice is not trusted with the next step.
      if (tries.last.errors > 0) await this.session.retire('a step gave an ERROR on a fresh boot too');
    }
    const observation: Observation = {
      built: true,
      repeats: run.outcomes.filter((o) => o === 'PASS' || o === 'FAIL').length,
      symptom: run.outcomes.filter((o) => o === 'FAIL').length,
      errors: run.errors,
      detail: run.symptoms.find((_, i) => run.outcomes[i] === 'FAIL') ?? run.symptoms.find((_, i) => run.outcomes[i] === 'ERROR') ?? run.symptoms[0] ?? '',
    };
    return { ...base, version: built.libc.version, droppedOptions: built.libc.droppedOptions, builtNow, buildMs, runMs: Date.now() - t1, reboots, ...(retryReason ? { retryReason } : {}), outcomes: run.outcomes, symptoms: run.symptoms, observation };
  }

  private async build(commit: string, variant: string, logFile: string): Promise<StepBuild> {
    const tc = TOOLCHAINS[this.o.target.arch];
    const toolchain = await toolchainVersion(tc);
    const libc = await buildUclibcNg({ repo: this.o.repo, commit, arch: this.o.target.arch, headers: this.o.headers.headers, headersKey: this.o.headers.key, tc, dirs: this.o.dirs, logFile });
    // A user's scenario brings its own probes; they take the lab's place under the step's prefix.
    const srcDir = this.o.scenario.definition?.probesDir;
    const probes = await buildProbes({ variant, recipe: libc.recipe, libcKey: libc.sysroot, toolchain, dirs: this.o.dirs, logFile, ...(srcDir ? { srcDir } : {}) });
    const shared = await buildProbes({ variant, linkage: 'shared', recipe: uclibcNgSharedRecipe(tc, libc, libcLibDir(variant)), libcKey: libc.sysroot, toolchain, dirs: this.o.dirs, logFile, ...(srcDir ? { srcDir } : {}) });
    return { libc, probes, shared };
  }

  /** Uploads the step's files, runs R repeats, removes the files. Any failure of the lab's own is an ERROR repeat. */
  private async run(b: StepBuild, variant: string, evidenceDir: string, attempt: string): Promise<{ outcomes: string[]; symptoms: string[]; errors: number }> {
    const outcomes: string[] = [];
    const symptoms: string[] = [];
    const plan: VariantPlan = {
      variant,
      role: 'unpatched',
      probeDir: staticProbeDir(variant),
      describe: `uClibc-ng ${b.libc.version} (${b.libc.commit.slice(0, 12)})`,
      shared: { probeDir: sharedProbeDir(variant), libDir: libcLibDir(variant), imagePrograms: false },
    };
    try {
      const { guest, fabric } = await this.boot();
      try {
        await this.upload(guest, b, variant, evidenceDir);
        for (let r = 1; r <= this.o.repeat; r++) {
          const res = await this.o.scenario.repeat({ guest, manifest: this.o.manifest, params: { ...this.o.scenario.defaults, ...this.o.params }, variants: [plan], evidenceDir: path.join(evidenceDir, attempt), repeat: r, fabric: fabric.report });
          const v = res.runs[0];
          outcomes.push(v?.outcome ?? 'ERROR');
          symptoms.push(v?.symptom ?? 'no result');
        }
      } finally {
        // The next step must find none of this one's files (a failed removal is a lab failure: that guest is not reused).
        const rm = guest.vm.running ? await guest.exec(['rm', '-rf', path.posix.dirname(libcLibDir(variant)), staticProbeDir(variant)]).catch(() => undefined) : undefined;
        if (rm?.exitCode !== 0) await this.session.retire("the step's files could not be removed");
      }
    } catch (err) {
      while (outcomes.length < this.o.repeat) {
        outcomes.push('ERROR');
        symptoms.push(`ERROR: ${describeError(err).split('\n')[0]}`);
      }
    }
    return { outcomes, symptoms, errors: outcomes.filter((o) => o === 'ERROR').length };
  }

  /** The libc's lib/ and both probe sets, in one upload. */
  private upload(guest: Guest, b: StepBuild, variant: string, evidenceDir: string): Promise<void> {
    return uploadTree(
      guest,
      [
        { from: path.join(b.libc.sysroot, 'lib'), to: libcLibDir(variant) },
        { from: b.probes.dir, to: staticProbeDir(variant) },
        { from: b.shared.dir, to: sharedProbeDir(variant) },
      ],
      evidenceDir,
      variant,
    );
  }

  async stop(): Promise<void> {
    await this.session.stop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
