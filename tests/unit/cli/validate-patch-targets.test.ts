import { describe, expect, it } from 'vitest';
import { refuseOtherLibcs } from '../../../lab/cli/scenario-commands.ts';
import { loadTargets } from '../../../lab/catalog/targets.ts';
import { type Target } from '../../../lab/model/target.ts';

const builtins = await loadTargets();
const armUclibc = builtins.find((t) => t.name === 'arm-versatile-3.10-uclibc')!;
const product: Target = { ...armUclibc, name: 'product-ng', libc: { kind: 'uclibc-ng', variants: ['product'] }, default: false, imported: { from: '/out', bundleDir: '/b', like: armUclibc.name } };

describe('validate-patch and a named target of another libc', () => {
  it('says the target libc and why, instead of "unknown target"', () => {
    expect(() => refuseOtherLibcs([...builtins, product], ['arm-versatile-3.10-uclibc', 'product-ng'], 'uclibc-0.9.33.2')).toThrow(
      "--targets product-ng: its libc is uclibc-ng, and validate-patch --libc uclibc-0.9.33.2 builds uClibc 0.9.33.2 with your patches to compare with the target's own uClibc 0.9.33.x",
    );
    expect(() => refuseOtherLibcs([...builtins, product], ['product-ng'], 'uclibc-0.9.33.2')).toThrow(expect.objectContaining({ fix: 'validate it with --libc uclibc-ng' }));
    expect(() => refuseOtherLibcs(builtins, ['arm-versatile-6.1-glibc'], 'uclibc-0.9.33.2')).toThrow(/its libc is glibc/);
  });
  it('--libc uclibc-ng takes uClibc-ng products and sends a built-in uClibc target to --libc uclibc-0.9.33.2', () => {
    expect(() => refuseOtherLibcs([...builtins, product], ['product-ng'], 'uclibc-ng')).not.toThrow();
    expect(() => refuseOtherLibcs([...builtins, product], ['product-ng', 'arm-versatile-3.10-uclibc'], 'uclibc-ng')).toThrow(
      "--targets arm-versatile-3.10-uclibc: its libc is uclibc, and validate-patch --libc uclibc-ng builds uClibc-ng at the product's own release with your patches, to compare with the uClibc-ng it ships",
    );
    expect(() => refuseOtherLibcs([...builtins, product], ['arm-versatile-3.10-uclibc'], 'uclibc-ng')).toThrow(expect.objectContaining({ fix: 'validate it with --libc uclibc-0.9.33.2' }));
  });
  it('lets uClibc targets and names it does not know through (selectTargets names those)', () => {
    expect(() => refuseOtherLibcs([...builtins, product], ['arm-versatile-3.10-uclibc', 'no-such-target'], 'uclibc-0.9.33.2')).not.toThrow();
  });
});
