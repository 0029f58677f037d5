import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../../lab/cli/main.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';

/*
 * Every option of every command that takes a value, given a bad one, must give
 * exit code 2 and one line on stderr that names the option — before any build
 * or boot starts (the cache is empty and offline, so a late check times out).
 * A new option without an entry in BAD fails the walk: decide its bad value.
 */

let tmp = '';
let aFile = '';
let aPatch = '';
let aMatrix = '';
let aRepo = '';

/** A bad value per option (by "command --flag", or "--flag" for every command). */
const BAD = (): Record<string, string> => ({
  '--cache-dir': `${aFile}/sub`,
  '--downloads-dir': `${aFile}/sub`,
  '--source': 'no-equals-sign',
  '--mirror': 'ftp://mirror.invalid',
  '--variant': 'no-such-variant',
  // Paths through a file (ENOTDIR), the hardest kind of missing.
  '--patch': `${aFile}/no-such.patch`,
  '--timeout': '0',
  '--timeout-multiplier': '0',
  '--interfaces': '-1',
  'fabric --kinds': 'no-such-kind',
  '--usb-burst': 'bogus',
  'fabric --sockets': 'tcp:many',
  '--uevents': '-1',
  '--target': 'no-such-target',
  '--targets': 'no-such-target',
  '--repeat': '-1',
  '--out': `${aFile}/sub`,
  '--burst': 'bogus',
  '--trigger': '-1',
  '--delay-us': '-1',
  '--sockets': '0',
  '--buffer': '1',
  '--iterations': '0',
  '--budget-ms': '5',
  'sweep --interfaces': '5..1',
  'sweep --burst': 'x',
  'sweep --sockets': '9..2',
  '--burst-shape': 'bogus',
  '--libc': 'no-such-libc',
  '--scenarios': 'no-such-scenario',
  '--jobs': '0',
  '--shard': '3/2',
  '--compare': `${aFile}/matrix.json`,
  '--sweep': 'dump-hang:1..2',
  '--keep-runs': '-1',
  '--runs': `${aFile}/sub`,
  '--max-age-days': '0',
  '--board': 'no-such-board',
  '--name': 'bad name!',
  '--like': 'no-such-target',
  '--buildroot': `${aFile}/buildroot`,
  '--libc-repo': `${aFile}/sub`,
  '--scenario-dir': `${aFile}/sub`,
  'repro pack --output': `${aFile}/sub/repro.tar.gz`,
  'report kcidb --output': `${aFile}/sub/kcidb.json`,
  '--origin': 'Not-An-Origin',
  '--old': 'no-such-rev',
  '--new': 'no-such-rev',
  '--good': 'no-such-rev',
  '--bad': 'no-such-rev',
  '--device-type': 'bad type!',
  '--artifacts-url': 'ftp://farm.invalid/artifacts',
  '--kernel-url': 'not a url',
  '--dtb-url': 'gopher://farm.invalid/x.dtb',
  'lava results --target': 'bad name!',
  '--job': `${aFile}/sub/job.yaml`,
  '--duration': '90',
  '--round': '1s',
});

/** Valid positional arguments (and required options) per command, so only the option under test is wrong. */
const BASE = (): Record<string, string[]> => ({
  targets: [],
  build: ['arm-versatile-6.1-glibc'],
  exec: ['arm-versatile-6.1-glibc', 'true'],
  fabric: ['arm-versatile-6.1-glibc'],
  run: ['getifaddrs', '--target', 'arm-versatile-6.1-glibc'],
  sweep: ['getifaddrs', '--target', 'arm-versatile-6.1-glibc', '--interfaces', '0..1'],
  'validate-patch': [aPatch, '--libc', 'uclibc-0.9.33.2'],
  matrix: ['--targets', 'arm-versatile-6.1-glibc'],
  'report merge': [aMatrix, '--out', path.join(tmp, 'merged')],
  'report html': [aMatrix],
  'report kcidb': [aMatrix],
  'report prune': [],
  'report history': [],
  'import-buildroot': [tmp, '--board', 'malta'],
  'buildroot-external': [path.join(tmp, 'external')],
  bisect: ['getifaddrs', '--target', 'mips-malta16k-3.10-uclibc', '--libc-repo', aRepo, '--old', 'v1', '--new', 'v2'],
  'repro pack': [tmp],
  'lava export': ['arm-versatile-6.1-glibc', '--out', path.join(tmp, 'lava')],
  'lava run': ['arm-versatile-6.1-glibc'],
  'lava results': [aFile, '--target', 'arm-versatile-6.1-glibc'],
  soak: ['dump-hang', '--target', 'arm-versatile-6.1-glibc', '--duration', '90s'],
});

