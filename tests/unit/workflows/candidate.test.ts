import { describe, expect, it } from 'vitest';
import { loadTargets } from '../../../lab/catalog/targets.ts';
import { mustBeCandidateLibc, ngRelease } from '../../../lab/workflows/candidate.ts';
import { UsageError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

const target = (await loadTargets()).find((t) => t.name === 'arm-versatile-3.10-uclibc')!;

describe("validate-patch's candidate on a product: the product's libc must be the one --libc builds", () => {
  it("uClibc-ng products for --libc uclibc-ng (its release number becomes a tag), uClibc 0.9.33.x for uclibc-0.9.33.2", () => {
    expect(() => mustBeCandidateLibc(target, { kind: 'uclibc-ng', version: '1.0.42' }, 'uclibc-ng')).not.toThrow();
    expect(() => mustBeCandidateLibc(target, { kind: 'uclibc', version: '0.9.33.2' }, 'uclibc-0.9.33.2')).not.toThrow();
    expect(() => mustBeCandidateLibc(target, { kind: 'uclibc-ng', version: '1.0.42' }, 'uclibc-0.9.33.2')).toThrow(/its libc is uclibc-ng 1\.0\.42; validate-patch --libc uclibc-0\.9\.33\.2 builds uClibc 0\.9\.33\.2/);
    expect(() => mustBeCandidateLibc(target, { kind: 'uclibc', version: '0.9.33.2' }, 'uclibc-ng')).toThrow(/its libc is uclibc 0\.9\.33\.2; validate-patch --libc uclibc-ng builds uClibc-ng at the product's own release/);
  });

  it("refuses a release number read from the output that is not MAJOR.MINOR.PATCH: it would name a git revision", () => {
    for (const version of ['1.0.42-rc1', '1.0', 'HEAD', '1.0.42^{tree}', '--upload-pack=x', '1.0.42 ', '']) {
      expect(() => mustBeCandidateLibc(target, { kind: 'uclibc-ng', version }, 'uclibc-ng'), version).toThrow(/validate-patch --libc uclibc-ng builds/);
    }
  });
});

describe("the uClibc-ng release validate-patch builds for a product", () => {
  it('a missing clone is a usage error that says where to put one; a release number that is not MAJOR.MINOR.PATCH names no tag', async () => {
    const { root, dirs } = await tempDirs();
    const saved = process.env.REPROLAB_UCLIBC_NG_REPO;
    delete process.env.REPROLAB_UCLIBC_NG_REPO;
    try {
      const err = await ngRelease(target, '1.0.42', dirs).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect(err).toMatchObject({ message: expect.stringMatching(/builds arm-versatile-3\.10-uclibc's release v1\.0\.42 from a uClibc-ng clone .* no such directory/), fix: expect.stringContaining(`git clone https://github.com/wbx-github/uclibc-ng ${root}`) });
      await expect(ngRelease(target, '1.0.42 --all', dirs)).rejects.toThrow(/release "1\.0\.42 --all" is not MAJOR\.MINOR\.PATCH/);
    } finally {
      if (saved !== undefined) process.env.REPROLAB_UCLIBC_NG_REPO = saved;
    }
  });
});
