/**
 * End-to-end: validate-patch with the lab's own fix and with a patch that does
 * not apply. (Every scenario on every target is judged by the matrix e2e.)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExpectations } from '../../lab/catalog/expectations.ts';
import { validatePatch } from '../../lab/workflows/validate-patch.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { dirs, skipReasonFor, targets } from './lab.ts';

const runRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-validate-'));

const uclibcTargets = targets.filter((t) => t.libc.kind === 'uclibc');
const fix = path.join(repoRoot, 'images/libc/uclibc-0.9.33.2/variants/patched/0001-getifaddrs-peek-size-netlink-chunks.patch');

describe('validate-patch', () => {
  const available = uclibcTargets.filter((t) => !skipReasonFor(t.name));
  const skip = available.length ? undefined : skipReasonFor(uclibcTargets[0]!.name);
  // The fix can only be seen fixing where the unpatched uClibc fails: the 16 KiB-page target.
  const fails = 'mips-malta16k-3.10-uclibc';
  const noFailing = skipReasonFor(fails);
  it.skipIf(!!noFailing)(noFailing ?? `the lab's own B1 fix, validated as a user patch, FIXES ${fails} and finds NOTHING_TO_FIX on the 4 KiB-page targets`, { timeout: 60 * 60_000 }, async () => {
    const findings = await validatePatch({ patches: [fix], targets: available, dirs, sources: { dirs }, params: {}, outDir: path.join(runRoot, 'validate-fix') });
    console.log(findings.map((f) => `${f.target}: ${f.finding}\n    ${f.detail}`).join('\n'));
    expect(findings.map((f) => f.target).sort()).toEqual(available.map((t) => t.name).sort());
    const expectations = (await loadExpectations('getifaddrs')).targets;
    expect(expectations.get(fails)?.verdict).toBe('CONFIRMED');
    for (const f of findings) expect(f.finding, `${f.target}: ${f.detail}`).toBe(expectations.get(f.target)?.verdict === 'CONFIRMED' ? 'FIXES' : 'NOTHING_TO_FIX');
    expect(findings.find((f) => f.target === fails)?.finding).toBe('FIXES');
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
