import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';
import { nights } from '../matrix/history-fixture.ts';

async function lab(args: string[], cache: string) {
  const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...args], { cwd: repoRoot, reject: false, timeout: 120_000, stdin: 'ignore', env: { ...process.env, REPROLAB_CACHE: cache } });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe('reprolab report history', () => {
  it('defaults: the runs of <cache>/matrix, the page written beside them; the summary names the active regression and the flaky cell', async () => {
    const { root } = await tempDirs();
    const runs = path.join(root, 'matrix');
    const made = nights([{}, { verdicts: { 'arm-a/getifaddrs': 'NOT_REPRODUCED' } }, { verdicts: { 'mips-b/uevent': 'FIX_INEFFECTIVE' } }], runs);
    for (const r of made) {
      await fs.mkdir(path.dirname(r.file), { recursive: true });
      await fs.writeFile(r.file, JSON.stringify(r.result));
    }
    const r = await lab(['report', 'history'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('history: 3 run(s) read; 4 cell(s): 1 flaky, 1 regression(s) still active, 1 ended');
    expect(r.stdout).toContain(`ACTIVE REGRESSION mips-b uevent: CONFIRMED → FIX_INEFFECTIVE since run #3 (${made[2]!.name})`);
    expect(r.stdout).toContain('flaky arm-a getifaddrs: 100% (2 change(s) over 3 judged run(s))');
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`history: ${path.join(runs, 'history.html')}`);
    await fs.access(path.join(runs, 'history.json'));
  });

  it('a runs directory without runs is one line naming --runs, exit 2', async () => {
    const { root } = await tempDirs();
    const r = await lab(['report', 'history', '--runs', root], root);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^reprolab: --runs .*: no matrix run directories/);
  });
});
