/**
 * The kernel of a target that links its rootfs in compiles before that rootfs exists, against an
 * empty archive, so it overlaps the libc builds. The placeholder must be an archive the kernel's
 * initramfs tools accept, and a kernel whose image is in the store already must not compile again
 * just because its build directory was removed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMPTY_CPIO } from '../../../lab/bundle/kernel.ts';
import { hasEntryWhere, storeEntry } from '../../../lab/store/store.ts';
import { tempDirs } from '../../helpers.ts';

describe('compiling a built-in-rootfs kernel ahead of its rootfs', () => {
  it('uses an empty newc archive that cpio reads without complaint', async () => {
    const { root } = await tempDirs();
    const file = path.join(root, 'empty.cpio');
    await fs.writeFile(file, EMPTY_CPIO);
    expect(EMPTY_CPIO.length % 4).toBe(0);
    const listed = execFileSync('cpio', ['-it', '--quiet', '-F', file, '-H', 'newc'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(listed).toBe('');
  });

  it('finds a complete store entry by one of its inputs, and only a complete one', async () => {
    const { dirs } = await tempDirs();
    expect(await hasEntryWhere(dirs.store, 'kernel', () => true)).toBe(false);
    await storeEntry(dirs.store, 'kernel', { compileKey: 'abc', initramfs: 'r1' }, async (out) => fs.writeFile(path.join(out, 'vmlinux'), 'x'));
    expect(await hasEntryWhere(dirs.store, 'kernel', (i) => i.compileKey === 'abc')).toBe(true);
    expect(await hasEntryWhere(dirs.store, 'kernel', (i) => i.compileKey === 'other')).toBe(false);
    const half = path.join(dirs.store, 'kernel', 'half');
    await fs.mkdir(half, { recursive: true });
    await fs.writeFile(path.join(half, '.inputs.json'), JSON.stringify({ step: 'kernel', inputs: { compileKey: 'half' } }));
    expect(await hasEntryWhere(dirs.store, 'kernel', (i) => i.compileKey === 'half')).toBe(false);
  });
});
