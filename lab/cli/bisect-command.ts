import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import type { BisectResult } from '../model/bisect-result.ts';
import type { Target } from '../model/target.ts';
import { scenarioByName } from '../scenarios/registry.ts';
import { openRepo, resolveRev } from '../sources/git-repo.ts';
import { UsageError } from '../util/errors.ts';
import { timeStamp } from '../util/paths.ts';
import { checkBisectable, runBisect, type Ends } from '../workflows/bisect/bisect.ts';
import type { Dirs } from './guest-commands.ts';
import { whole } from './input.ts';
import { PARAM_FLAGS, scenarioParams, type ParamOptions } from './scenario-params.ts';

interface BisectFlags extends ParamOptions {
  target: string;
  libcRepo?: string;
  old?: string;
  new?: string;
  good?: string;
  bad?: string;
  repeat: string;
  releases?: boolean;
  validate?: boolean;
  json?: boolean;
  out?: string;
}

/** The step log and the answer, as a person reads them in a terminal. */
export function printBisect(r: BisectResult, write: (line: string) => void): void {
  write(`bisect ${r.scenario} (${r.bug}) on ${r.target}: ${r.outcome}${r.direction ? ` (${r.direction} bisection)` : ''}`);
  write(`  ${r.message}`);
  write(`  ${'#'.padStart(3)}  ${'phase'.padEnd(8)} ${'commit'.padEnd(12)} ${'describe'.padEnd(22)} built  ${'state'.padEnd(7)} ${'k/R'.padEnd(12)} time`);
  for (const s of r.steps) {
    write(`  ${String(s.n).padStart(3)}  ${s.phase.padEnd(8)} ${s.commit.short.padEnd(12)} ${(s.commit.describe ?? '').padEnd(22)} ${(s.built ? (s.builtNow ? 'yes' : 'store') : 'NO').padEnd(6)} ${s.state.padEnd(7)} ${s.rate.padEnd(12)} ${((s.buildMs + s.runMs) / 1000).toFixed(0)} s  ${s.commit.title.slice(0, 60)}`);
  }
  if (r.first) {
    write(`  first ${r.direction === 'cause' ? 'bad' : 'fixed'} revision: ${r.first.commit}`);
    write(`    ${r.first.title}`);
    write(`    author ${r.first.author}, ${r.first.date}; first release with it: ${r.first.firstRelease ?? '(none yet)'}`);
    for (const l of r.first.diffStat.split('\n')) write(`    ${l}`);
  }
  write(`  confidence: symptom rate ${(r.confidence.rate * 100).toFixed(0)}% over the steps that showed it (95% lower bound ${(r.confidence.rateLow * 100).toFixed(0)}%); no clean step missed it with ${(r.confidence.confidence * 100).toFixed(1)}%${r.confidence.flaky ? ` (${r.confidence.flaky} flaky steps)` : ''}; more --repeat raises it`);
  write(`  ${r.steps.length} steps: ${r.builds.now} built, ${r.builds.fromStore} from the store, ${r.builds.failed} did not build; ${r.boots} boot(s); ${(r.durationMs / 1000).toFixed(0)} s`);
  if (r.validation) write(`  validate-patch on uClibc 0.9.33.2: ${r.validation.finding}; ${r.validation.appliesAsIs ? 'applies as is' : 'does NOT apply as is'} (${r.validation.patch})`);
  write(`  report: ${path.join(r.outDir, 'bisect.html')}`);
}

export function registerBisectCommand(program: Command, getDirs: Dirs): void {
  const cmd = program
    .command('bisect')
    .description('find the libc commit that fixed (or introduced) a field bug: builds uClibc-ng revisions of a git repository, runs the scenario on each in one booted guest, both ends first')
    .argument('<scenario>', 'a scenario whose variants are libc builds, e.g. getifaddrs (reprolab scenarios lists them)')
    .requiredOption('--target <name>', 'a built-in uClibc target, e.g. mips-malta16k-3.10-uclibc')
    .addOption(new Option('--libc-repo <dir>', 'a git clone of uClibc-ng (default: <overrides>/uclibc-ng)').env('REPROLAB_UCLIBC_NG_REPO'))
    .option('--old <rev>', 'the older end (tag, branch or commit)')
    .option('--new <rev>', 'the newer end')
    .option('--good <rev>', 'an end without the symptom (instead of --old/--new)')
    .option('--bad <rev>', 'an end with the symptom')
    .option('--repeat <n>', 'repeats of the scenario per step, on one boot (a flaky symptom needs several)', '3')
    .option('--releases', 'bisect the release tags first, then the commits between the two that bracket the change')
    .option('--validate', "offer the found commit's diff to validate-patch against the lab's uClibc 0.9.33.2")
    .option('--json', 'print the result as JSON')
    .option('--out <dir>', 'output directory (default <cache>/bisect/<time>-<scenario>-<target>)');
  // The libc scenarios' one knob.
  for (const [flag, help] of PARAM_FLAGS.filter(([f]) => f.startsWith('--interfaces'))) cmd.option(flag, help);
  cmd.action(async (name: string, opts: BisectFlags) => {
    const scenario = scenarioByName(name);
    const params = scenarioParams(opts);
    const repeat = whole('--repeat', opts.repeat, 1, 100);
    const byAge = opts.old !== undefined || opts.new !== undefined;
    const byState = opts.good !== undefined || opts.bad !== undefined;
    if (byAge === byState) throw new UsageError('give the ends either as --old REV --new REV or as --good REV --bad REV', { fix: 'e.g. --old v1.0.0 --new v1.0.57' });
    if (byAge && (!opts.old || !opts.new)) throw new UsageError(`${opts.old ? '--new' : '--old'} is missing`, { fix: 'give both --old and --new' });
    if (byState && (!opts.good || !opts.bad)) throw new UsageError(`${opts.good ? '--bad' : '--good'} is missing`, { fix: 'give both --good and --bad' });
    const { dirs, sources } = getDirs();
    const [target] = selectTargets(await loadAllTargets(dirs.imported), [opts.target]) as [Target];
    checkBisectable(scenario, target);
    const fromEnv = opts.libcRepo !== undefined && opts.libcRepo === process.env.REPROLAB_UCLIBC_NG_REPO;
    const repoOption = opts.libcRepo ? (fromEnv ? 'REPROLAB_UCLIBC_NG_REPO' : '--libc-repo') : `--libc-repo (default ${path.join(dirs.overrides, 'uclibc-ng')})`;
    const repo = await openRepo(opts.libcRepo ?? path.join(dirs.overrides, 'uclibc-ng'), repoOption);
    const ends: Ends = byAge
      ? { givenAs: 'old/new', old: await resolveRev(repo, opts.old!, '--old'), new: await resolveRev(repo, opts.new!, '--new') }
      : { givenAs: 'good/bad', good: await resolveRev(repo, opts.good!, '--good'), bad: await resolveRev(repo, opts.bad!, '--bad') };
    const outDir = path.resolve(opts.out ?? path.join(dirs.cache, 'bisect', `${timeStamp()}-${scenario.name}-${target.name}`));
    const r = await runBisect({ scenario, target, repo, ends, repeat, releases: !!opts.releases, validate: !!opts.validate, params, dirs, sources, outDir, progress: (l) => console.error(`bisect: ${l}`) });
    if (opts.json) console.log(JSON.stringify(r, null, 2));
    else printBisect(r, (l) => console.log(l));
    if (r.outcome !== 'FOUND') process.exitCode = 1;
  });
}
