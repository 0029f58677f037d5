import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSource } from '../../../lab/sources/resolve.ts';
import { prepareTree } from '../../../lab/sources/prepare.ts';
import { Planner } from '../../../lab/store/plan.ts';
import type { ArchiveSource } from '../../../lab/catalog/source-spec.ts';
import { sha256Tree } from '../../../lab/util/digest.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

const spec: ArchiveSource = { kind: 'archive', package: 'uClibc-0.9.33.2', archive: 'uClibc-0.9.33.2.tar.xz', sha256: '0'.repeat(64), url: 'https://example.invalid/x' };

async function tree(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(path.join(dir, 'libc'), { recursive: true });
  await fs.writeFile(path.join(dir, 'Makefile'), 'all:\n');
  await fs.writeFile(path.join(dir, 'libc', 'ifaddrs.c'), 'int buf = 4096;\n');
  return dir;
}

// The mtime alone must not be what tells an edit apart: same size, new content, a moment later.
async function edit(file: string, text: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
  await fs.writeFile(file, text);
}

describe('an override behind a symlink is keyed by what it holds', () => {
  it('an edit in the tree a symlinked override points at changes the digest, and a dry run names the source', async () => {
    const { root, dirs } = await tempDirs();
    const real = await tree(root, 'real');
    const link = path.join(root, 'link');
    await fs.symlink(real, link);
    const opts = { dirs, env: {}, overrides: { [spec.package]: link }, download: false };
    const before = await resolveSource(spec, opts);
    expect(before.path).toBe(await fs.realpath(real));
    await prepareTree(before, [], 'uClibc', dirs, path.join(root, 'prep.log'));
    await edit(path.join(real, 'libc', 'ifaddrs.c'), 'int buf = 8192;\n');
    const after = await resolveSource(spec, opts);
    expect(after.sha256).not.toBe(before.sha256);
    expect(after.sha256).toBe(await sha256Tree(real));
    const planner = new Planner();
    await planner.run(() => prepareTree(after, [], 'uClibc', dirs, path.join(root, 'prep.log')));
    expect(planner.steps.map((s) => [s.step, s.run, s.why])).toEqual([
      [spec.package, true, 'not in the store; the closest earlier build differs in: source'],
    ]);
  });

  it('a drop-in override that is a symlink is followed the same way', async () => {
    const { root, dirs } = await tempDirs();
    const real = await tree(root, 'real');
    await fs.mkdir(dirs.overrides, { recursive: true });
    await fs.symlink(real, path.join(dirs.overrides, spec.package));
    const opts = { dirs, env: {}, download: false };
    const before = (await resolveSource(spec, opts)).sha256;
    await edit(path.join(real, 'libc', 'ifaddrs.c'), 'int buf = 8192;\n');
    expect((await resolveSource(spec, opts)).sha256).not.toBe(before);
  });

  it('a symlinked file that leaves the tree is hashed by its content, and an edit behind it is seen', async () => {
    const { root, dirs } = await tempDirs();
    const t = await tree(root, 't');
    const outside = path.join(root, 'outside.c');
    await fs.writeFile(outside, 'int buf = 4096;\n');
    await fs.rm(path.join(t, 'libc', 'ifaddrs.c'));
    await fs.symlink(outside, path.join(t, 'libc', 'ifaddrs.c'));
    // The same digest as the tree with that file copied in: content, not the link's name.
    const copy = await tree(root, 'copy');
    expect(await sha256Tree(t)).toBe(await sha256Tree(copy));
    const opts = { dirs, env: {}, overrides: { [spec.package]: t }, download: false };
    const before = (await resolveSource(spec, opts)).sha256;
    await edit(outside, 'int buf = 8192;\n');
    expect((await resolveSource(spec, opts)).sha256).not.toBe(before);
  });

  it('a symlinked folder that leaves the tree is walked; one that points at nothing is refused', async () => {
    const { root } = await tempDirs();
    const t = await tree(root, 't');
    const libc = await tree(root, 'elsewhere');
    await fs.rm(path.join(t, 'libc'), { recursive: true });
    await fs.symlink(path.join(libc, 'libc'), path.join(t, 'libc'));
    expect(await sha256Tree(t)).toBe(await sha256Tree(await tree(root, 'copy')));
    await fs.symlink(path.join(root, 'gone'), path.join(t, 'dangling'));
    const err = await sha256Tree(t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toContain('dangling: a symlink out of the tree');
  });

  it('a link inside the tree is recorded as a link (its target is hashed where it lives)', async () => {
    const { root } = await tempDirs();
    const a = await tree(root, 'a');
    await fs.symlink('libc/ifaddrs.c', path.join(a, 'alias.c'));
    const b = await tree(root, 'b');
    await fs.copyFile(path.join(b, 'libc', 'ifaddrs.c'), path.join(b, 'alias.c'));
    expect(await sha256Tree(a)).not.toBe(await sha256Tree(b));
  });
});

describe('the prepared copy of an override is what was hashed', () => {
  it('a link that leaves the tree is copied as its content: building in the copy never writes outside', async () => {
    const { root, dirs } = await tempDirs();
    const t = await tree(root, 't');
    const outside = path.join(root, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'extra.c'), 'int extra;\n');
    await fs.symlink(outside, path.join(t, 'extra'));
    const src = await resolveSource(spec, { dirs, env: {}, overrides: { [spec.package]: t }, download: false });
    const prepared = await prepareTree(src, [], 'uClibc', dirs, path.join(root, 'prep.log'));
    expect((await fs.lstat(path.join(prepared.dir, 'extra'))).isSymbolicLink()).toBe(false);
    expect(await fs.readFile(path.join(prepared.dir, 'extra', 'extra.c'), 'utf8')).toBe('int extra;\n');
    expect(await sha256Tree(prepared.dir, (rel) => rel === '.complete' || rel === '.inputs.json')).toBe(src.sha256);
    await fs.writeFile(path.join(prepared.dir, 'extra', 'extra.o'), 'object');
    expect(await fs.readdir(outside)).toEqual(['extra.c']);
  });

  it('a link to a folder above it inside the tree (a loop for find -L) is still an override, hashed as a link', async () => {
    const { root, dirs } = await tempDirs();
    const t = await tree(root, 't');
    await fs.symlink('..', path.join(t, 'libc', 'up'));
    const src = await resolveSource(spec, { dirs, env: {}, overrides: { [spec.package]: t }, download: false });
    expect(src.sha256).toBe(await sha256Tree(t));
  });
});
