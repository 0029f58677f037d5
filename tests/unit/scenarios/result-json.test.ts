import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Guest } from '../../../lab/guest/guest.ts';
import { runScenario } from '../../../lab/scenarios/runner.ts';
import type { Scenario } from '../../../lab/scenarios/types.ts';
import { tempDirs } from '../../helpers.ts';

const scenario: Scenario = { name: 'dump-read', bug: 'B3', title: 'fake', usesLibc: false, defaults: {}, fabric: () => ({}), repeat: async () => ({ runs: [], key: {} }) };

describe("a run's result.json", () => {
  it('is replaced whole (a new file renamed over the old), never rewritten in place under a reader', async () => {
    const { root, dirs } = await tempDirs();
    const outDir = path.join(root, 'out');
    await fs.mkdir(outDir);
    const file = path.join(outDir, 'result.json');
    await fs.writeFile(file, '{"old": true}\n');
    // A reader holding the old file (a report being rendered) sees it whole: a second name for the same inode.
    await fs.link(file, path.join(root, 'reader-view'));
    const r = await runScenario({ scenario, bundleDir: path.join(root, 'no-such-bundle'), repeat: 1, params: {}, dirs, outDir, guest: {} as Guest });
    expect(r.verdict).toBe('ERROR');
    expect(await fs.readFile(path.join(root, 'reader-view'), 'utf8')).toBe('{"old": true}\n');
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ scenario: 'dump-read', verdict: 'ERROR' });
    expect((await fs.readdir(outDir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
