import fs from 'node:fs/promises';
import path from 'node:path';
import { buildBundle } from '../../bundle/bundle.ts';
import type { BisectCommit, BisectResult, BisectStep } from '../../model/bisect-result.ts';
import type { Target } from '../../model/target.ts';
import { writeBisectHtml } from '../../report/bisect-html.ts';
import type { Scenario, ScenarioParams } from '../../scenarios/types.ts';
import { commitInfo, commitPatch, diffStat, firstParentChain, isAncestor, mergeBase, parentsOf, releaseTags } from '../../sources/git-repo.ts';
import type { SourceOptions } from '../../sources/resolve.ts';
import { describeError, LabError, UsageError } from '../../util/errors.ts';
import type { LabDirs } from '../../util/paths.ts';
import { validatePatch } from '../validate-patch.ts';
import { classify, confidence, type Observation } from './search.ts';
import { BisectGuest, type StepRecord } from './step.ts';
import { walkHistory, type History } from './walk.ts';

/** The ends as the user gave them: by age (--old/--new) or by behaviour (--good: no symptom, --bad: the symptom). */
export type Ends = { givenAs: 'old/new'; old: string; new: string } | { givenAs: 'good/bad'; good: string; bad: string };

export interface BisectOptions {
  scenario: Scenario;
  target: Target;
  repo: string;
  /** Full commit hashes. */
  ends: Ends;
  repeat: number;
  releases: boolean;
  validate: boolean;
  params: ScenarioParams;
  dirs: LabDirs;
  sources: SourceOptions;
  outDir: string;
  progress: (line: string) => void;
}

/** What bisect can walk: a libc scenario on a built-in uClibc target (checked before any repository or build). */
export function checkBisectable(scenario: Scenario, target: Target): void {
  if (!scenario.usesLibc) throw new UsageError(`bisect walks libc revisions; scenario ${scenario.name} compares reader algorithms, not libcs`, { fix: 'bisect a libc scenario: getifaddrs or getifaddrs-mechanism' });
  if (target.libc.kind !== 'uclibc' || target.imported) throw new UsageError(`--target ${target.name}: bisect builds uClibc-ng for a built-in uClibc target (its libc is ${target.libc.kind}${target.imported ? ', imported' : ''})`, { fix: 'use e.g. --target mips-malta16k-3.10-uclibc' });
}

/** A git repository as the bisection walks it. */
export function gitHistory(repo: string): History {
  return {
    chain: (o, n) => firstParentChain(repo, o, n),
    parents: (c) => parentsOf(repo, c),
    mergeBase: (a, b) => mergeBase(repo, a, b),
    isAncestor: (a, b) => isAncestor(repo, a, b),
    async releasesBetween(old, newer) {
      const out: { tag: string; commit: string }[] = [];
      for (const t of await releaseTags(repo)) {
        if (t.commit === old || t.commit === newer) continue;
        // Only tags on the way from old to new, each an ancestor of the next: a list a bisection can walk.
        if (!(await isAncestor(repo, old, t.commit)) || !(await isAncestor(repo, t.commit, newer))) continue;
        if (out.length && !(await isAncestor(repo, out.at(-1)!.commit, t.commit))) continue;
        out.push(t);
      }
      return out;
    },
  };
}

async function describeCommit(repo: string, commit: string): Promise<BisectCommit> {
  const i = await commitInfo(repo, commit);
  return { commit: i.commit, short: i.short, title: i.title, author: i.author, date: i.date, ...(i.describe ? { describe: i.describe } : {}), ...(i.firstRelease ? { firstRelease: i.firstRelease } : {}) };
}

/** Old and new by ancestry, and (for --good/--bad) which state the old end must show. */
async function orderEnds(repo: string, ends: Ends): Promise<{ old: string; newer: string; expectOld?: 'symptom' | 'clean'; flagOf: (c: string) => string }> {
  const [a, b] = ends.givenAs === 'old/new' ? [ends.old, ends.new] : [ends.good, ends.bad];
  if (a === b) throw new UsageError(`both ends are the same commit (${a.slice(0, 12)})`, { fix: 'give two different revisions' });
  const names = ends.givenAs === 'old/new' ? ['--old', '--new'] : ['--good', '--bad'];
  let old: string;
  let newer: string;
  if (await isAncestor(repo, a, b)) [old, newer] = [a, b];
  else if (await isAncestor(repo, b, a)) [old, newer] = [b, a];
  else throw new UsageError(`${names[0]} ${a.slice(0, 12)} and ${names[1]} ${b.slice(0, 12)} are not one an ancestor of the other`, { fix: 'bisect between two revisions on one line of history (e.g. two release tags)' });
  if (ends.givenAs === 'old/new') {
    if (old !== a) throw new UsageError(`--old ${a.slice(0, 12)} is newer than --new ${b.slice(0, 12)}`, { fix: 'swap them (or give --good/--bad and let the lab order them)' });
    return { old, newer, flagOf: (c) => (c === old ? '--old' : '--new') };
  }
  // The good end shows no symptom: if it is the older one, this bisects a cause; else a fix.
  return { old, newer, expectOld: old === ends.good ? 'clean' : 'symptom', flagOf: (c) => (c === ends.good ? '--good' : '--bad') };
}

