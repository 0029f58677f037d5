/**
 * End-to-end: validate-patch with the lab's own fix and with a patch that does
 * not apply. (Every scenario on every target is judged by the matrix e2e.)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExpectations } from '../../lab/catalog/expectations.ts';
import { validatePatch } from '../../lab/scenarios/validate-patch.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { dirs, skipReasonFor, targets } from './lab.ts';

const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-validate-'));

const uclibcTargets = targets.filter((t) => t.libc.kind === 'uclibc');
const fix = path.join(repoRoot, 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs-peek-size-netlink-chunks.patch');

describe('validate-patch', () => {
  const available = uclibcTargets.filter((t) => !skipReasonFor(t.name));
  const skip = available.length ? undefined : skipReasonFor(uclibcTargets[0]!.name);
  it.skipIf(!!skip)(skip ?? "the lab's own B1 fix, validated as a user patch, fixes what the unpatched uClibc shows", { timeout: 60 * 60_000 }, async () => {
    const findings = await validatePatch({ patches: [fix], targets: available, dirs, sources: { dirs }, params: {}, outDir: path.join(runRoot, 'validate-fix') });
    for (const f of findings) {
      const expected = (await loadExpectations('getifaddrs')).targets.get(f.target)?.verdict;
      // Where the unpatched libc fails, the patch must fix it; elsewhere there is nothing to fix.
      expect(f.finding, f.detail).toBe(expected === 'CONFIRMED' ? 'FIXES' : 'NOTHING_TO_FIX');
    }
    console.log(findings.map((f) => `${f.target}: ${f.finding}\n    ${f.detail}`).join('\n'));
  });

  it.skipIf(!!skip)(skip ?? 'a patch that does not apply is a finding that names the patch, file and hunk', { timeout: 20 * 60_000 }, async () => {
    const bad = path.join(runRoot, 'bad.patch');
    await fs.writeFile(bad, ['--- a/libc/inet/ifaddrs.c', '+++ b/libc/inet/ifaddrs.c', '@@ -1,3 +1,3 @@', '-this line is not in uClibc', '+neither is this one', ' nor this', ' nor that', ''].join('\n'));
    const [finding] = await validatePatch({ patches: [bad], targets: available.slice(0, 1), dirs, sources: { dirs }, params: {}, outDir: path.join(runRoot, 'validate-bad') });
    expect(finding!.finding).toBe('DOES_NOT_APPLY');
    expect(finding!.detail).toMatch(/bad\.patch does not apply/);
    expect(finding!.detail).toMatch(/libc\/inet\/ifaddrs\.c/);
  });
});
