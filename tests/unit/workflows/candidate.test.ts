import { describe, expect, it } from 'vitest';
import { loadTargets } from '../../../lab/catalog/targets.ts';
import { mustBeCandidateLibc, ngRelease, patchesOnTopOf } from '../../../lab/workflows/candidate.ts';
import { buildFailureFinding } from '../../../lab/workflows/validate-patch.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { execa } from 'execa';
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

describe('a build with patches on top of one without', () => {
  const patch = { file: '/p/fix.patch', sha256: 'a'.repeat(64) };
  it("fails as the lab's ERROR when the release does not build without the patches, whatever the build's own kind", async () => {
    const calls: number[] = [];
    const err = await patchesOnTopOf(async (p) => {
      calls.push(p.length);
      throw new LabError('make failed', { kind: 'command' });
    }, [patch], "product-x's uClibc-ng (v1.0.42 with /o/.config)").then(() => undefined, (e: unknown) => e);
    expect(calls).toEqual([0]);
    expect(err).toMatchObject({ kind: 'lab', message: expect.stringMatching(/^the lab cannot build product-x's uClibc-ng \(v1\.0\.42 with \/o\/\.config\), without your patches: make failed/) });
    expect(buildFailureFinding(err)).toBe('ERROR');
  });

  it("a failure only with the patches is theirs: DOES_NOT_BUILD or DOES_NOT_APPLY", async () => {
    for (const [kind, finding] of [['command', 'DOES_NOT_BUILD'], ['config', 'DOES_NOT_BUILD'], ['patch', 'DOES_NOT_APPLY']] as const) {
      const err = await patchesOnTopOf(async (p) => {
        if (p.length) throw new LabError('with the patch', { kind });
        return 'built';
      }, [patch], 'x').then(() => undefined, (e: unknown) => e);
      expect(buildFailureFinding(err), kind).toBe(finding);
    }
    expect(await patchesOnTopOf(async (p) => p.length, [patch], 'x')).toBe(1);
  });
});

describe('a clone without the release tag', () => {
  it('is a usage error saying to fetch the tags', async () => {
    const { root, dirs } = await tempDirs();
    const repo = `${root}/clone`;
    await execa('git', ['init', '-q', repo]);
    await execa('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'x']);
    const saved = process.env.REPROLAB_UCLIBC_NG_REPO;
    process.env.REPROLAB_UCLIBC_NG_REPO = repo;
    try {
      const err = await ngRelease(target, '1.0.42', dirs).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect(err).toMatchObject({ message: expect.stringMatching(/its release tag v1\.0\.42: no such commit in /), fix: expect.stringContaining('git -C CLONE fetch --tags') });
    } finally {
      if (saved === undefined) delete process.env.REPROLAB_UCLIBC_NG_REPO;
      else process.env.REPROLAB_UCLIBC_NG_REPO = saved;
    }
  });
});
