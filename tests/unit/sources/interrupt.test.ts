import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { processStart } from '../../../lab/util/owner.ts';
import { tempDirs } from '../../helpers.ts';

const fixture = (name: string) => path.join(import.meta.dirname, '..', '..', 'fixtures', name);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Polls until `check` holds or the tries run out (a bound on a wait, not a timed assertion). */
async function until(check: () => Promise<boolean> | boolean, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Everything a child has printed so far. */
function output(child: ResultPromise): () => string {
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

describe('a download interrupted by Ctrl-C', () => {
  it('leaves no partial file behind', async () => {
    const { root } = await tempDirs();
    // A mirror that sends 2 MiB of a 3 MiB file, then stalls.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(3 * 2 ** 20) });
      res.write(Buffer.alloc(2 * 2 ** 20 + 1024));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.tar.xz`;
    const downloads = path.join(root, 'downloads');
    const lab = execa('node', ['--import', 'tsx', fixture('download-forever.ts'), url, path.join(downloads, 'big.tar.xz')], { reject: false });
    const said = output(lab);
    try {
      expect(await until(() => said().includes('RECEIVED 2 MiB'))).toBe(true);
      expect((await fs.readdir(downloads)).some((n) => n.includes('.tmp-'))).toBe(true);
      lab.kill('SIGINT');
      const result = await lab;
      expect(result.exitCode).toBe(130);
      expect(await fs.readdir(downloads)).toEqual([]);
    } finally {
      lab.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
    }
  }, 90_000);
});

/** A fake `apt-get source` on PATH: logs its pid, writes part of a file, and holds until the test releases it. */
async function fakeAptGet(root: string) {
  const bin = path.join(root, 'bin');
  const orig = 'orig';
  const dsc = `Format: 3.0 (quilt)\nSource: busybox\nChecksums-Sha256:\n ${sha256(orig)} ${orig.length} busybox_1.35.0.orig.tar.xz\n`;
  const calls = path.join(root, 'apt-calls');
  const release = path.join(root, 'apt-release');
  await fs.mkdir(bin);
  await fs.writeFile(path.join(root, 'the.dsc'), dsc);
  const script = [
    '#!/bin/sh',
    `echo $$ >> '${calls}'`,
    "printf 'part' > busybox_1.35.0.orig.tar.xz",
    `while [ ! -e '${release}' ]; do sleep 0.1; done`,
    `printf '${orig}' > busybox_1.35.0.orig.tar.xz`,
    `cp '${path.join(root, 'the.dsc')}' busybox_1.35.0-4.dsc`,
  ].join('\n');
  await fs.writeFile(path.join(bin, 'apt-get'), `${script}\n`, { mode: 0o755 });
  const readCalls = async () => (await fs.readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
  const start = (cacheDir: string) => execa('node', ['--import', 'tsx', fixture('fetch-debian.ts'), cacheDir, sha256(dsc)], { reject: false, env: { PATH: `${bin}:${process.env.PATH}` } });
  return { readCalls, release: () => fs.writeFile(release, ''), start };
}

describe('fetching a Debian source package', () => {
  it('removes its scratch folder (and stops apt-get) when interrupted', async () => {
    const { root } = await tempDirs();
    const apt = await fakeAptGet(root);
    const lab = apt.start(root);
    try {
      expect(await until(async () => (await apt.readCalls()).length === 1)).toBe(true);
      const [aptPid] = await apt.readCalls();
      lab.kill('SIGINT');
      expect((await lab).exitCode).toBe(130);
      const left = await fs.readdir(path.join(root, 'downloads', 'debian-source'));
      // Only the log stays: no scratch folder, no half-fetched package.
      expect(left.filter((n) => n !== 'busybox.apt-get.log' && n !== '.locks')).toEqual([]);
      expect(await until(() => processStart(aptPid!) === undefined)).toBe(true);
    } finally {
      lab.kill('SIGKILL');
      await apt.release(); // an apt-get the old code orphaned ends too
    }
  }, 90_000);

  it('is fetched once when two processes need it at the same time', async () => {
    const { root } = await tempDirs();
    const apt = await fakeAptGet(root);
    const first = apt.start(root);
    let second: ResultPromise | undefined;
    try {
      expect(await until(async () => (await apt.readCalls()).length === 1)).toBe(true);
      second = apt.start(root);
      const said = output(second);
      // The second either waits for the first (it says so) or runs its own apt-get.
      expect(await until(async () => said().includes('WAITING') || (await apt.readCalls()).length > 1)).toBe(true);
      await apt.release();
      const [a, b] = await Promise.all([first, second]);
      expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
      expect(a.stdout).toContain('RESOLVED');
      expect(b.stdout).toContain('RESOLVED');
      expect(await apt.readCalls()).toHaveLength(1);
      const dir = path.join(root, 'downloads', 'debian-source');
      expect((await fs.readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGKILL');
      await apt.release();
    }
  }, 120_000);
});
