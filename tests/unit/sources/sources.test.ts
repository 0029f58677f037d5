import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateUrls, mirrorList, type DownloadProgress } from '../../../lab/sources/download.ts';
import { overrideEnvName, resolveSource, type SourceOptions } from '../../../lab/sources/resolve.ts';
import type { ArchiveSource, DebianFileSource } from '../../../lab/catalog/source-spec.ts';
import { sha256, sha256Tree } from '../../../lab/util/digest.ts';
import { LabError, MissingSourceError, UsageError } from '../../../lab/util/errors.ts';
import type { LabDirs } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';

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
    await fs.writeFile(path.join(tree, 'Makefile'), 'all:\n');
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
    const { loadTargets } = await import('../../../lab/catalog/targets.ts');
    const { targetAvailability } = await import('../../../lab/sources/availability.ts');
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

describe('missing is not the same as wrong', () => {
  async function malta(dirs: LabDirs, opts: Partial<SourceOptions> = {}) {
    const { loadTargets } = await import('../../../lab/catalog/targets.ts');
    const { targetAvailability, skipReason, sourceProblem } = await import('../../../lab/sources/availability.ts');
    const target = (await loadTargets()).find((t) => t.name === 'mips-malta-3.10-uclibc')!;
    const a = await targetAvailability(target, { dirs, env: {}, download: false, ...opts });
    return { a, skip: skipReason(a), problem: sourceProblem(a) };
  }

  it('a missing archive skips the target', async () => {
    const { dirs } = await tempDirs();
    const { skip, problem } = await malta(dirs);
    expect(skip).toBe('skipped: linux-3.10.108.tar.xz, uClibc-0.9.33.2.tar.xz, busybox_1.35.0-4+deb12u1.dsc, dropbear_2022.83-1+deb12u3.dsc not available');
    expect(problem).toBeUndefined();
  });

  it('a tampered archive, an override that is a file or lacks its Makefile, an archive that cannot be read (a directory in its place): the target fails, never skips', async () => {
    const { root, dirs } = await tempDirs();
    await fs.mkdir(dirs.downloads, { recursive: true });
    await fs.writeFile(path.join(dirs.downloads, 'linux-3.10.108.tar.xz'), 'not the kernel');
    let r = await malta(dirs);
    expect(r.skip).toBeUndefined();
    expect(r.problem).toMatch(/^source error: linux-3\.10\.108: .*linux-3\.10\.108\.tar\.xz: sha256 [0-9a-f]{64} does not match the pinned 3849ea81/);

    const file = path.join(root, 'a-file');
    await fs.writeFile(file, 'x');
    r = await malta(dirs, { overrides: { 'uClibc-0.9.33.2': file } });
    expect(r.problem).toMatch(/uClibc-0\.9\.33\.2: source override for uClibc-0\.9\.33\.2 is not a directory/);

    const noMakefile = path.join(root, 'above-the-tree');
    await fs.mkdir(path.join(noMakefile, 'uClibc-0.9.33.2'), { recursive: true });
    r = await malta(dirs, { overrides: { 'uClibc-0.9.33.2': noMakefile } });
    expect(r.problem).toMatch(/has no top-level Makefile/);

    await fs.rm(path.join(dirs.downloads, 'linux-3.10.108.tar.xz'));
    await fs.mkdir(path.join(dirs.downloads, 'linux-3.10.108.tar.xz'));
    r = await malta(dirs);
    expect(r.skip).toBeUndefined();
    expect(r.problem).toMatch(/linux-3\.10\.108: .*EISDIR/);
  });
});

