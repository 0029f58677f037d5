import { describe, expect, it } from 'vitest';
import { loadTargets, parseTarget, selectTargets } from '../../../lab/catalog/targets.ts';
import { LabError } from '../../../lab/util/errors.ts';

const good = {
  name: 'arm-x',
  description: 'test',
  arch: 'arm',
  qemu: { binary: 'qemu-system-arm', machine: 'versatilepb', cpu: 'arm926', memoryMiB: 256, nic: 'smc91c111', usb: 'pci-ohci' },
  kernel: { line: '3.10', board: 'versatile', pageSizeKiB: 4, initramfs: 'external', cmdline: 'console=ttyAMA0' },
  libc: { kind: 'uclibc', variants: ['unpatched', 'patched'] },
};

function errorOf(fn: () => unknown): LabError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    return err as LabError;
  }
  throw new Error('expected an error');
}

describe('target catalog', () => {
  it('loads the six required targets with exactly their names', async () => {
    const names = (await loadTargets()).map((t) => t.name).sort();
    expect(names).toEqual([
      'arm-versatile-3.10-uclibc',
      'arm-versatile-6.1-glibc',
      'mips-malta-3.10-uclibc',
      'mips-malta16k-3.10-uclibc',
      'mips-malta16k-6.1-glibc',
      'mips-maltabe-3.10-uclibc',
    ]);
  });

  it('accepts a well-formed target', () => {
    const t = parseTarget('images/targets/arm-x.json', JSON.stringify(good));
    expect(t.kernel.pageSizeKiB).toBe(4);
    expect(t.libc.variants).toEqual(['unpatched', 'patched']);
    expect(t.default).toBe(true);
  });

  it('names the file and the field of a bad value', () => {
    const bad = { ...good, kernel: { ...good.kernel, pageSizeKiB: 8 } };
    const e = errorOf(() => parseTarget('images/targets/arm-x.json', JSON.stringify(bad)));
    expect(e.message).toContain('images/targets/arm-x.json');
    expect(e.message).toContain('kernel.pageSizeKiB');
    expect(e.message).toContain('4, 16');
    expect(e.fix).toContain('kernel.pageSizeKiB');
  });

  it('names a missing field', () => {
    const { qemu, ...rest } = good;
    void qemu;
    const e = errorOf(() => parseTarget('images/targets/arm-x.json', JSON.stringify(rest)));
    expect(e.message).toMatch(/arm-x\.json: qemu must be an object \(missing\)/);
  });

  it('rejects unknown fields so typos do not pass silently', () => {
    const e = errorOf(() => parseTarget('images/targets/arm-x.json', JSON.stringify({ ...good, kernal: {} })));
    expect(e.message).toContain('kernal');
    expect(e.message).toContain('unknown field');
  });

  it('requires the file name to match the target name', () => {
    const e = errorOf(() => parseTarget('images/targets/other.json', JSON.stringify(good)));
    expect(e.message).toContain('name');
    expect(e.fix).toContain('other');
  });

  it('reports broken JSON with the file name', () => {
    const e = errorOf(() => parseTarget('images/targets/arm-x.json', '{"name": '));
    expect(e.message).toContain('images/targets/arm-x.json: not valid JSON');
  });

  it('requires an unpatched uClibc variant', () => {
    const bad = { ...good, libc: { kind: 'uclibc', variants: ['patched'] } };
    expect(errorOf(() => parseTarget('images/targets/arm-x.json', JSON.stringify(bad))).message).toContain('libc.variants');
  });

  it('lets a variant name a uClibc-ng revision, never the baseline and never one that is not a variant', () => {
    const ng = { ...good, libc: { kind: 'uclibc', variants: ['unpatched', 'ng-1.0.57'], uclibcNg: { 'ng-1.0.57': 'v1.0.57' } } };
    expect(parseTarget('images/targets/arm-x.json', JSON.stringify(ng)).libc).toEqual({ kind: 'uclibc', variants: ['unpatched', 'ng-1.0.57'], uclibcNg: { 'ng-1.0.57': 'v1.0.57' } });
    const notVariant = { ...good, libc: { kind: 'uclibc', variants: ['unpatched'], uclibcNg: { 'ng-1.0.57': 'v1.0.57' } } };
    expect(errorOf(() => parseTarget('images/targets/arm-x.json', JSON.stringify(notVariant))).message).toBe('images/targets/arm-x.json: libc.uclibcNg.ng-1.0.57 must be one of libc.variants (unpatched) (got "ng-1.0.57")');
    const baseline = { ...good, libc: { kind: 'uclibc', variants: ['unpatched'], uclibcNg: { unpatched: 'v1.0.57' } } };
    expect(errorOf(() => parseTarget('images/targets/arm-x.json', JSON.stringify(baseline))).message).toContain('libc.uclibcNg.unpatched must be absent');
  });

  it('lists known targets when a name is unknown', async () => {
    const all = await loadTargets();
    const e = errorOf(() => selectTargets(all, ['arm-nope']));
    expect(e.fix).toContain('mips-malta-3.10-uclibc');
  });
});
