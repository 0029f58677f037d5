import path from 'node:path';
import type { Command } from 'commander';
import { buildBundle } from '../build/bundle.ts';
import { loadExpectations } from '../catalog/expectations.ts';
import type { Target } from '../catalog/target.ts';
import { loadTargets, selectTargets } from '../catalog/targets.ts';
import { scenarioByName } from '../scenarios/registry.ts';
import { runScenario } from '../scenarios/runner.ts';
import type { ScenarioResult } from '../scenarios/types.ts';
import type { Dirs } from './guest-commands.ts';
import { PARAM_FLAGS, scenarioParams, type ParamOptions } from './scenario-params.ts';

export function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Human-readable result: the verdict first, then each variant with its symptom and evidence. */
export function printResult(r: ScenarioResult, write: (line: string) => void): void {
  write(`${r.scenario} (${r.bug}) on ${r.target}: ${r.verdict}  (unpatched showed the symptom in ${r.rate.reproduced}/${r.rate.repeats} repeats${r.rate.errors ? `, ${r.rate.errors} errors` : ''})`);
  if (r.error) write(`  error: ${r.error}`);
  for (const v of r.variants) write(`  ${v.role.padEnd(9)} ${v.variant.padEnd(10)} ${v.outcome.padEnd(5)} ${v.symptom}`);
  const key = Object.entries(r.key).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  if (key) write(`  measured: ${key}`);
  write(`  evidence: ${r.evidenceDir}`);
}

export function registerScenarioCommands(program: Command, getDirs: Dirs): void {
  const run = program
    .command('run')
    .description('run one scenario on one target: unpatched and patched variants, judged against the guest ground truth')
    .argument('<scenario>', 'getifaddrs | getifaddrs-mechanism | uevent | dump-read | dump-buffer | dump-hang')
    .requiredOption('--target <name>', 'target to build, boot and judge')
    .option('--repeat <n>', 'repetitions in one boot; the result gives a reproduction rate k/n', '1')
    .option('--json', 'print the result as one JSON object')
    .option('--out <dir>', 'evidence directory (default <cache>/runs/<time>-<scenario>-<target>)');
  for (const [flag, help] of PARAM_FLAGS) run.option(flag, help);
  run.action(async (name: string, opts: ParamOptions & { target: string; repeat: string; json?: boolean; out?: string }) => {
    const scenario = scenarioByName(name);
    const params = scenarioParams(opts);
    const repeat = Number(opts.repeat);
    if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat ${opts.repeat}: expected a whole number >= 1`);
    const { dirs, overrides } = getDirs();
    const [target] = selectTargets(await loadTargets(), [opts.target]) as [Target];
    const expectations = await loadExpectations(scenario.name);
    const when = stamp();
    const log = (l: string) => console.error(l);
    const bundle = await buildBundle({ target, extraPatches: [], dirs, sources: { dirs, overrides }, logDir: path.join(dirs.logs, `${target.name}-${when}`), progress: (s) => log(`build: ${s}`) });
    const outDir = path.resolve(opts.out ?? path.join(dirs.cache, 'runs', `${when}-${scenario.name}-${target.name}`));
    const result = await runScenario({ scenario, bundleDir: bundle.dir, repeat, params, dirs, outDir, progress: (l) => log(`${scenario.name}: ${l}`) });
    const expected = expectations.targets.get(target.name);
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