function rateText(o: Observation): string {
  if (!o.built) return 'did not build';
  const flaky = o.symptom > 0 && o.symptom < o.repeats ? ' (flaky)' : '';
  return `${o.symptom}/${o.repeats}${o.errors ? ` + ${o.errors} ERROR` : ''}${flaky}`;
}

type StepEntry = StepRecord & { n: number; phase: BisectStep['phase'] };
type Finish = Pick<BisectResult, 'outcome' | 'message'> & Partial<BisectResult>;

/** One bisection under way: its ends, the steps so far (by commit) and its guest. */
interface BisectRun {
  o: BisectOptions;
  old: string;
  newer: string;
  started: number;
  records: Map<string, StepEntry>;
  guest: BisectGuest;
}

/** The image a step needs (its baseline libc) and the kernel headers its uClibc was built on. */
async function bisectImage(o: BisectOptions): Promise<{ bundle: Awaited<ReturnType<typeof buildBundle>>; headers: NonNullable<Awaited<ReturnType<typeof buildBundle>>['kernelHeaders']> }> {
  o.progress(`${o.target.name}: building the image`);
  // The image and its baseline are what a step needs; a variant the target takes from uClibc-ng would come from another clone.
  const variants = o.target.libc.variants.filter((v) => !o.target.libc.uclibcNg?.[v]);
  const bundle = await buildBundle({ target: o.target, variants, extraPatches: [], dirs: o.dirs, sources: o.sources, logDir: path.join(o.outDir, 'image'), progress: (s) => o.progress(`build ${s}`) });
  // The uClibc-ng builds go on the headers the image's own uClibc was built on.
  const headers = bundle.kernelHeaders;
  if (!headers) throw new LabError(`${o.target.name}: its build gave no kernel headers (not a uClibc target?)`);
  return { bundle, headers };
}

/** The step log as the result records it, in step order. */
async function stepList(repo: string, records: Map<string, StepEntry>): Promise<BisectStep[]> {
  const steps: BisectStep[] = [];
  for (const rec of [...records.values()].sort((a, b) => a.n - b.n)) {
    const ob = rec.observation;
    steps.push({ n: rec.n, phase: rec.phase, commit: await describeCommit(repo, rec.commit), ...(rec.version ? { version: rec.version } : {}), ...(rec.droppedOptions?.length ? { droppedOptions: rec.droppedOptions } : {}), built: ob.built, builtNow: rec.builtNow, state: classify(ob), symptom: ob.symptom, repeats: ob.repeats, errors: ob.errors, rate: rateText(ob), detail: ob.detail, buildMs: rec.buildMs, runMs: rec.runMs, reboots: rec.reboots, ...(rec.retryReason ? { retryReason: rec.retryReason } : {}), evidenceDir: rec.evidenceDir, buildLog: rec.buildLog });
  }
  return steps;
}

