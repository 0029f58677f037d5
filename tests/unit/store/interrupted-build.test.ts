import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../helpers.ts';

describe('an interrupted build', () => {
  it('exits 130 on SIGINT and leaves nothing half-written in the store', async () => {
    const { dirs } = await tempDirs();
    const child = execa('node', ['--import', 'tsx', path.join(import.meta.dirname, '..', '..', 'fixtures', 'slow-build.ts'), dirs.store], { reject: false, buffer: true });
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('BUILDING')) resolve();
      });
    });
    const during = await fs.readdir(path.join(dirs.store, 'slow'));
    expect(during.some((d) => d.includes('.tmp-'))).toBe(true);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('partial build outputs removed');
    expect(await fs.readdir(path.join(dirs.store, 'slow'))).toEqual([]);
  });
});