describe('downloads (a local HTTP server on 127.0.0.1, through resolveSource)', () => {
  const body = Buffer.from('a small pinned archive the test makes\n'.repeat(2000));
  const sha = createHash('sha256').update(body).digest('hex');
  let server: http.Server;
  let base = '';
  const hits: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url!);
      const [, mode] = req.url!.split('/');
      if (mode === 'ok' || mode === 'upstream') return res.end(body);
      if (mode === 'missing') return res.writeHead(404).end();
      if (mode === 'wrong') return res.end(Buffer.from('something else'));
      if (mode === 'truncated') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 1000));
        return setTimeout(() => res.destroy(), 50);
      }
      if (mode === 'stall') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 1000)); // …and then nothing, until the client gives up
        return;
      }
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const spec = (): ArchiveSource => ({ kind: 'archive', package: 'testpkg-1.0', archive: 'testpkg-1.0.tar.gz', sha256: sha, url: `${base}/upstream/testpkg-1.0.tar.gz` });
  const tuning = { stallMs: 300, tries: 2, backoffMs: 10 };
  const leftovers = async (dirs: LabDirs) => (await fs.readdir(dirs.downloads).catch(() => [] as string[])).filter((f) => f !== 'testpkg-1.0.tar.gz');

  it('downloads from the first mirror that has it, verifies the pin, and shows progress', async () => {
    const { dirs } = await tempDirs();
    const seen: DownloadProgress[] = [];
    hits.length = 0;
    const r = await resolveSource(spec(), { dirs, env: {}, mirrors: [`${base}/missing`, `${base}/ok/`], downloadTuning: tuning, progress: (p) => seen.push(p) });
    expect(r).toMatchObject({ origin: 'archive', sha256: sha });
    expect(hits).toEqual(['/missing/testpkg-1.0.tar.gz', '/ok/testpkg-1.0.tar.gz']);
    expect(await fs.readFile(r.path)).toEqual(body);
    expect(seen.at(-1)).toMatchObject({ done: true, bytes: body.length, url: `${base}/ok/testpkg-1.0.tar.gz` });
    expect(await leftovers(dirs)).toEqual([]);
  });

  it('targets that share an archive, resolving at once, download it once', async () => {
    const { dirs } = await tempDirs();
    hits.length = 0;
    const all = await Promise.all([1, 2, 3].map(() => resolveSource(spec(), { dirs, env: {}, mirrors: [`${base}/ok`], downloadTuning: tuning })));
    expect(all.map((r) => r.sha256)).toEqual([sha, sha, sha]);
    expect(hits).toEqual(['/ok/testpkg-1.0.tar.gz']);
  });

  it('falls back to upstream after the mirrors', async () => {
    const { dirs } = await tempDirs();
    hits.length = 0;
    await resolveSource(spec(), { dirs, env: {}, mirrors: [`${base}/missing`], downloadTuning: tuning });
    expect(hits).toEqual(['/missing/testpkg-1.0.tar.gz', '/upstream/testpkg-1.0.tar.gz']);
  });

  for (const [mode, cause] of [
    ['truncated', /truncated\/testpkg-1\.0\.tar\.gz: .*(terminated|other side closed|ended after 1000 of)/],
    ['wrong', /wrong\/testpkg-1\.0\.tar\.gz: sha256 [0-9a-f]{64} does not match the pinned/],
    ['stall', /stall\/testpkg-1\.0\.tar\.gz: no data for 300 ms \(stalled\) \(tries 1-2 of 2\)/],
    ['error', /error\/testpkg-1\.0\.tar\.gz: HTTP 500 Internal Server Error \(tries 1-2 of 2\)/],
  ] as const) {
    it(`a ${mode} download is reported with its URL and cause, and leaves nothing in the cache`, async () => {
      const { dirs } = await tempDirs();
      const s = { ...spec(), url: `${base}/${mode}/testpkg-1.0.tar.gz` };
      const err = await resolveSource(s, { dirs, env: {}, downloadTuning: tuning }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MissingSourceError);
      expect((err as Error).message).toMatch(cause);
      expect(await fs.readdir(dirs.downloads).catch(() => [])).toEqual([]);
    });
  }

  it('offline (REPROLAB_OFFLINE=1) asks no server and says so', async () => {
    const { dirs } = await tempDirs();
    hits.length = 0;
    const err = await resolveSource(spec(), { dirs, env: { REPROLAB_OFFLINE: '1' } }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/not available .*\(offline: not downloaded\)/);
    expect(hits).toEqual([]);
  });

  it('mirrors come from the flag, then REPROLAB_MIRRORS; a bad one is a usage error', () => {
    expect(mirrorList(['http://a/x'], { REPROLAB_MIRRORS: 'http://b, https://c' })).toEqual(['http://a/x', 'http://b', 'https://c']);
    expect(() => mirrorList(['ftp://a'], {})).toThrow(UsageError);
    expect(() => mirrorList([], { REPROLAB_MIRRORS: 'ftp://b' })).toThrow(/^REPROLAB_MIRRORS ftp:\/\/b: expected an http/);
    expect(candidateUrls(spec(), ['http://m/'])).toEqual(['http://m/testpkg-1.0.tar.gz', spec().url]);
  });
});