interface Case {
  name: string;
  flag: string;
  argv: string[];
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

function cases(): Case[] {
  const bad = BAD();
  const base = BASE();
  const out: Case[] = [];
  const missing: string[] = [];
  const program = buildProgram();
  const pick = (cmd: string, o: Option) => bad[`${cmd} ${o.long}`] ?? bad[o.long!];
  for (const o of program.options.filter(takesValue)) {
    const v = pick('', o);
    if (v === undefined) missing.push(o.long!);
    else out.push({ name: `${o.long} ${v} (global)`, flag: o.long!, argv: [o.long!, v, 'targets'] });
  }
  const walk = (c: Command, parents: string[]) => {
    for (const sub of c.commands) {
      const cmd = [...parents, sub.name()].join(' ');
      for (const o of sub.options.filter(takesValue)) {
        const v = pick(cmd, o);
        if (v === undefined) missing.push(`${cmd} ${o.long}`);
        else if (!base[cmd]) missing.push(`${cmd} (no BASE arguments)`);
        else out.push({ name: `${cmd} ${o.long} ${v}`, flag: o.long!, argv: [...cmd.split(' '), ...base[cmd]!, o.long!, v] });
      }
      walk(sub, [...parents, sub.name()]);
    }
  };
  walk(program, []);
  expect(missing, 'options without a bad value in BAD').toEqual([]);
  return out;
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

describe('bad input gets one clear line and exit code 2, never a stack trace', () => {
  beforeAll(async () => {
    ({ root: tmp } = await tempDirs());
    aFile = path.join(tmp, 'a-file');
    await fs.writeFile(aFile, 'x');
    aPatch = path.join(tmp, 'fix.patch');
    await fs.writeFile(aPatch, '--- a/x\n+++ b/x\n');
    // A two-release git repository, so only the option under test is wrong in a bisect.
    aRepo = path.join(tmp, 'libc-repo');
    await fs.mkdir(aRepo);
    const git = (...a: string[]) => execa('git', ['-C', aRepo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a]);
    await git('init', '-q');
    for (const v of ['v1', 'v2']) {
      await fs.writeFile(path.join(aRepo, 'f'), v);
      await git('add', 'f');
      await git('commit', '-q', '-m', v);
      await git('tag', v);
    }
    aMatrix = path.join(tmp, 'matrix.json');
    const plan = { targets: ['arm-versatile-6.1-glibc'], scenarios: ['getifaddrs'], sweeps: [], repeat: 1, params: {} };
    await fs.writeFile(aMatrix, JSON.stringify({ schema: 1, kind: 'reprolab-matrix', plan, shards: [{ index: 1, count: 1 }], startedAt: '', finishedAt: '', durationMs: 0, jobs: 1, host: {}, outDir: tmp, targets: [], cells: [], sweeps: [] }));
  });

  it('every option of every command', async () => {
    const all = cases();
    expect(all.length).toBeGreaterThan(50);
    const env = { ...process.env, REPROLAB_CACHE: path.join(tmp, 'cache'), REPROLAB_OFFLINE: '1', REPROLAB_MIRRORS: '' };
    const results = await pool(all, 4, async (c) => {
      const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...c.argv], { cwd: repoRoot, env, reject: false, timeout: 30_000, stdin: 'ignore' });
      return { c, code: r.exitCode, timedOut: r.timedOut, stderr: r.stderr.trim() };
    });
    const wrong = results
      .filter(({ c, code, stderr }) => code !== 2 || stderr.split('\n').length !== 1 || !stderr.includes(c.flag) || /\n\s+at /.test(stderr))
      .map(({ c, code, timedOut, stderr }) => `${c.name}: exit ${timedOut ? 'TIMEOUT' : code}, stderr: ${stderr.slice(0, 300)}`);
    expect(wrong).toEqual([]);
  }, 600_000);

  it('a --source for a package no target builds is refused, naming the packages that exist', async () => {
    const env = { ...process.env, REPROLAB_CACHE: path.join(tmp, 'cache'), REPROLAB_OFFLINE: '1', REPROLAB_MIRRORS: '' };
    for (const argv of [['build', 'arm-versatile-3.10-uclibc', '--dry-run'], ['matrix', '--no-sweeps'], ['validate-patch', aPatch, '--libc', 'uclibc-0.9.33.2']]) {
      const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), '--source', `linux-3.10.180=${tmp}`, ...argv], { cwd: repoRoot, env, reject: false, timeout: 30_000, stdin: 'ignore' });
      expect(r.exitCode, argv.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('--source linux-3.10.180');
      expect(r.stderr).toContain('linux-3.10.108, linux-source-6.1, uClibc-0.9.33.2');
    }
  });

  it('a control character in bad input is shown escaped, never sent to the terminal', async () => {
    const env = { ...process.env, REPROLAB_CACHE: path.join(tmp, 'cache'), REPROLAB_OFFLINE: '1', REPROLAB_MIRRORS: '' };
    const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), '--source', `evil\u001b]0;owned\u0007\u001b[2J=${tmp}`, 'targets'], { cwd: repoRoot, env, reject: false, timeout: 30_000, stdin: 'ignore' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(r.stderr).toContain('evil\\x1b]0;owned\\x07\\x1b[2J');
  });

  it('an unknown option, a missing argument, an unknown command and no command are usage errors too', async () => {
    for (const argv of [['matrix', '--bogus'], ['run'], ['no-such-command'], []]) {
      const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...argv], { cwd: repoRoot, reject: false, timeout: 30_000 });
      expect(r.exitCode, argv.join(' ')).toBe(2);
      // No command at all shows the help (many lines) and is a usage error too; the rest is one line.
      if (argv.length === 0) expect(r.stderr).toMatch(/^Usage: reprolab/);
      else expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
