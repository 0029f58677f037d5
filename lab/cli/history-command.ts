import path from 'node:path';
import type { Command } from 'commander';
import { listRuns } from '../matrix/history.ts';
import { writeHistory } from '../matrix/history-report.ts';
import type { HistoryResult } from '../model/history-result.ts';
import { UsageError } from '../util/errors.ts';
import { terminalText } from '../util/safe-text.ts';
import type { Dirs } from './guest-commands.ts';
import { inputDirOption, outDirOption } from './input.ts';

/** The lines a terminal or a CI log gets: active regressions, flaky cells and unreadable runs by name (matrix.json text shown escaped). */
function summaryLines(h: HistoryResult): string[] {
  const active = h.regressions.filter((r) => r.active);
  const recovered = h.errors.filter((e) => e.recoveredRun !== undefined).length;
  const flaky = h.cells.filter((c) => c.flaky);
  const run = (i: number | undefined) => (i ? `#${i} (${h.runs[i - 1]!.name})` : '');
  return [
    `history: ${h.runs.length} run(s) read${h.unreadable.length ? `, ${h.unreadable.length} unreadable` : ''}; ${h.cells.length} cell(s): ${flaky.length} flaky, ${active.length} regression(s) still active, ${h.regressions.length - active.length} ended, ${recovered} ERROR stretch(es) recovered`,
    ...active.map((r) => `  ACTIVE REGRESSION ${r.target} ${r.scenario}: ${r.from} → ${r.latest} since run ${run(r.startedRun)}${r.sinceOldest ? ' or earlier' : ''}`),
    ...flaky.map((c) => `  flaky ${c.target} ${c.scenario}: ${Math.round(100 * c.flakyRate)}% (${c.flips} change(s) over ${c.judged} judged run(s))`),
    ...h.unreadable.map((u) => `  unreadable ${u.name}: ${u.reason}`),
  ];
}

/** `reprolab report history`: one page (and its JSON) over the kept matrix runs. */
export function registerHistoryCommand(report: Command, getDirs: Dirs): void {
  report
    .command('history')
    .description('one page over the kept matrix runs: verdicts of every cell × run, flaky cells, regressions (the run where each started, still active or not), ERRORs, retries, USB stalls and durations per target; writes history.html and history.json')
    .option('--runs <dir>', 'the runs directory: <stamp>/matrix.json in it (default <cache>/matrix, where reprolab matrix keeps its runs)')
    .option('--out <dir>', 'where history.html and history.json go (default: the runs directory)')
    .action(async (opts: { runs?: string; out?: string }) => {
      // The matrix's runs directory (runsRoot in matrix-command.ts, which registers this command).
      const runsDir = opts.runs !== undefined ? inputDirOption('--runs', opts.runs) : path.join(getDirs().dirs.cache, 'matrix');
      const outDir = opts.out !== undefined ? outDirOption('--out', opts.out) : runsDir;
      if (!(await listRuns(runsDir)).length) {
        throw new UsageError(`--runs ${opts.runs ?? runsDir}: no matrix run directories (<time>/matrix.json) in it`, { fix: 'reprolab matrix keeps its runs in <cache>/matrix; give --runs the directory that holds them' });
      }
      const out = await writeHistory(runsDir, outDir);
      for (const l of [...summaryLines(out.history), `json: ${out.json}`, `history: ${out.html}`]) console.log(terminalText(l));
    });
}
