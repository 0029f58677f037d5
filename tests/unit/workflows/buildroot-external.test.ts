/**
 * The BR2_EXTERNAL tree: the lab's kernels start from allnoconfig, which Buildroot cannot ask for
 * (BR2_LINUX_KERNEL_DEFCONFIG is a `<name>_defconfig` target), so each defconfig points Buildroot at the
 * lab's own resolved kernel config of that target, and a target the lab has not built gets none.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTargets } from '../../../lab/catalog/targets.ts';
import { defconfigName, kernelConfigMatches, writeExternalTree } from '../../../lab/workflows/buildroot/external.ts';
import { repoRoot } from '../../../lab/util/paths.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-external-'));
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));
const targets = await loadTargets();
const LAB_CONFIG = 'CONFIG_MIPS=y\nCONFIG_INITRAMFS_SOURCE="/root/.cache/reprolab/work/x/initramfs.cpio"\nCONFIG_PAGE_SIZE_16KB=y\n';

describe('buildroot-external', () => {
  it('hands Buildroot the lab\'s resolved kernel config, not a defconfig name', async () => {
    const dir = path.join(tmp, 'one');
    const t = targets.find((x) => x.name === 'mips-malta16k-3.10-uclibc')!;
    const w = await writeExternalTree(dir, targets, { [t.name]: LAB_CONFIG });
    expect(w.defconfigs).toEqual([defconfigName(t)]);
    expect(w.unbuilt).toContain('arm-versatile-3.10-uclibc');
    const def = await fs.readFile(path.join(dir, 'configs', defconfigName(t)), 'utf8');
    expect(def).toContain('BR2_LINUX_KERNEL_USE_CUSTOM_CONFIG=y');
    expect(def).toContain(`BR2_LINUX_KERNEL_CUSTOM_CONFIG_FILE="$(BR2_EXTERNAL_REPROLAB_PATH)/board/reprolab/linux-3.10/${t.name}.config"`);
    expect(def).not.toMatch(/BR2_LINUX_KERNEL_DEFCONFIG|allno/);
    const cfg = await fs.readFile(path.join(dir, 'board/reprolab/linux-3.10', `${t.name}.config`), 'utf8');
    // Buildroot links its own rootfs in: the lab's work-dir path must not reach its build.
    expect(cfg).toBe('CONFIG_MIPS=y\nCONFIG_INITRAMFS_SOURCE=""\nCONFIG_PAGE_SIZE_16KB=y\n');
    expect((await fs.readdir(path.join(dir, 'board/reprolab/linux-3.10/patches'))).length).toBeGreaterThan(0);
  });

  it('refuses when no 3.10 uClibc target is built, naming the build command', async () => {
    await expect(writeExternalTree(path.join(tmp, 'none'), targets, {})).rejects.toThrow(/no uClibc \+ Linux 3\.10 target is built/);
  });

  it('takes a built config only when today\'s fragments give it', async () => {
    const t = targets.find((x) => x.name === 'mips-malta16k-3.10-uclibc')!;
    // A resolved config holding every line of the fragments (as olddefconfig leaves them) and the 16K page size.
    const lines = (await Promise.all(['common', 'malta'].map((f) => fs.readFile(path.join(repoRoot, 'kernels/3.10/boards', `${f}.config`), 'utf8'))))
      .join('\n')
      .split('\n')
      .filter((l) => /^CONFIG_\w+=/.test(l))
      .map((l) => l.replace(/^(CONFIG_\w+)=n$/, '# $1 is not set'));
    const resolved = [...lines, '# CONFIG_CPU_BIG_ENDIAN is not set', '# CONFIG_PAGE_SIZE_4KB is not set', 'CONFIG_PAGE_SIZE_16KB=y'].join('\n') + '\n';
    expect(await kernelConfigMatches(t, resolved)).toBe(true);
    // Built before the fragments changed (here: with 4K pages): refused, not copied.
    expect(await kernelConfigMatches(t, resolved.replace('CONFIG_PAGE_SIZE_16KB=y', 'CONFIG_PAGE_SIZE_4KB=y'))).toBe(false);
    expect(await kernelConfigMatches(t, resolved.replace(/^CONFIG_IPV6=y$/m, ''))).toBe(false);
  });
});
