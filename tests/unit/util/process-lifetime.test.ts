import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { processStart } from '../../../lab/util/owner.ts';
import { tempDirs } from '../../helpers.ts';

/** Polls until `check` holds or `tries` run out (a bound on a wait, not a timed assertion). */
async function until(check: () => Promise<boolean> | boolean, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('a build started by runLogged', () => {
  it('dies with the lab, everything it started included, even when the lab is SIGKILLed', async () => {
    const { root } = await tempDirs();
    const pidFile = path.join(root, 'grandchild.pid');
    const lab = execa('node', ['--import', 'tsx', path.join(import.meta.dirname, '..', '..', 'fixtures', 'run-forever.ts'), root], { reject: false });
    let grandchild = 0;
    try {
      expect(await until(async () => /^\d+\n$/.test(await fs.readFile(pidFile, 'utf8').catch(() => '')))).toBe(true);
      grandchild = Number(await fs.readFile(pidFile, 'utf8'));
      expect(processStart(grandchild)).toBeDefined();
      lab.kill('SIGKILL');
      await lab;
      expect(await until(() => processStart(grandchild) === undefined)).toBe(true);
    } finally {
      lab.kill('SIGKILL');
      if (grandchild && processStart(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  }, 90_000);
});
