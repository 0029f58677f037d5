import type { ListrTask } from 'listr2';
import type { MatrixCellResult, MatrixSweepResult } from '../model/matrix-result.ts';
import type { Target } from '../model/target.ts';
import { scenarioByName } from '../scenarios/registry.ts';
import { cellId, type SweepRequest } from './plan.ts';
import type { Scenario } from '../scenarios/types.ts';
import type { TargetCells } from './target-cells.ts';
import { terminalText } from '../util/safe-text.ts';

type Hooks = { output: string; title: string; skip: (message: string) => void };

/** What the target tasks of one matrix run share: the request, this shard's cells and sweeps, and where results go. */
export interface TaskShared {
  /** 'default' is the live tree; otherwise one line per step. */
  renderer: 'default' | 'simple' | 'silent';
  scenarios: Scenario[];
  mine: Set<string>;
  mySweeps: { target: string; sweep: SweepRequest }[];
  cells: Map<string, MatrixCellResult>;
  sweeps: MatrixSweepResult[];
}

/**
 * One target's listr task: build, each cell, each sweep, stop. The live tree
 * shows each step under its target; line-per-step logs (CI) interleave
 * targets, so there each line names its own.
 */
  // The live tree shows each step under its target; line-per-step logs (CI) interleave targets, so each line names its own.
export function targetTask(target: Target, run: TargetCells, shared: TaskShared): ListrTask {
  const { renderer, scenarios: allScenarios, mine, mySweeps, cells, sweeps } = shared;
  // Titles carry build and guest errors: shown escaped, never interpreted by the terminal.
  const label = (text: string) => terminalText(renderer === 'default' ? text : `${target.name} ${text}`);
  return {
    title: target.name,
    task: (_ctx, task) => {
      const say = (t: Hooks) => (line: string) => (t.output = label(line));
      const scenarios = allScenarios.filter((s) => mine.has(`${target.name}/${s.name}`));
      const targetSweeps = mySweeps.filter((x) => x.target === target.name).map((x) => x.sweep);
      const steps: ListrTask[] = [
        {
          title: 'build',
          task: async (_c, t: Hooks) => {
            const problem = await run.prepare(say(t));
            if (run.info.status === 'skipped') t.skip(label(problem!));
            else t.title = label(problem ? `build FAILED: ${problem.split('\n')[0]}` : `build: ${run.info.buildSeconds!.toFixed(1)} s`);
          },
        },
        ...scenarios.map(
          (scenario): ListrTask => ({
            title: scenario.name,
            task: async (_c, t: Hooks) => {
              const c = await run.cell(scenario, say(t));
              cells.set(cellId(c), c);
              if (c.status === 'skipped') return t.skip(label(`${scenario.name}: ${c.summary}`));
              t.title = label(`${scenario.name}: ${c.verdict}${c.asExpected ? '' : c.expected ? ` — NOT AS EXPECTED (${c.expected})` : ' — no expectation recorded'}${c.retried ? ' (retried after an infrastructure error)' : ''}`);
            },
          }),
        ),
        ...targetSweeps.map(
          (sweep): ListrTask => ({
            title: `sweep ${sweep.text}`,
            task: async (_c, t: Hooks) => {
              const s = await run.sweep(sweep, scenarioByName(sweep.scenario), say(t));
              sweeps.push(s);
              if (s.status === 'skipped') return t.skip(label(`sweep ${sweep.text}: ${s.error}`));
              t.title = label(s.status === 'error' ? `sweep ${sweep.text}: ERROR ${s.error?.split('\n')[0]}` : `sweep ${sweep.text}: ${s.threshold === undefined ? 'no threshold' : `threshold ${s.axis}=${s.threshold}`}`);
            },
          }),
        ),
        {
          title: 'stop',
          task: async (_c, t: Hooks) => {
            await run.stop();
            const mineHere = [...cells.values()].filter((c) => c.target === target.name && c.status === 'ran');
            task.title = terminalText(run.info.status === 'ran' ? `${target.name}: ${mineHere.filter((c) => c.asExpected).length}/${mineHere.length} as expected, ${run.info.boots} boot(s)` : `${target.name}: ${run.info.status} — ${(run.info.reason ?? '').split('\n')[0]}`);
            t.title = label('stopped');
          },
        },
      ];
      return task.newListr(steps, { concurrent: false, exitOnError: false });
    },
  };
}
