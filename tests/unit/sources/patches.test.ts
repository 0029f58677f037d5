import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySeries, describePatch, loadSeries, parsePatchFailures } from '../../../lab/sources/patches.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

const original = ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', ''].join('\n');

async function setup() {
  const { root } = await tempDirs();
  const tree = path.join(root, 'tree');
  await fs.mkdir(path.join(tree, 'libc', 'inet'), { recursive: true });
  await fs.writeFile(path.join(tree, 'libc', 'inet', 'ifaddrs.c'), original);
  const series = path.join(root, 'series');
  await fs.mkdir(series);
  return { root, tree, series };
}

const goodPatch = `Change line 2

--- a/libc/inet/ifaddrs.c
+++ b/libc/inet/ifaddrs.c
@@ -1,3 +1,3 @@
 line 1
-line 2
+line two
 line 3
`;

const badPatch = `Expects text that is not there

--- a/libc/inet/ifaddrs.c
+++ b/libc/inet/ifaddrs.c
@@ -3,3 +3,3 @@
 line 3
-line FOUR
+line 4!
 line 5
`;

describe('patch series', () => {
  it('applies patches in name order', async () => {
    const { tree, series } = await setup();
    // 0002 changes what 0001 wrote: it applies only after 0001, so the order is what is tested.
    const second = `Change line two again

--- a/libc/inet/ifaddrs.c
+++ b/libc/inet/ifaddrs.c
@@ -1,3 +1,3 @@
 line 1
-line two
+line 2, twice changed
 line 3
`;
    await fs.writeFile(path.join(series, '0002-second.patch'), second);
    await fs.writeFile(path.join(series, '0001-first.patch'), goodPatch);
    const list = await loadSeries(series);
    expect(list.map((p) => path.basename(p.file))).toEqual(['0001-first.patch', '0002-second.patch']);
    await applySeries(tree, list, 'uClibc');
    const text = await fs.readFile(path.join(tree, 'libc/inet/ifaddrs.c'), 'utf8');
    expect(text).toContain('line 2, twice changed');
    expect(text).not.toContain('line two');
    // The other order fails at 0002, which finds no "line two" yet.
    const { tree: fresh } = await setup();
    await expect(applySeries(fresh, [...list].reverse(), 'uClibc')).rejects.toThrow(/0002-second\.patch does not apply/);
  });

  it('names the patch, the file and the hunk that does not apply, and leaves the tree untouched', async () => {
    const { tree, series } = await setup();
    await fs.writeFile(path.join(series, '0003-broken.patch'), badPatch);
    const [p] = await loadSeries(series);
    const err = await applySeries(tree, [p!], 'uClibc').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LabError);
    const msg = (err as LabError).message;
    expect(msg).toContain('uClibc patch 0003-broken.patch does not apply');
    expect(msg).toContain('libc/inet/ifaddrs.c hunk #1');
    expect((err as LabError).kind).toBe('patch');
    expect(await fs.readFile(path.join(tree, 'libc/inet/ifaddrs.c'), 'utf8')).toBe(original);
  });

  it("a patch file patch cannot even read (its exit 2) is the lab's failure, not one that does not apply", async () => {
    const { tree } = await setup();
    const err = (await applySeries(tree, [{ file: path.join(tree, 'no-such.patch'), sha256: '' } as never], 'uClibc').catch((e: unknown) => e)) as LabError;
    expect(err).toBeInstanceOf(LabError);
    expect(err.kind).toBe('lab');
    expect(err.message).not.toContain('does not apply');
  });

  it('reports a missing patch file by path', async () => {
    await expect(describePatch('/nonexistent/fix.patch')).rejects.toThrow('patch not found: /nonexistent/fix.patch');
  });

  it('parses GNU patch output', () => {
    const out = 'checking file libc/inet/ifaddrs.c\nHunk #1 succeeded at 10.\nHunk #3 FAILED at 120.\n1 out of 3 hunks FAILED';
    expect(parsePatchFailures(out)).toEqual([{ file: 'libc/inet/ifaddrs.c', hunk: 3, line: 120 }]);
  });
});
