import path from 'node:path';
import type { Command } from 'commander';
import { Listr } from 'listr2';
import { buildBundle, planBundle, type BuildRequest, type Bundle } from '../bundle/bundle.ts';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import type { Target } from '../model/target.ts';
import { describeProgress } from '../sources/download.ts';
import type { PlannedStep } from '../store/plan.ts';
import { describeError, UsageError } from '../util/errors.ts';
import { timeStamp } from '../util/paths.ts';
import type { Dirs } from './guest-commands.ts';
import { collect } from './input.ts';

/** `reprolab build [targets…]` and its `--dry-run` plan. */
export function registerBuildCommand(program: Command, globalDirs: Dirs): void {
  program
    .command('build')
    .description('build image bundles (kernel, rootfs, libc sysroots, probes) for targets (default: all default targets)')
    .argument('[targets...]', 'target names (reprolab targets)')
    .option('--variant <name>', 'libc variant to build (repeatable; default: all of the target)', collect, [] as string[])
    .option('--patch <file>', 'extra libc patch applied after the variant series (repeatable)', collect, [] as string[])
    .option('--json', 'print a JSON summary instead of text')
    .option('--dry-run', 'build nothing: print every step, its store key, and whether and why it must run (which input changed)')
    .action(async (names: string[], opts: { variant: string[]; patch: string[]; json?: boolean; dryRun?: boolean }) => {
      const { dirs, sources } = globalDirs();
      const targets = selectTargets(await loadAllTargets(dirs.imported), names);
      for (const target of targets) {
        for (const v of opts.variant) {
          if (!target.libc.variants.includes(v)) throw new UsageError(`--variant ${v}: ${target.name} has no libc variant "${v}"`, { fix: `use one of: ${target.libc.variants.join(', ')}` });
        }
      }
      if (opts.dryRun) return printPlans(targets, { dirs, sources, extraPatches: opts.patch, ...(opts.variant.length ? { variants: opts.variant } : {}) }, !!opts.json);
      const stamp = timeStamp();
      const results: { target: string; ok: boolean; bundle?: Bundle; error?: string; seconds: number }[] = [];
      const tasks = new Listr(
        targets.map((target) => ({
          title: `build ${target.name}`,
          task: async (_ctx: unknown, task: { output: string; title: string }) => {
            const started = Date.now();
            try {
              const bundle = await buildBundle({
                target,
                ...(opts.variant.length ? { variants: opts.variant } : {}),
                extraPatches: opts.patch,
                dirs,
                // Download progress on this target's line of the task tree, not over it.
                sources: { ...sources, progress: (p) => (task.output = `download ${describeProgress(p)}`) },
                logDir: path.join(dirs.logs, `${target.name}-${stamp}`),
                progress: (step) => {
                  task.output = step;
                },
              });
              const seconds = (Date.now() - started) / 1000;
              results.push({ target: target.name, ok: true, bundle, seconds });
              task.title = `${target.name}: ${bundle.rebuilt.length ? `rebuilt ${bundle.rebuilt.join(', ')}` : 'up to date'} (${seconds.toFixed(1)} s) → ${bundle.dir}`;
            } catch (err) {
              results.push({ target: target.name, ok: false, error: describeError(err), seconds: (Date.now() - started) / 1000 });
              throw new Error(`${target.name}: ${describeError(err)}`);
            }
          },
        })),
        { concurrent: false, exitOnError: false, rendererOptions: { collapseErrors: false }, fallbackRendererCondition: !!opts.json || !process.stdout.isTTY },
      );
      await tasks.run().catch(() => undefined);
      if (opts.json) {
        console.log(JSON.stringify(results.map((r) => ({ target: r.target, ok: r.ok, seconds: r.seconds, bundle: r.bundle?.dir, rebuilt: r.bundle?.rebuilt, error: r.error })), null, 2));
      } else {
        console.log('');
        for (const r of results) console.log(r.ok ? `ok      ${r.target}  ${r.bundle!.dir}` : `FAILED  ${r.target}\n${r.error!.replace(/^/gm, '        ')}`);
      }
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}

/** The plan of each target's build, as text (one line per step) or JSON; nothing is built or downloaded. */
async function printPlans(targets: Target[], req: Omit<BuildRequest, 'target' | 'logDir' | 'progress'>, json: boolean): Promise<void> {
  const plans: { target: string; steps?: PlannedStep[]; error?: string }[] = [];
  for (const target of targets) {
    try {
      plans.push({ target: target.name, steps: await planBundle({ ...req, target }) });
    } catch (err) {
      plans.push({ target: target.name, error: describeError(err) });
      process.exitCode = 1;
    }
  }
  if (json) {
    console.log(JSON.stringify(plans, null, 2));
    return;
  }
  for (const p of plans) {
    if (!p.steps) {
      console.log(`${p.target}: cannot plan: ${p.error}\n`);
      continue;
    }
    const runs = p.steps.filter((s) => s.run).length;
    console.log(`${p.target}: ${runs ? `${runs} of ${p.steps.length} steps must run` : `up to date (${p.steps.length} steps cached)`}`);
    const name = (s: PlannedStep) => (s.phase ? `${s.phase} (${s.step})` : s.step);
    const width = Math.max(...p.steps.map((s) => name(s).length));
    for (const s of p.steps) console.log(`  ${s.run ? 'RUN ' : 'hit '} ${name(s).padEnd(width)}  ${(s.key.startsWith('(') ? '-' : s.key.slice(0, 12)).padEnd(12)}  ${s.why}`);
    console.log('');
  }
}
