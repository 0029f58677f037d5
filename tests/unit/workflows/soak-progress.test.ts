import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendRound, createProgress, parseProgress, progressPath, readProgress, type MeasuredRound, type SoakHeader } from '../../../lab/workflows/soak/progress.ts';
import { beginProgress, loadPrevious } from '../../../lab/workflows/soak/resume.ts';
import { LabError, UsageError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

/*
 * progress.jsonl is read back as untrusted input: every field checked, an error naming the file,
 * the line and the field; a torn last line (a crash while it was written) dropped with a warning.
 */
const HEADER: SoakHeader = { kind: 'reprolab-soak', schema: 1, scenario: 'dump-hang', target: 'arm-versatile-3.10-uclibc', bundle: 'b'.repeat(64), reader: 'legacy', started: '2026-12-06T10:00:00.000Z' };

function round(n: number, over: Partial<MeasuredRound> = {}): MeasuredRound {
  return {
    round: n, startedAt: '2026-12-06T10:00:01.000Z', outcome: 'PASS', seconds: 20.004, dumps: 40_000, hangs: 0, errors: 0, setChanges: 900, maxIterationMs: 21.5,
    churn: { rounds: 600, socketsOpened: 15_000, linksAdded: 2400, linksDeleted: 2396 },
    evidence: `rounds/r${n}-unpatched-legacy-dump-hang.txt`, console: 'session-1/boot-1/console.log', ...over,
  };
}

const lines = (...objs: object[]) => objs.map((o) => `${JSON.stringify(o)}\n`).join('');

async function soakDir(text?: string): Promise<string> {
  const { root } = await tempDirs();
  if (text !== undefined) await fs.writeFile(progressPath(root), text);
  return root;
}

describe('the progress file: one writer, one validated reader', () => {
  it('reads back what the writer wrote, a header and one line per round, ERROR rounds included', async () => {
    const dir = await soakDir();
    const file = progressPath(dir);
    await createProgress(file, HEADER);
    await appendRound(file, round(1));
    await appendRound(file, { round: 2, startedAt: '2026-12-06T10:00:30.000Z', outcome: 'ERROR', error: 'the churn did not take effect', console: 'session-1/boot-1/console.log' });
    await appendRound(file, round(3, { outcome: 'FAIL', hangs: 1, errors: 2 }));
    const read = await readProgress(file);
    expect(read.header).toEqual(HEADER);
    expect(read.rounds.map((r) => r.outcome)).toEqual(['PASS', 'ERROR', 'FAIL']);
    expect(read.rounds[0]).toEqual(round(1));
    expect(read.torn).toBeUndefined();
    expect(read.keptBytes).toBe((await fs.stat(file)).size);
    // A soak is never started over one that exists.
    await expect(createProgress(file, HEADER)).rejects.toThrow(/EEXIST/);
  });

  it('drops a torn last line with a warning naming the file, and the next round starts a line of its own', async () => {
    const whole = lines(HEADER, round(1), round(2));
    const dir = await soakDir(`${whole}{"round":3,"startedAt":"2026-12-06T10:0`);
    const file = progressPath(dir);
    const warnings: string[] = [];
    const read = await loadPrevious(file, true, { scenario: 'dump-hang', target: HEADER.target }, (l) => warnings.push(l));
    expect(read!.rounds).toHaveLength(2);
    expect(read!.keptBytes).toBe(Buffer.byteLength(whole));
    expect(warnings).toEqual([`${file}: line 4 was cut short (the soak stopped while writing it): dropped (the round it recorded is not counted)`]);
    const done = await beginProgress(file, read, HEADER);
    expect(done).toHaveLength(2);
    await appendRound(file, round(3));
    expect((await readProgress(file)).rounds.map((r) => r.round)).toEqual([1, 2, 3]);
  });

  it('refuses a bad field naming the file, the line and the field', () => {
    const bad = (text: string) => {
      try {
        parseProgress('/s/progress.jsonl', text);
      } catch (err) {
        expect(err).toBeInstanceOf(LabError);
        return err instanceof Error ? err.message : String(err);
      }
      throw new Error('accepted');
    };
    expect(bad(lines(HEADER, round(1), round(2, { dumps: -4 })))).toBe('/s/progress.jsonl:3: dumps must be an integer from 0 to 9007199254740991 (got -4)');
    expect(bad(lines(HEADER, round(1, { hangs: 2 })))).toMatch(/^\/s\/progress\.jsonl:2: hangs must be 0 in a PASS round \(got 2\)$/);
    expect(bad(lines(HEADER, round(1), round(3)))).toMatch(/^\/s\/progress\.jsonl:3: round must be an integer from 2 to 2 \(got 3\)$/);
    expect(bad(lines(HEADER, { ...round(1), evidence: '../../etc/passwd' }))).toMatch(/^\/s\/progress\.jsonl:2: evidence must be a string matching/);
    expect(bad(lines(HEADER, { ...round(1), bonus: 1 }))).toMatch(/^\/s\/progress\.jsonl:2: bonus must be absent \(unknown field/);
    expect(bad(lines(HEADER, { ...round(1), churn: { ...round(1).churn, rounds: 'many' } }))).toMatch(/^\/s\/progress\.jsonl:2: churn\.rounds must be an integer/);
    expect(bad(`${lines(HEADER)}\n${lines(round(1))}`)).toMatch(/^\/s\/progress\.jsonl:2: not valid JSON/);
    expect(bad(lines({ ...HEADER, schema: 2 }))).toMatch(/^\/s\/progress\.jsonl:1: schema must be one of 1 \(got 2\)$/);
    expect(bad('')).toMatch(/^\/s\/progress\.jsonl:1: no complete header line/);
  });

  it('--resume: a malformed file is a usage error naming the file, line and field', async () => {
    const dir = await soakDir(lines(HEADER, round(1, { seconds: -1 })));
    const err = await loadPrevious(progressPath(dir), true, { scenario: 'dump-hang', target: HEADER.target }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ message: `${progressPath(dir)}:2: seconds must be a number from 0 to 1000000000 (got -1)` });
  });

  it('--resume needs a header for the scenario, target, image and reader asked for', async () => {
    const dir = await soakDir(lines(HEADER, round(1)));
    const file = progressPath(dir);
    const load = (scenario: string, target: string) => loadPrevious(file, true, { scenario, target }, () => undefined);
    await expect(load('dump-hang', 'mips-malta-3.10-uclibc')).rejects.toThrow(`--resume: ${file}: the header's target is arm-versatile-3.10-uclibc, not mips-malta-3.10-uclibc (the --target asked for)`);
    await expect(load('dump-buffer', HEADER.target)).rejects.toThrow(/the header's scenario is dump-hang, not dump-buffer/);
    const read = await load('dump-hang', HEADER.target);
    await expect(beginProgress(file, read, { ...HEADER, bundle: 'c'.repeat(64) })).rejects.toThrow(/the header's bundle is b+, not c+ \(this build of arm-versatile-3\.10-uclibc: the image changed since the soak started\)/);
    await expect(beginProgress(file, read, { ...HEADER, reader: 'fixed' })).rejects.toThrow(/the header's reader is legacy, not fixed/);
  });

  it('without --resume an existing soak is refused; --resume without one is too', async () => {
    const dir = await soakDir(lines(HEADER));
    const err = await loadPrevious(progressPath(dir), false, HEADER, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ message: `${progressPath(dir)} exists: a soak was already started in ${dir}`, fix: 'pass --resume to continue it, or --out DIR for a new soak' });
    const empty = await soakDir();
    await expect(loadPrevious(progressPath(empty), true, HEADER, () => undefined)).rejects.toThrow(`--resume: there is no soak to resume in ${empty} (no progress.jsonl)`);
    expect(await loadPrevious(path.join(empty, 'progress.jsonl'), false, HEADER, () => undefined)).toBeUndefined();
  });
});
