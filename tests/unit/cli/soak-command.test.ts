import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { durationOption } from '../../../lab/cli/input.ts';
import { soakExitCode, soakOrError } from '../../../lab/cli/soak-command.ts';
import { soakTotals } from '../../../lab/workflows/soak/tally.ts';
import { UsageError } from '../../../lab/util/errors.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';

describe('a duration flag', () => {
  it('reads 90s, 5m, 2h and 1h30m as milliseconds', () => {
    expect(durationOption('--duration', '90s', 5, 3600)).toBe(90_000);
    expect(durationOption('--duration', '5m', 5, 3600)).toBe(300_000);
    expect(durationOption('--duration', '2h', 5, 7200)).toBe(7_200_000);
    expect(durationOption('--duration', '1h30m', 5, 7200)).toBe(5_400_000);
    expect(durationOption('--round', '5s', 5, 3600)).toBe(5_000);
  });

  it('refuses anything else with a usage error naming the flag and the form', () => {
    for (const bad of ['', '90', '5 m', '1.5h', '-5s', '5x', 's', '30s5m', '5M']) {
      expect(() => durationOption('--duration', bad, 5, 3600), bad).toThrow(UsageError);
      expect(() => durationOption('--duration', bad, 5, 3600), bad).toThrow(`--duration ${bad}: not a duration`);
    }
    expect(() => durationOption('--round', '4s', 5, 3600)).toThrow('--round 4s: out of range');
    expect(() => durationOption('--round', '2h', 5, 3600)).toThrow('--round 2h: out of range');
    const thrown = (() => {
      try {
        return durationOption('--round', '99999999999999999999h', 5, 3600);
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toMatchObject({ message: '--round 99999999999999999999h: out of range', fix: 'give --round whole hours, minutes and seconds from 5s to 1h, e.g. 90s, 5m, 2h or 1h30m' });
  });
});

describe('the exit code of a soak', () => {
  const totals = (hangs: number) => ({ ...soakTotals([]), dumps: 1000, hangs });
  it('is 0 without a hang, 1 with one (even when an ERROR ended the soak later), 3 when it could not measure', () => {
    expect(soakExitCode({ totals: totals(0) })).toBe(0);
    expect(soakExitCode({ totals: totals(2) })).toBe(1);
    expect(soakExitCode({ totals: totals(2), error: 'round 5: the churn did not take effect' })).toBe(1);
    expect(soakExitCode({ totals: totals(0), error: 'booting: no SSH answer' })).toBe(3);
  });

  it('is 3, never the hang code, when the soak\'s own files fail past the input checks; bad input stays a usage error', async () => {
    const failed = Object.assign(new Error("EEXIST: file already exists, open '/x/progress.jsonl'"), { code: 'EEXIST' });
    const o = await soakOrError(Promise.reject(failed), undefined);
    expect(o.error).toBe("the soak's files: EEXIST: file already exists, open '/x/progress.jsonl'");
    expect(o.totals.dumps).toBe(0);
    expect(soakExitCode(o)).toBe(3);
    await expect(soakOrError(Promise.reject(new UsageError('--resume: bad')), undefined)).rejects.toThrow(UsageError);
  });
});

/** `reprolab soak …` in an empty, offline cache: every case must end before anything builds. */
async function soak(args: string[], cache: string) {
  const env = { ...process.env, REPROLAB_CACHE: cache, REPROLAB_OFFLINE: '1', REPROLAB_MIRRORS: '' };
  const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), 'soak', ...args], { cwd: repoRoot, env, reject: false, timeout: 30_000, stdin: 'ignore' });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr.trim() };
}

const HEADER = { kind: 'reprolab-soak', schema: 1, scenario: 'dump-hang', target: 'arm-versatile-6.1-glibc', bundle: 'k', reader: 'legacy', started: '2026-12-06T10:00:00.000Z' };

describe('reprolab soak: bad input is exit 2, one line, no stack, before any build', () => {
  it('refuses a scenario whose judge does not soak, a bad duration or round, and an existing or missing soak', async () => {
    const { root } = await tempDirs();
    const cache = path.join(root, 'cache');
    const out = path.join(root, 'soak');
    await fs.mkdir(out);
    await fs.writeFile(path.join(out, 'progress.jsonl'), `${JSON.stringify(HEADER)}\n{"round":1,"startedAt":"2026-12-06T10:00:00.000Z","outcome":"PASS","dumps":"lots"}\n`);
    const base = ['--target', 'arm-versatile-6.1-glibc'];
    const cases: [string[], RegExp][] = [
      [['getifaddrs', ...base, '--duration', '90s'], /^reprolab: scenario getifaddrs cannot soak: its judge \(the getifaddrs judge\) does not count dumps and hangs in a time budget \(soak one of: dump-hang\)$/],
      [['dump-hang', ...base, '--duration', '90'], /^reprolab: --duration 90: not a duration \(give --duration whole hours/],
      [['dump-hang', ...base, '--duration', '90s', '--round', '1s'], /^reprolab: --round 1s: out of range/],
      [['dump-hang', ...base, '--duration', '90s', '--out', out], /^reprolab: .*progress\.jsonl exists: a soak was already started in .* \(pass --resume to continue it, or --out DIR for a new soak\)$/],
      [['dump-hang', ...base, '--duration', '90s', '--out', path.join(root, 'none'), '--resume'], /^reprolab: --resume: there is no soak to resume in /],
      [['dump-hang', ...base, '--duration', '90s', '--out', path.join(out, 'progress.jsonl', 'x')], /^reprolab: --out .*progress\.jsonl\/x: .*\/soak\/progress\.jsonl is a file, not a directory \(give --out a directory path\)$/],
      [['dump-hang', ...base, '--duration', '90s', '--out', out, '--resume'], /^reprolab: .*progress\.jsonl:2: dumps must be an integer from 0 to \d+ \(got "lots"\) \(restore .*progress\.jsonl as the soak wrote it, or soak into another --out\)$/],
      [['dump-hang', '--target', 'mips-malta-3.10-uclibc', '--duration', '90s', '--out', out, '--resume'], /^reprolab: --resume: .*progress\.jsonl: the header's target is arm-versatile-6\.1-glibc, not mips-malta-3\.10-uclibc/],
    ];
    // The header is checked before the rounds: a fresh file with only a header for the target-mismatch case.
    const results = [];
    for (const [i, [args, want]] of cases.entries()) {
      if (i === cases.length - 1) await fs.writeFile(path.join(out, 'progress.jsonl'), `${JSON.stringify(HEADER)}\n`);
      results.push({ args: args.join(' '), want, ...(await soak(args, cache)) });
    }
    for (const r of results) {
      expect(r.code, r.args).toBe(2);
      expect(r.stderr, r.args).toMatch(r.want);
      expect(r.stderr.split('\n'), r.args).toHaveLength(1);
      expect(r.stdout, r.args).toBe('');
    }
    // Nothing was built, booted or written.
    await expect(fs.stat(path.join(cache, 'store'))).rejects.toThrow(/ENOENT/);
    expect(await fs.readdir(out)).toEqual(['progress.jsonl']);
  }, 120_000);
});
