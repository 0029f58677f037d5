import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { printResult } from '../../../lab/cli/scenario-commands.ts';
import type { ScenarioResult } from '../../../lab/model/scenario-result.ts';
import { repoRoot } from '../../../lab/util/paths.ts';

describe('printResult shows a guest\'s text, never obeys it', () => {
  it('escapes control characters in symptoms, errors and measured values', () => {
    const evil = 'errno=EBUSY \u001b]0;owned\u0007\u001b[2J\u009b31m\rCONFIRMED';
    const r = {
      scenario: 'getifaddrs',
      bug: 'B1',
      target: 'arm-a',
      verdict: 'CONFIRMED',
      rate: { reproduced: 1, repeats: 1, errors: 0 },
      error: `first\n${evil}`,
      variants: [{ role: 'unpatched', variant: 'unpatched', outcome: 'FAIL', symptom: evil }],
      key: { note: evil },
      evidenceDir: '/runs/x',
    } as unknown as ScenarioResult;
    const lines: string[] = [];
    printResult(r, (l) => lines.push(l));
    const out = lines.join('\n');
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('errno=EBUSY \\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\x0dCONFIRMED');
    expect(lines.find((l) => l.startsWith('  error:'))).toBe('  error: first\nerrno=EBUSY \\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\x0dCONFIRMED');
  });
});

describe('reprolab scenarios', () => {
  it('says which kernel options a scenario needs, in text and JSON', async () => {
    const run = (...args: string[]) => execa('node', ['--import', 'tsx', path.join(repoRoot, 'lab/cli/main.ts'), 'scenarios', ...args], { cwd: repoRoot, reject: false, stdin: 'ignore' });
    const text = await run();
    expect(text.stdout).toContain('needs in the kernel: CONFIG_FAILSLAB=y, CONFIG_FAULT_INJECTION_DEBUG_FS=y');
    const rows = JSON.parse((await run('--json')).stdout) as { name: string; kernelOptions?: string[] }[];
    expect(rows.find((r) => r.name === 'dump-hang-enobufs')?.kernelOptions).toEqual(['CONFIG_FAILSLAB', 'CONFIG_FAULT_INJECTION_DEBUG_FS']);
    expect(rows.find((r) => r.name === 'dump-hang')?.kernelOptions).toBeUndefined();
  }, 60_000);
});
