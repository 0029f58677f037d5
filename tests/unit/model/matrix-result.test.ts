import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMatrixResult, loadMatrixResult } from '../../../lab/model/matrix-result.ts';
import { UsageError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';
import { sampleMatrix } from './matrix-fixture.ts';

/** The sample with one change made by `edit` (on a plain JSON copy, as a shard's file would be). */
function edited(edit: (d: any) => void): unknown {
  const d = JSON.parse(JSON.stringify(sampleMatrix()));
  edit(d);
  return d;
}

function refusal(doc: unknown): UsageError {
  try {
    checkMatrixResult('shard/matrix.json', doc);
  } catch (err) {
    return err as UsageError;
  }
  throw new Error('accepted');
}

describe('checkMatrixResult: the whole document, every field the reports read', () => {
  it('accepts what the lab writes, optional fields and all', () => {
    const m = sampleMatrix();
    expect(checkMatrixResult('m.json', JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  it.each([
    ['a cell without variants', (d: any) => delete d.cells[0].variants, /cells\[0\]\.variants must be a list/],
    ['a file without sweeps', (d: any) => delete d.sweeps, /: sweeps must be a list/],
    ['a bad start time', (d: any) => (d.startedAt = 'yesterday'), /: startedAt must be an ISO 8601 UTC time/],
    ['an empty finish time', (d: any) => (d.finishedAt = ''), /: finishedAt must be an ISO 8601 UTC time/],
    ['an impossible date', (d: any) => (d.startedAt = '2026-13-45T99:00:00.000Z'), /: startedAt must be an ISO 8601 UTC time/],
    ['a duration that is not a number', (d: any) => (d.durationMs = '10'), /: durationMs must be a number/],
    ['a cell duration missing', (d: any) => delete d.cells[1].durationMs, /cells\[1\]\.durationMs must be a number/],
    ['no host', (d: any) => delete d.host, /: host must be an object/],
    ['a comparison without the previous start', (d: any) => delete d.comparison.previous.startedAt, /comparison\.previous\.startedAt must be an ISO 8601/],
    ['a regression with a made-up verdict', (d: any) => (d.comparison.regressions[0].after = 'MAYBE'), /comparison\.regressions\[0\]\.after must be one of/],
    ['markup where a number goes', (d: any) => (d.sweeps[0].patchedFailures = ['<script>alert(1)</script>']), /sweeps\[0\]\.patchedFailures\[0\] must be a number/],
    ['a sweep point outcome', (d: any) => (d.sweeps[0].points[1].unpatched = '<b>'), /sweeps\[0\]\.points\[1\]\.unpatched must be one of PASS, FAIL, ERROR/],
    ['an svg that is not a path', (d: any) => (d.sweeps[0].svg = 42), /sweeps\[0\]\.svg must be a non-empty string/],
    ['a measured value that is an object', (d: any) => (d.cells[0].key.x = {}), /cells\[0\]\.key\.x must be a number, string or boolean/],
    ['a digest that is not text', (d: any) => (d.cells[0].digests.bundle = 1), /cells\[0\]\.digests\.bundle must be a string/],
    ['an attempt verdict', (d: any) => (d.cells[0].attempts[1].verdict = 'MAYBE'), /cells\[0\]\.attempts\[1\]\.verdict must be one of CONFIRMED/],
    ['a variant role', (d: any) => (d.cells[0].variants[0].role = 'other'), /cells\[0\]\.variants\[0\]\.role must be one of unpatched, patched/],
    ['a target status', (d: any) => (d.targets[1].status = 'weird'), /targets\[1\]\.status must be one of ran, skipped/],
    ['a missing source without its fix', (d: any) => delete d.targets[1].missingSources[0].fix, /targets\[1\]\.missingSources\[0\]\.fix must be a string/],
    ['a shard past the count', (d: any) => (d.shards[0].index = 3), /shards\[0\]\.index must be an integer from 1 to 1/],
    ['a cell outside the plan', (d: any) => (d.cells[0].target = 'elsewhere'), /cells\[0\]\.target must be one of arm-a, mips-b/],
    ['a usb stall rate', (d: any) => (d.usbStalls[0].stalls = -1), /usbStalls\[0\]\.stalls must be an integer/],
    ['an outDir that is relative', (d: any) => (d.outDir = 'runs/r'), /: outDir must be an absolute path/],
  ])('%s is one line naming the file and the field, a usage error (exit 2)', (_name, edit, message) => {
    const err = refusal(edited(edit));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/^shard\/matrix\.json: /);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    expect(err.fix).toBeTruthy();
  });

  it('keeps the old messages for the kind and the schema', () => {
    expect(refusal({ schema: 1, scenario: 'uevent' }).message).toMatch(/"kind" must be "reprolab-matrix"/);
    expect(refusal({ ...sampleMatrix(), schema: 2 }).message).toMatch(/"schema" is 2; this lab reads schema 1/);
    expect(refusal(null)).toBeInstanceOf(UsageError);
  });

  it('a file that cannot be read or is not JSON is a usage error too', async () => {
    const { root } = await tempDirs();
    const f = path.join(root, 'matrix.json');
    await expect(loadMatrixResult(f)).rejects.toBeInstanceOf(UsageError);
    await fs.writeFile(f, '{"schema": 1,');
    await expect(loadMatrixResult(f)).rejects.toBeInstanceOf(UsageError);
    await expect(loadMatrixResult(f)).rejects.toThrow(/matrix\.json: not JSON/);
  });

  it('keeps only the fields it knows: an inherited name or an extra key never reaches a report', () => {
    const r = checkMatrixResult('m.json', edited((d) => (d.cells[0].extra = '<script>'))) as unknown as { cells: Record<string, unknown>[] };
    expect(r.cells[0]!['extra']).toBeUndefined();
  });
});
