import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../lab/util/paths.ts';
import { tempDirs } from '../../helpers.ts';

/*
 * The previous run the matrix picks by itself is context, not input: a broken one
 * (a run killed while writing, an older lab's file) is named on stderr and tonight's
 * run goes on. A --compare file the user names must be valid (exit 2).
 */
describe('the previous run the lab picks itself', () => {
  it('a broken one is named and skipped; the same file given with --compare is a usage error', async () => {
    const { root } = await tempDirs();
    const old = path.join(root, 'matrix', '2026-01-01T00-00-00-000Z');
    await fs.mkdir(old, { recursive: true });
    await fs.writeFile(path.join(old, 'matrix.json'), '{"schema": 1, "kind": "reprolab-matrix", "cells": [');
    const env = { ...process.env, REPROLAB_CACHE: root, REPROLAB_OVERRIDES: path.join(root, 'overrides'), REPROLAB_DOWNLOADS: path.join(root, 'downloads'), REPROLAB_OFFLINE: '1', REPROLAB_MIRRORS: '', REPROLAB_SOURCE_LINUX_3_10_108: '', CI: 'true' };
    const cli = (...a: string[]) => execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), ...a], { cwd: repoRoot, env, reject: false, timeout: 120_000, stdin: 'ignore' });
    // An empty overrides and downloads folder: the 3.10 target has no sources and is skipped in a second, not built.
    const r = await cli('matrix', '--targets', 'arm-versatile-3.10-uclibc', '--scenarios', 'dump-read', '--no-sweeps', '--quiet');
    expect(r.stderr).toContain('matrix: not comparing with the previous run');
    expect(r.exitCode).not.toBe(2);
    expect(r.stdout + r.stderr).toMatch(/SKIPPED arm-versatile-3\.10-uclibc/);
    const given = await cli('matrix', '--targets', 'arm-versatile-3.10-uclibc', '--scenarios', 'dump-read', '--no-sweeps', '--quiet', '--compare', path.join(old, 'matrix.json'));
    expect(given.exitCode).toBe(2);
  }, 240_000);
});