/** bisect.json and bisect.html: the outcome with every step so far, whatever ended the bisection. */
async function writeResult(run: BisectRun, r: Finish): Promise<BisectResult> {
  const { o, records, old, newer } = run;
  const steps = await stepList(o.repo, records);
  const conf = confidence([...records.values()].map((x) => x.observation));
  const stateOf = (c: string) => (records.get(c) ? classify(records.get(c)!.observation) : undefined);
  const [oldState, newState] = [stateOf(old), stateOf(newer)];
  // A direction only when the ends differ and both were judged.
  const judged = (s: string | undefined) => s === 'symptom' || s === 'clean';
  const directed = judged(oldState) && judged(newState) && oldState !== newState;
  const result: BisectResult = {
    schema: 1,
    scenario: o.scenario.name,
    bug: o.scenario.bug,
    target: o.target.name,
    repo: o.repo,
    ...(directed ? { direction: oldState === 'symptom' ? ('fix' as const) : ('cause' as const) } : {}),
    old: await describeCommit(o.repo, old),
    new: await describeCommit(o.repo, newer),
    endsGivenAs: o.ends.givenAs,
    steps,
    phases: [],
    repeat: o.repeat,
    confidence: { rate: conf.rate, rateLow: conf.rateLow, confidence: conf.confidence, flaky: conf.flaky },
    builds: { now: steps.filter((s) => s.builtNow && s.built).length, fromStore: steps.filter((s) => !s.builtNow).length, failed: steps.filter((s) => !s.built).length },
    boots: run.guest.boots,
    startedAt: new Date(run.started).toISOString(),
    durationMs: 0,
    outDir: o.outDir,
    ...r,
  };
  result.durationMs = Date.now() - run.started;
  const json = path.join(o.outDir, 'bisect.json');
  await fs.writeFile(`${json}.tmp-${process.pid}`, `${JSON.stringify(result, null, 2)}\n`);
  await fs.rename(`${json}.tmp-${process.pid}`, json);
  await writeBisectHtml(path.join(o.outDir, 'bisect.html'), result);
  return result;
}

/** Both ends judged: why the bisection cannot go on (an end unbuilt or unjudged, both alike, --good/--bad swapped), or undefined. */
function endsProblem(run: BisectRun, obs: [Observation, Observation], expectOld: 'symptom' | 'clean' | undefined, flagOf: (c: string) => string): Finish | undefined {
  const [oldObs, newObs] = obs;
  const [os, ns] = [classify(oldObs), classify(newObs)];
  for (const [c, s, ob] of [[run.old, os, oldObs], [run.newer, ns, newObs]] as const) {
    if (s === 'skip' || s === 'error') return { outcome: 'ERROR', message: `${flagOf(c)} ${c.slice(0, 12)} ${s === 'skip' ? 'did not build' : 'could not be judged'}: ${ob.detail}` };
  }
  if (os === ns) return { outcome: 'ENDS_ALIKE', message: `both ends ${os === 'symptom' ? 'show the symptom' : 'are clean'} (${rateText(oldObs)} and ${rateText(newObs)}): nothing changed between them, nothing to bisect` };
  if (expectOld && os !== expectOld) {
    const good = expectOld === 'clean' ? run.old : run.newer;
    return { outcome: 'ENDS_UNEXPECTED', message: `--good ${good.slice(0, 12)} shows the symptom and --bad does not: the ends are the other way round (for a fix, --good is the newer revision)` };
  }
  return undefined;
}

/** The walk found the commit: its message, and (--validate) its diff tried on uClibc 0.9.33.2. */
async function foundResult(run: BisectRun, walk: Awaited<ReturnType<typeof walkHistory>>, oldState: string): Promise<Finish> {
  const { o, records } = run;
  const first = { ...(await describeCommit(o.repo, walk.first!)), diffStat: await diffStat(o.repo, walk.first!), ...(walk.mergeItself ? { mergeItself: true } : {}) };
  const verb = oldState === 'symptom' ? 'fixed' : 'introduced';
  // If the lab's own config differs across the boundary (an option one side does not have), say so: the change may be the config's.
  const dropped = (c: string) => (records.get(c)?.droppedOptions ?? []).join(' ');
  const configNote = dropped(walk.first!) !== dropped(walk.lastOld!) ? `; NOTE: the lab's config differs across it (left out before: ${dropped(walk.lastOld!) || 'nothing'}; after: ${dropped(walk.first!) || 'nothing'})` : '';
  const message = `${first.short} "${first.title}" (${first.author}, ${first.date.slice(0, 10)}) ${verb} it${first.firstRelease ? `; first release with it: ${first.firstRelease}` : ''}${configNote}`;
  let validation: BisectResult['validation'];
  if (o.validate && walk.mergeItself) {
    validation = { patch: '', finding: 'NOT_OFFERED', appliesAsIs: false, detail: `${first.short} is a merge whose change comes from combining both sides: it has no diff of its own to offer as a patch`, outDir: '' };
  } else if (o.validate) {
    // validate-patch boots its own guests: this one is done.
    await run.guest.stop();
    validation = await validateBackport(o, first.commit).catch((err: unknown) => ({ patch: '', finding: 'ERROR', appliesAsIs: false, detail: `validate-patch failed: ${describeError(err)}`, outDir: path.join(o.outDir, 'validate') }));
  }
  return { outcome: 'FOUND', message, first, lastOld: await describeCommit(o.repo, walk.lastOld!), phases: walk.phases, ...(validation ? { validation } : {}) };
}

