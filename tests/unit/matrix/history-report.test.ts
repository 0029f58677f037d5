import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readKeptRuns, writeHistory } from '../../../lab/matrix/history-report.ts';
import { writeReports } from '../../../lab/matrix/matrix.ts';
import { writeOwner } from '../../../lab/util/owner.ts';
import { tempDirs } from '../../helpers.ts';
import { nights } from './history-fixture.ts';

/** A runs directory as the matrix keeps it: one <time>/matrix.json per night, and a file that is not a run. */
async function runsDir(count: number): Promise<string> {
  const { root } = await tempDirs();
  for (const r of nights(Array.from({ length: count }, () => ({})), root)) {
    await fs.mkdir(path.dirname(r.file), { recursive: true });
    await fs.writeFile(r.file, JSON.stringify(r.result));
  }
  await fs.writeFile(path.join(root, 'notes.txt'), 'not a run');
  return root;
}

describe('report history: reading the kept runs', () => {
  it('each matrix.json through the validated reader: a broken, foreign or unfinished run is named with why, never fatal', async () => {
    const root = await runsDir(3);
    const corrupt = path.join(root, '2026-12-01T01-00-00-000Z');
    await fs.mkdir(corrupt);
    await fs.writeFile(path.join(corrupt, 'matrix.json'), '{"kind":"reprolab-matrix",');
    const noVerdict = path.join(root, '2026-12-02T01-00-00-000Z');
    const doc = JSON.parse(await fs.readFile((await readKeptRuns(root)).runs[0]!.file, 'utf8')) as { cells: { verdict?: string }[] };
    doc.cells[0]!.verdict = 'MAYBE';
    await fs.mkdir(noVerdict);
    await fs.writeFile(path.join(noVerdict, 'matrix.json'), JSON.stringify(doc));
    // A matrix still running in this process, and one whose lab died: no matrix.json.
    const running = path.join(root, '2026-12-03T01-00-00-000Z');
    await fs.mkdir(path.join(running, '.running'), { recursive: true });
    await writeOwner(path.join(running, '.running'));
    const died = path.join(root, '2026-12-04T01-00-00-000Z');
    await fs.mkdir(died);

    const { runs, unreadable } = await readKeptRuns(root);
    expect(runs.map((r) => r.name)).toEqual(['2026-11-01T01-00-00-000Z', '2026-11-02T01-00-00-000Z', '2026-11-03T01-00-00-000Z']);
    expect(unreadable).toEqual([
      { name: '2026-12-01T01-00-00-000Z', file: path.join(corrupt, 'matrix.json'), reason: expect.stringMatching(/^not JSON/) },
      { name: '2026-12-02T01-00-00-000Z', file: path.join(noVerdict, 'matrix.json'), reason: expect.stringMatching(/cells\[0\]\.verdict must be one of/) },
      { name: '2026-12-03T01-00-00-000Z', file: path.join(running, 'matrix.json'), reason: 'still running: no matrix.json yet' },
      { name: '2026-12-04T01-00-00-000Z', file: path.join(died, 'matrix.json'), reason: 'no matrix.json: the run did not finish' },
    ]);
  });

  it('writes history.json (the same object) and history.html, and nothing else', async () => {
    const root = await runsDir(2);
    const out = path.join(root, 'pages');
    const written = await writeHistory(root, out);
    expect(JSON.parse(await fs.readFile(written.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(written.history)));
    expect(written.history).toMatchObject({ schema: 1, kind: 'reprolab-history', runsDir: root, unreadable: [] });
    expect(written.history.runs).toHaveLength(2);
    expect(await fs.readFile(written.html, 'utf8')).toContain('<h1>reprolab history</h1>');
    expect((await fs.readdir(out)).sort()).toEqual(['history.html', 'history.json']);
  });
});

describe("the matrix's own report", () => {
  it('links to the history page of its runs directory, and only when it is kept in one', async () => {
    const root = await runsDir(1);
    const [run] = nights([{}], root);
    const kept = await writeReports(run!.result, path.dirname(run!.file));
    expect(await fs.readFile(kept.html, 'utf8')).toContain('<a href="../history.html">History of the kept runs</a>');
    const elsewhere = await writeReports(run!.result, path.join(root, 'ci-out'));
    expect(await fs.readFile(elsewhere.html, 'utf8')).not.toContain('history.html');
  });
});
