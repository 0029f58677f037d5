/** `report history`: the kept runs read (each one untrusted), analysed, and written as history.json and history.html. */
import path from 'node:path';
import { LabError } from '../util/errors.ts';
import { exists, writeFileAtomic } from '../util/fs.ts';
import { loadMatrixResult } from '../model/matrix-result.ts';
import type { HistoryResult, UnreadableRun } from '../model/history-result.ts';
import { historyHtml } from '../report/history-html.ts';
import { analyseHistory, type KeptRun } from './history-analysis.ts';
import { listRuns, runIsLive } from './history.ts';

/** The run directories under `root`, oldest first: each matrix.json through the validated reader; one that fails is named with why. */
export async function readKeptRuns(root: string): Promise<{ runs: KeptRun[]; unreadable: UnreadableRun[] }> {
  const runs: KeptRun[] = [];
  const unreadable: UnreadableRun[] = [];
  for (const name of await listRuns(root)) {
    const file = path.join(root, name, 'matrix.json');
    if (!(await exists(file))) {
      const live = await runIsLive(path.join(root, name));
      unreadable.push({ name, file, reason: live ? 'still running: no matrix.json yet' : 'no matrix.json: the run did not finish' });
      continue;
    }
    try {
      runs.push({ name, file, result: await loadMatrixResult(file) });
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
      // The reader names the file first; the page names it beside the reason already.
      unreadable.push({ name, file, reason: err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message });
    }
  }
  return { runs, unreadable };
}

export interface HistoryOutput {
  history: HistoryResult;
  json: string;
  html: string;
}

/** Reads the runs under `runsDir` and writes history.json and history.html into `outDir`, each atomically. */
export async function writeHistory(runsDir: string, outDir: string): Promise<HistoryOutput> {
  const { runs, unreadable } = await readKeptRuns(runsDir);
  const history = analyseHistory(runsDir, runs, unreadable);
  const json = path.join(outDir, 'history.json');
  const html = path.join(outDir, 'history.html');
  await writeFileAtomic(json, `${JSON.stringify(history, null, 2)}\n`);
  await writeFileAtomic(html, historyHtml(history, { htmlDir: outDir }));
  return { history, json, html };
}
