/**
 * run.sh runs at a vendor on a pack that may have been tampered with on its way. It must check the
 * pack before QEMU starts (every file listed with its digest, manifest.json too, nothing else, no
 * symbolic link, even without sha256sum) and write only into a fresh run directory of its own.
 * QEMU here is a stand-in that records that it started: nothing boots.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTree, makeCell, packCli, removeCells, type Cell } from './repro-fixture.ts';

/** What run.sh may use besides QEMU (docs/packs.md lists them); the digest tools are added per test. */
const TOOLS = ['sh', 'awk', 'sed', 'grep', 'tr', 'cat', 'mkdir', 'mkfifo', 'sleep', 'rm', 'dirname'];

let cell: Cell;
let tarball = '';
let packOut = '';
let n = 0;

async function which(tool: string): Promise<string | undefined> {
  const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

beforeAll(async () => {
  cell = await makeCell();
  tarball = path.join(cell.root, 'pack.tar.gz');
  const r = await packCli(cell, tarball);
  expect(r.exitCode, r.stderr).toBe(0);
  packOut = r.stdout;
}, 60_000);
afterAll(removeCells);

/** A fresh copy of the pack, unpacked into its own folder; returns the pack directory and a QEMU marker path. */
async function unpack(): Promise<{ top: string; dir: string; mark: string }> {
  n += 1;
  const top = path.join(cell.root, `unpacked-${n}`);
  await fs.mkdir(top);
  await execa('tar', ['-xzf', tarball, '-C', top]);
  return { top, dir: path.join(top, 'repro-fake-target-if-nameindex'), mark: path.join(top, 'qemu-started') };
}

/** Runs run.sh with a PATH of only the shell's utilities, `sums` (digest tools) and a stand-in QEMU. */
async function runSh(p: { top: string; dir: string; mark: string }, sums: string[] = ['sha256sum']) {
  const bin = path.join(p.top, 'bin');
  await fs.mkdir(bin);
  for (const t of [...TOOLS, ...sums]) {
    const where = await which(t);
    if (where) await fs.symlink(where, path.join(bin, t));
  }
  // Records that it started, prints a line to the console and exits: the guest never boots.
  await fs.writeFile(path.join(bin, 'qemu-system-arm'), `#!/bin/sh\necho started > '${p.mark}'\necho FAKE-QEMU-CONSOLE\n`, { mode: 0o755 });
  const sh = (await which('sh'))!;
  const r = await execa(sh, ['run.sh'], { cwd: p.dir, reject: false, extendEnv: false, env: { PATH: bin, HOME: p.top, REPRO_BOOT_TIMEOUT: '20' } });
  const started = await fs.access(p.mark).then(() => true, () => false);
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}`, started };
}

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** Rewrites a file of the pack and its line in SHA256SUMS, as someone who tampers with care would. */
async function reseal(dir: string, rel: string, text: string): Promise<void> {
  await fs.writeFile(path.join(dir, rel), text);
  const sums = await fs.readFile(path.join(dir, 'SHA256SUMS'), 'utf8');
  await fs.writeFile(path.join(dir, 'SHA256SUMS'), sums.replace(new RegExp(`^[0-9a-f]{64}  ${rel.replace(/\./g, '\\.')}$`, 'm'), `${sha(text)}  ${rel}`));
}

describe('repro pack prints the sha256 of the tar.gz for the receiver to check', () => {
  it('prints it, and it is the digest of the file written', async () => {
    expect(packOut).toContain(`sha256 ${sha(await fs.readFile(tarball))}`);
  });
});

describe('run.sh checks the pack before QEMU starts and writes only into a fresh run directory', { timeout: 60_000 }, () => {
  it('an untouched pack passes, QEMU starts, the console goes to <pack>-run1 and the pack is left as it was', async () => {
    const p = await unpack();
    const before = await listTree(p.dir);
    const r = await runSh(p);
    expect(r.started, r.out).toBe(true);
    expect(r.code, r.out).toBe(2); // the stand-in never boots
    expect(r.out).toContain('the guest did not boot');
    expect(await listTree(p.dir)).toEqual(before);
    expect(await fs.readFile(path.join(`${p.dir}-run1`, 'console.log'), 'utf8')).toContain('FAKE-QEMU-CONSOLE');
  });

  it('a second run does not reuse the first run directory, nor one planted as a link', async () => {
    const p = await unpack();
    await fs.mkdir(path.join(p.top, 'elsewhere'));
    await fs.symlink(path.join(p.top, 'elsewhere'), `${p.dir}-run1`);
    const r = await runSh(p);
    expect(r.started, r.out).toBe(true);
    expect(await fs.readdir(path.join(p.top, 'elsewhere'))).toEqual([]);
    expect(await fs.readFile(path.join(`${p.dir}-run2`, 'console.log'), 'utf8')).toContain('FAKE-QEMU-CONSOLE');
  });

  const refusals: [string, (dir: string, top: string) => Promise<void>, RegExp][] = [
    ['a file that is not in the pack', (dir) => fs.writeFile(path.join(dir, 'extra.sh'), 'echo hi\n'), /extra\.sh is not one of the pack's files/],
    ['a hidden file', (dir) => fs.writeFile(path.join(dir, 'images', '.x'), ''), /images\/\.x is not one of the pack's files/],
    ['console.log planted as a link to a file of the vendor', async (dir, top) => {
      await fs.writeFile(path.join(top, 'victim'), 'keep me\n');
      await fs.symlink(path.join(top, 'victim'), path.join(dir, 'console.log'));
    }, /console\.log is a symbolic link/],
    ['a listed file replaced by a link to the same bytes', async (dir, top) => {
      await fs.rename(path.join(dir, 'guest.sh'), path.join(top, 'guest.sh'));
      await fs.symlink(path.join(top, 'guest.sh'), path.join(dir, 'guest.sh'));
    }, /guest\.sh is a symbolic link/],
    ['a file changed', (dir) => fs.appendFile(path.join(dir, 'guest.sh'), 'rm -rf /\n'), /guest\.sh does not match its sha256/],
    ['manifest.json changed', async (dir) => {
      const m = path.join(dir, 'manifest.json');
      await fs.writeFile(m, (await fs.readFile(m, 'utf8')).replace('"verdict": "CONFIRMED"', '"verdict": "NOT_REPRODUCED"'));
    }, /manifest\.json does not match its sha256/],
    ["manifest.json's list and SHA256SUMS disagree (both resealed)", async (dir) => {
      const m = await fs.readFile(path.join(dir, 'manifest.json'), 'utf8');
      await reseal(dir, 'manifest.json', m.replace(/("path": "guest\.sh",\s*"sha256": ")[0-9a-f]{64}/, `$1${'0'.repeat(64)}`));
    }, /manifest\.json and SHA256SUMS do not list the same files/],
    ['a listed file missing', (dir) => fs.rm(path.join(dir, 'README.md')), /README\.md is listed in SHA256SUMS but missing/],
    ['a file dropped from SHA256SUMS', async (dir) => {
      const s = path.join(dir, 'SHA256SUMS');
      await fs.writeFile(s, (await fs.readFile(s, 'utf8')).replace(/^.*  README\.md\n/m, ''));
    }, /README\.md is not one of the pack's files/],
    ['a SHA256SUMS line naming a path outside', async (dir) => {
      await fs.appendFile(path.join(dir, 'SHA256SUMS'), `${'0'.repeat(64)}  ../victim\n`);
    }, /SHA256SUMS has a line that is not a digest and a file of the pack/],
  ];
  for (const [what, tamper, message] of refusals) {
    it(`refuses ${what}, before QEMU starts, exit 2`, async () => {
      const p = await unpack();
      await tamper(p.dir, p.top);
      const r = await runSh(p);
      expect(r.out).toMatch(message);
      expect(r.code, r.out).toBe(2);
      expect(r.started, r.out).toBe(false);
      const victim = await fs.readFile(path.join(p.top, 'victim'), 'utf8').catch(() => undefined);
      if (victim !== undefined) expect(victim).toBe('keep me\n');
      await expect(fs.access(`${p.dir}-run1`)).rejects.toThrow();
    });
  }

  it('without sha256sum, shasum or openssl it refuses to run unchecked', async () => {
    const p = await unpack();
    const r = await runSh(p, []);
    expect(r.out).toMatch(/cannot check the pack's files: none of sha256sum, shasum or openssl/);
    expect(r.code).toBe(2);
    expect(r.started).toBe(false);
  });

  for (const tool of ['shasum', 'openssl']) {
    it(`without sha256sum it checks with ${tool}: a sound pack runs, a changed file is refused`, async (ctx) => {
      if (!(await which(tool))) ctx.skip();
      const good = await unpack();
      expect((await runSh(good, [tool])).started).toBe(true);
      const bad = await unpack();
      await fs.appendFile(path.join(bad.dir, 'guest.sh'), '\n');
      const r = await runSh(bad, [tool]);
      expect(r.out).toMatch(/guest\.sh does not match its sha256/);
      expect(r.started).toBe(false);
    });
  }
});
