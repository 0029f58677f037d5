import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';
import { sampleMatrix } from '../model/matrix-fixture.ts';

/*
 * `report html|merge|diff` read matrix.json files that came from elsewhere (CI shards): a bad one
 * is one line naming the file and the field, exit 2, and nothing is written; what they print of a
 * guest's text cannot drive the terminal.
 */

async function lab(args: string[]) {
  const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...args], { cwd: repoRoot, reject: false, timeout: 120_000, stdin: 'ignore' });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr.trim() };
}

async function writeJson(file: string, doc: unknown): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, JSON.stringify(doc));
  return file;
}

function expectOneLineUsage(r: { code: number | undefined; stderr: string }, file: string, field: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toMatch(field);
  expect(r.stderr).not.toMatch(/TypeError|RangeError|\n\s+at /);
}

describe('report commands on an untrusted matrix.json', () => {
  it('report html: a cell without variants is one line, exit 2, and no report is written', async () => {
    const { root } = await tempDirs();
    const doc = JSON.parse(JSON.stringify(sampleMatrix())) as any;
    delete doc.cells[0].variants;
    const file = await writeJson(path.join(root, 'in', 'matrix.json'), doc);
    const out = path.join(root, 'out');
    const r = await lab(['report', 'html', file, '--out', out]);
    expectOneLineUsage(r, file, /cells\[0\]\.variants must be a list/);
    await expect(fs.readdir(out)).rejects.toThrow(/ENOENT/);
  });

  it('report merge: a shard with a bad time is one line, exit 2, nothing written', async () => {
    const { root } = await tempDirs();
    const doc = JSON.parse(JSON.stringify(sampleMatrix())) as any;
    doc.finishedAt = 'tomorrow';
    const file = await writeJson(path.join(root, 'shard-1', 'matrix.json'), doc);
    const out = path.join(root, 'merged');
    const r = await lab(['report', 'merge', file, '--out', out]);
    expectOneLineUsage(r, file, /finishedAt must be an ISO 8601 UTC time/);
    await expect(fs.readdir(out)).rejects.toThrow(/ENOENT/);
  });

  it('report diff: a run without sweeps or a start time is refused, never printed as "(undefined)"', async () => {
    const { root } = await tempDirs();
    const a = JSON.parse(JSON.stringify(sampleMatrix())) as any;
    delete a.startedAt;
    const fa = await writeJson(path.join(root, 'a', 'matrix.json'), a);
    const b = JSON.parse(JSON.stringify(sampleMatrix())) as any;
    delete b.sweeps;
    const fb = await writeJson(path.join(root, 'b', 'matrix.json'), b);
    const good = await writeJson(path.join(root, 'good', 'matrix.json'), sampleMatrix());
    const r1 = await lab(['report', 'diff', fa, good]);
    expectOneLineUsage(r1, fa, /startedAt must be an ISO 8601 UTC time/);
    expect(r1.stdout).not.toContain('undefined');
    expectOneLineUsage(await lab(['report', 'diff', good, fb]), fb, /sweeps must be a list/);
  });

  it('report diff and merge show a guest\'s control characters escaped, never raw on the terminal', async () => {
    const { root } = await tempDirs();
    const before = sampleMatrix();
    const after = sampleMatrix();
    const evil = 'errno=EBUSY \u001b]0;owned\u0007\u001b[2J\u009b1m\r\nREGRESSION fake';
    after.cells[0]!.verdict = 'FIX_INEFFECTIVE';
    after.cells[0]!.asExpected = false;
    after.cells[0]!.summary = evil;
    after.cells[0]!.retried = evil;
    after.targets[1]!.reason = evil;
    const fa = await writeJson(path.join(root, 'a', 'matrix.json'), before);
    const fb = await writeJson(path.join(root, 'b', 'matrix.json'), { ...after, comparison: undefined });
    const diff = await lab(['report', 'diff', fa, fb]);
    expect(diff.code, diff.stderr).toBe(3);
    expect(diff.stdout).toContain('errno=EBUSY \\x1b]0;owned\\x07\\x1b[2J\\x9b1m\\x0d\\nREGRESSION fake');
    const merged = await lab(['report', 'merge', fb, '--out', path.join(root, 'merged')]);
    expect(merged.code, merged.stderr).toBe(1);
    for (const out of [diff.stdout, merged.stdout]) expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(merged.stdout).toContain('\\x1b[2J');
  });
});
