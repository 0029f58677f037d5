import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { overrideEnvName, resolveSource } from '../../lab/sources/resolve.ts';
import type { ArchiveSource, DebianFileSource } from '../../lab/sources/spec.ts';
import { sha256, sha256Tree } from '../../lab/util/digest.ts';
import { LabError, MissingSourceError } from '../../lab/util/errors.ts';
import { tempDirs } from '../helpers.ts';

const content = 'pretend this is a tarball';
const spec: ArchiveSource = {
  kind: 'archive',
  package: 'uClibc-0.9.33.2',
  archive: 'uClibc-0.9.33.2.tar.xz',
  sha256: sha256(content),
  url: 'https://example.invalid/uClibc-0.9.33.2.tar.xz',
};

describe('source resolution', () => {
  it('says which archive is missing, its digest, and where to put it', async () => {
    const { dirs } = await tempDirs();
    const err = await resolveSource(spec, { dirs, env: {}, download: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingSourceError);
    const e = err as MissingSourceError;
    expect(e.archive).toBe('uClibc-0.9.33.2.tar.xz');
    expect(e.message).toContain(spec.sha256);
    expect(e.fix).toContain(dirs.downloads);
    expect(e.fix).toContain(path.join(dirs.overrides, 'uClibc-0.9.33.2'));
    expect(e.fix).toContain('REPROLAB_SOURCE_UCLIBC_0_9_33_2');
  });

  it('uses a cached archive whose digest matches the pin', async () => {
    const { dirs } = await tempDirs();
    await fs.mkdir(dirs.downloads, { recursive: true });
    await fs.writeFile(path.join(dirs.downloads, spec.archive), content);
    const r = await resolveSource(spec, { dirs, env: {}, download: false });
    expect(r).toMatchObject({ origin: 'archive', sha256: spec.sha256, pinned: spec.sha256 });
  });

  it('refuses a cached archive with the wrong digest', async () => {
    const { dirs } = await tempDirs();
    await fs.mkdir(dirs.downloads, { recursive: true });
    await fs.writeFile(path.join(dirs.downloads, spec.archive), `${content} (tampered)`);
    const err = await resolveSource(spec, { dirs, env: {}, download: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toContain('does not match the pinned');
  });

  it('prefers an override directory and records a digest over its files', async () => {
    const { root, dirs } = await tempDirs();
    const tree = path.join(root, 'my-uclibc');
    await fs.mkdir(path.join(tree, 'libc'), { recursive: true });
    await fs.writeFile(path.join(tree, 'Makefile'), 'all:\n');
    await fs.writeFile(path.join(tree, 'libc', 'a.c'), 'int a;\n');
    for (const how of ['flag', 'env', 'drop-in'] as const) {
      const opts =
        how === 'flag'
          ? { dirs, env: {}, overrides: { [spec.package]: tree }, download: false }
          : how === 'env'
            ? { dirs, env: { [overrideEnvName(spec.package)]: tree }, download: false }
            : { dirs, env: {}, download: false };
      if (how === 'drop-in') await fs.cp(tree, path.join(dirs.overrides, spec.package), { recursive: true });
      const r = await resolveSource(spec, opts);
      expect(r.origin).toBe('override');
      expect(r.sha256).toBe(await sha256Tree(tree));
    }
  });

  it('notices an edit inside an override directory', async () => {
    const { root, dirs } = await tempDirs();
    const tree = path.join(root, 't');
    await fs.mkdir(tree);
    await fs.writeFile(path.join(tree, 'f'), 'one');
    const opts = { dirs, env: {}, overrides: { [spec.package]: tree }, download: false };
    const before = (await resolveSource(spec, opts)).sha256;
    await new Promise((r) => setTimeout(r, 20));
    await fs.writeFile(path.join(tree, 'f'), 'two');
    expect((await resolveSource(spec, opts)).sha256).not.toBe(before);
  });

  it('rejects an override that is not a directory', async () => {
    const { root, dirs } = await tempDirs();
    const file = path.join(root, 'not-a-dir');
    await fs.writeFile(file, 'x');
    await expect(resolveSource(spec, { dirs, env: {}, overrides: { [spec.package]: file }, download: false })).rejects.toThrow('is not a directory');
  });

  it('names the Debian package for a missing Debian-provided source', async () => {
    const { dirs } = await tempDirs();
    const deb: DebianFileSource = { kind: 'debian-file', package: 'linux-source-6.1', debianPackage: 'linux-source-6.1', path: '/nonexistent/linux-source-6.1.tar.xz' };
    const err = await resolveSource(deb, { dirs, env: {}, download: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingSourceError);
    expect((err as MissingSourceError).fix).toContain('apt-get install linux-source-6.1');
  });
});

describe('target availability', () => {
  it('reports a 3.10 target as unavailable with the archive to provide, without building anything', async () => {
    const { loadTargets } = await import('../../lab/catalog/targets.ts');
    const { targetAvailability } = await import('../../lab/sources/availability.ts');
    const { dirs } = await tempDirs();
    const target = (await loadTargets()).find((t) => t.name === 'mips-malta-3.10-uclibc')!;
    const a = await targetAvailability(target, { dirs, env: {}, download: false });
    expect(a.available).toBe(false);
    const linux = a.sources.find((s) => s.package === 'linux-3.10.108')!;
    expect(linux.found).toBe(false);
    expect(linux.archive).toBe('linux-3.10.108.tar.xz');
    expect(linux.fix).toContain('3849ea8119517f605f9d53c57dd6c539af8d584c2f1d9031f4f56283af3409a5');
    expect(a.sources.find((s) => s.package === 'uClibc-0.9.33.2')!.archive).toBe('uClibc-0.9.33.2.tar.xz');
  });
});
