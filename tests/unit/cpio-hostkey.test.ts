import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { writeCpio } from '../../lab/build/cpio.ts';
import { hostKeyFromSeed } from '../../lab/build/hostkey.ts';
import { tempDirs } from '../helpers.ts';

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

  it('is deterministic', () => {
    const entries = [{ kind: 'file' as const, path: '/a', mode: 0o644, data: Buffer.from('x') }];
    expect(writeCpio(entries).equals(writeCpio(entries))).toBe(true);
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
