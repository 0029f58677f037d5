import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { KcidbReport } from '../../../lab/report/kcidb.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';
import { everyVerdictRun } from '../report/kcidb-fixture.ts';

/* `reprolab report kcidb`: JSON to a file or to stdout; a matrix.json it cannot trust is one line, exit 2, nothing written. */

async function lab(args: string[], cache: string) {
  const r = await execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...args], { cwd: repoRoot, env: { REPROLAB_CACHE: cache }, reject: false, timeout: 120_000, stdin: 'ignore' });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe('reprolab report kcidb', () => {
  it('writes the same KCIDB v5.3 document to -o FILE as to stdout, with --origin on every id; refuses a bad matrix.json', async () => {
    const { root } = await tempDirs();
    const file = path.join(root, 'run', 'matrix.json');
    await fs.mkdir(path.dirname(file));
    await fs.writeFile(file, JSON.stringify(everyVerdictRun()));
    const out = path.join(root, 'kcidb.json');

    const written = await lab(['report', 'kcidb', file, '-o', out, '--origin', 'nightly_lab'], root);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toBe(`kcidb v5.3: 9 checkouts, 5 builds, 22 tests from 1 run(s) → ${out}`);
    const doc = JSON.parse(await fs.readFile(out, 'utf8')) as KcidbReport;
    expect(doc.version).toEqual({ major: 5, minor: 3 });
    expect([...doc.checkouts, ...doc.builds, ...doc.tests].every((x) => x.id.startsWith('nightly_lab:') && x.origin === 'nightly_lab')).toBe(true);
    // Nothing but the file is left in its folder (written beside it, then renamed).
    expect((await fs.readdir(root)).sort()).toEqual(['kcidb.json', 'run']);

    const printed = await lab(['report', 'kcidb', file, '--origin', 'nightly_lab'], root);
    expect(printed.code, printed.stderr).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(doc);

    const broken = JSON.parse(JSON.stringify(everyVerdictRun())) as Record<string, unknown>;
    delete broken['startedAt'];
    await fs.writeFile(file, JSON.stringify(broken));
    const bad = await lab(['report', 'kcidb', file, '-o', path.join(root, 'other.json')], root);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain(`${file}: startedAt`);
    await expect(fs.stat(path.join(root, 'other.json'))).rejects.toThrow(/ENOENT/);
    await fs.rm(root, { recursive: true, force: true });
  }, 120_000);
});
