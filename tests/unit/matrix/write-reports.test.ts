import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReports } from '../../../lab/matrix/matrix.ts';
import { keyCount } from '../../../lab/scenarios/judge.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { sampleMatrix } from '../model/matrix-fixture.ts';
import { tempDirs } from '../../helpers.ts';

describe('the lab never writes a matrix.json its own reader refuses', () => {
  it('a key a probe left without a number is "(missing)", never NaN (written as null)', () => {
    expect(keyCount(7)).toBe(7);
    for (const v of [undefined, 'many', Number.NaN, Infinity, null]) expect(keyCount(v)).toBe('(missing)');
  });

  it('a result the reader would refuse is an error of the lab, the document kept beside it, no report written', async () => {
    const { root } = await tempDirs();
    const result = sampleMatrix(root);
    result.cells[0]!.key = { unpatchedSetChanges: Number.NaN };
    const err = await writeReports(result, root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toContain('key.unpatchedSetChanges');
    expect((await fs.readdir(root)).sort()).toEqual(['matrix.unreadable.json']);
    expect(await fs.readFile(path.join(root, 'matrix.unreadable.json'), 'utf8')).toContain('"unpatchedSetChanges": null');
  });

  it('a sound result is written', async () => {
    const { root } = await tempDirs();
    await writeReports(sampleMatrix(root), root);
    expect((await fs.readdir(root)).sort()).toEqual(['junit.xml', 'matrix.json', 'report.html']);
  });
});
