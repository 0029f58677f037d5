import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readCpio, writeCpio } from '../../../lab/formats/cpio.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { hostKeyFromSeed } from '../../../lab/formats/hostkey.ts';
import { tempDirs } from '../../helpers.ts';

describe('initramfs cpio writer', () => {
  it('writes an archive GNU cpio lists and extracts, device nodes included', async () => {
    const { root } = await tempDirs();
    const archive = writeCpio([
      { kind: 'file', path: '/init', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
      { kind: 'dir', path: '/bin', mode: 0o755 },
      { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
      { kind: 'dir', path: '/dev', mode: 0o755 },
      { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
      { kind: 'file', path: '/etc/odd', mode: 0o644, data: Buffer.from('abc') },
    ]);
    const file = path.join(root, 'r.cpio');
    await fs.writeFile(file, archive);
    const list = await execa('cpio', ['-itv', '-F', file]);
    expect(list.stdout).toMatch(/crw-------.*5,\s+1.*dev\/console/);
    expect(list.stdout).toMatch(/lrwxrwxrwx.*bin\/sh -> busybox/);
    expect(list.stdout).toMatch(/-rwxr-xr-x.*init/);
    const out = path.join(root, 'x');
    await fs.mkdir(out);
    await execa('cpio', ['-id', '--no-absolute-filenames', '-F', file], { cwd: out, reject: false });
    expect(await fs.readFile(path.join(out, 'etc/odd'), 'utf8')).toBe('abc');
  });

  it('is deterministic: the bytes depend on the entries only, not on the time or the process', async () => {
    const entries = [{ kind: 'file' as const, path: '/a', mode: 0o644, data: Buffer.from('x') }];
    const here = createHash('sha256').update(writeCpio(entries)).digest('hex');
    // Another process, a second later (mtime, inode numbers or the clock must not leak in).
    await new Promise((r) => setTimeout(r, 1100));
    const script = `import { writeCpio } from ${JSON.stringify(path.join(repoRoot, 'lab/formats/cpio.ts'))}; import { createHash } from 'node:crypto'; process.stdout.write(createHash('sha256').update(writeCpio(${JSON.stringify([{ kind: 'file', path: '/a', mode: 0o644 }])}.map((e) => ({ ...e, data: Buffer.from('x') })))).digest('hex'));`;
    const other = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
    expect(other.stdout).toBe(here);
  });

  it('refuses a truncated archive instead of returning a short file', () => {
    const whole = writeCpio([{ kind: 'file', path: '/big', mode: 0o644, data: Buffer.alloc(5000, 7) }]);
    expect(readCpio(whole).entries).toHaveLength(1);
    for (const cut of [200, 3000, whole.length - 130]) expect(() => readCpio(whole.subarray(0, cut))).toThrow(/truncated cpio archive/);
  });
});

describe('dropbear host key', () => {
  it('derives the same key from the same seed and a different one from another', () => {
    const a = hostKeyFromSeed(Buffer.alloc(32, 1));
    expect(hostKeyFromSeed(Buffer.alloc(32, 1)).publicLine).toBe(a.publicLine);
    expect(hostKeyFromSeed(Buffer.alloc(32, 2)).publicLine).not.toBe(a.publicLine);
    expect(a.publicLine).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}=?$/);
  });

  it("stores seed and public key in dropbear's layout", () => {
    const seed = Buffer.alloc(32, 9);
    const k = hostKeyFromSeed(seed);
    expect(k.dropbear.readUInt32BE(0)).toBe(11);
    expect(k.dropbear.subarray(4, 15).toString()).toBe('ssh-ed25519');
    expect(k.dropbear.readUInt32BE(15)).toBe(64);
    expect(k.dropbear.subarray(19, 51).equals(seed)).toBe(true);
    const pub = Buffer.from(k.publicLine.split(' ')[1]!, 'base64').subarray(19);
    expect(k.dropbear.subarray(51).equals(pub)).toBe(true);
  });
});
