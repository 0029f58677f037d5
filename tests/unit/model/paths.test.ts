import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../../lab/model/fields.ts';
import { insideReal, relativePathField, resolveInside, segmentField } from '../../../lab/model/paths.ts';
import { tempDirs } from '../../helpers.ts';

describe('paths made from what a file says stay inside their root', () => {
  it('a segment is one plain name', () => {
    const f = (v: unknown) => new Fields('x.json', { v });
    expect(segmentField(f('uclibc-ng.1_0'), 'v')).toBe('uclibc-ng.1_0');
    for (const bad of ['', '.', '..', 'a/b', '../x', '.hidden', '-x', 'a\0b', 7]) expect(() => segmentField(f(bad), 'v'), String(bad)).toThrow(/^x\.json: v must be/);
    expect(() => segmentField(f('Abc'), 'v', /^[a-z]+$/)).toThrow(/v must be one path segment matching/);
  });

  it('a relative path has plain names only', () => {
    const f = (v: unknown) => new Fields('x.json', { v });
    expect(relativePathField(f('images/zImage'), 'v')).toBe('images/zImage');
    for (const bad of ['/abs', '../x', 'a/../../x', 'a//b', 'a/', './a', 'a/.']) expect(() => relativePathField(f(bad), 'v'), bad).toThrow(/v must be a relative path inside its folder/);
  });

  it('resolveInside refuses what leaves the root; insideReal follows links', async () => {
    expect(resolveInside('/r', 'a/b')).toBe('/r/a/b');
    expect(resolveInside('/r', '..foo')).toBe('/r/..foo');
    for (const bad of ['..', '../x', 'a/../../x', '/etc/passwd']) expect(resolveInside('/r', bad), bad).toBeUndefined();
    const { root } = await tempDirs();
    await fs.mkdir(path.join(root, 'store', 'in'), { recursive: true });
    await fs.symlink(root, path.join(root, 'store', 'out'));
    expect(await insideReal(path.join(root, 'store'), path.join(root, 'store', 'in'))).toBe(true);
    expect(await insideReal(path.join(root, 'store'), path.join(root, 'store', 'out'))).toBe(false);
    expect(await insideReal(path.join(root, 'store'), path.join(root, 'store', 'absent'))).toBe(false);
  });
});