/**
 * `reprolab bisect`: one guest for the whole bisection, each step's uClibc-ng
 * built (cached) and uploaded into it; both ends first; the first revision
 * whose behaviour differs from the old end's, with its commit, its release,
 * the log of every step, and (--validate) its diff tried on uClibc 0.9.33.2.
 */
export async function runBisect(o: BisectOptions): Promise<BisectResult> {
  const started = Date.now();
  const { repo } = o;
  checkBisectable(o.scenario, o.target);
  const { old, newer, expectOld, flagOf } = await orderEnds(repo, o.ends);
  await fs.mkdir(o.outDir, { recursive: true });
  const { bundle, headers } = await bisectImage(o);
  let phase: BisectStep['phase'] = 'ends';
  await using guest = new BisectGuest({ target: o.target, bundleDir: bundle.dir, manifest: bundle.manifest, scenario: o.scenario, params: o.params, repo, headers, dirs: o.dirs, outDir: o.outDir, repeat: o.repeat, progress: o.progress });
  const run: BisectRun = { o, old, newer, started, records: new Map(), guest };
  const observe = async (commit: string): Promise<Observation> => {
    const seen = run.records.get(commit);
    if (seen) return seen.observation;
    const n = run.records.size + 1;
    const info = await commitInfo(repo, commit);
    o.progress(`step ${n} (${phase}): ${info.short} ${info.describe ?? ''} ${info.title}`);
    const rec = await guest.step(commit, n);
    run.records.set(commit, { ...rec, n, phase });
    o.progress(`step ${n}: ${info.short} ${classify(rec.observation)} ${rateText(rec.observation)} — ${rec.observation.detail}`);
    return rec.observation;
  };
  // Both ends first: a wrong premise is said at once, before any step between them.
  const ends: [Observation, Observation] = [await observe(old), await observe(newer)];
  const problem = endsProblem(run, ends, expectOld, flagOf);
  if (problem) return writeResult(run, problem);
  let walk: Awaited<ReturnType<typeof walkHistory>>;
  try {
    walk = await walkHistory(gitHistory(repo), old, newer, observe, { releases: o.releases, onPhase: (k) => (phase = k) });
  } catch (err) {
    // The steps so far are evidence too: written, with what stopped the walk.
    return writeResult(run, { outcome: 'ERROR', message: `the bisection stopped after ${run.records.size} steps: ${describeError(err)}` });
  }
  const { phases } = walk;
  if (walk.outcome === 'ambiguous') {
    const candidates = await Promise.all(walk.candidates!.map((c) => describeCommit(repo, c)));
    return writeResult(run, { outcome: 'AMBIGUOUS', message: `the change is one of ${candidates.length} revision(s) (${candidates.map((c) => c.short).join(', ')}): ${walk.reason ?? 'the revisions between them did not build or could not be judged'}`, candidates, lastOld: await describeCommit(repo, walk.lastOld!), phases });
  }
  if (walk.outcome !== 'found') return writeResult(run, { outcome: 'ERROR', message: `the walk ended with ${walk.outcome}`, phases });
  return writeResult(run, await foundResult(run, walk, classify(ends[0])));
}

/** The found commit's diff as a patch for the lab's uClibc 0.9.33.2, through validate-patch on the same target. */
async function validateBackport(o: BisectOptions, commit: string): Promise<NonNullable<BisectResult['validation']>> {
  const patch = path.join(o.outDir, `backport-${commit.slice(0, 12)}.patch`);
  await fs.writeFile(patch, await commitPatch(o.repo, commit));
  const outDir = path.join(o.outDir, 'validate');
  o.progress(`validate-patch: ${path.basename(patch)} on uClibc 0.9.33.2 (${o.target.name})`);
  const [v] = await validatePatch({ patches: [patch], targets: [o.target], dirs: o.dirs, sources: o.sources, params: o.params, outDir, progress: o.progress });
  // Whether it applied is known only when the patch step ran and got past applying (a finding other than these two).
  return { patch, finding: v!.finding, appliesAsIs: !['DOES_NOT_APPLY', 'ERROR'].includes(v!.finding), detail: v!.detail, outDir };
}
