import { describe, expect, it } from 'vitest';
import { bisectList, classify, confidence, type Observation } from '../../../lab/workflows/bisect/search.ts';
import { lowerBound95 } from '../../../lab/util/binomial.ts';
import { walkHistory, type History } from '../../../lab/workflows/bisect/walk.ts';
import { versionFromRulesMak } from '../../../lab/bundle/uclibc-ng.ts';
import { isRevisionsOwnFailure } from '../../../lab/workflows/bisect/step.ts';
import { LabError } from '../../../lab/util/errors.ts';

const R = 3;
const symptom = (k = R): Observation => ({ built: true, repeats: R, symptom: k, errors: 0, detail: `symptom ${k}/${R}` });
const clean: Observation = { built: true, repeats: R, symptom: 0, errors: 0, detail: 'clean' };
const noBuild: Observation = { built: false, repeats: 0, symptom: 0, errors: 0, detail: 'make failed' };
const error: Observation = { built: true, repeats: R - 1, symptom: 0, errors: 1, detail: 'ERROR' };

/** A fix at index `fixAt`: every revision before it shows the symptom. */
function fixOracle(fixAt: number, overrides: Record<number, Observation> = {}) {
  const asked: number[] = [];
  const oracle = async (i: number) => {
    asked.push(i);
    return overrides[i] ?? (i < fixAt ? symptom() : clean);
  };
  return { oracle, asked };
}

describe('bisectList', () => {
  it('finds the first fixed revision of a monotone list in log2(n) steps after the ends', async () => {
    for (const fixAt of [1, 2, 37, 63, 99]) {
      const { oracle, asked } = fixOracle(fixAt);
      const r = await bisectList(100, oracle);
      expect(r.outcome).toBe('found');
      expect(r.first).toBe(fixAt);
      expect(r.lastOld).toBe(fixAt - 1);
      expect(asked.slice(0, 2)).toEqual([0, 99]);
      expect(asked.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(99)));
      expect(new Set(asked).size).toBe(asked.length);
    }
  });

  it('finds a cause (clean old end, symptom at the new end) the same way', async () => {
    const r = await bisectList(40, async (i) => (i >= 17 ? symptom() : clean));
    expect(r).toMatchObject({ outcome: 'found', first: 17, oldState: 'clean', newState: 'symptom' });
  });

  it('steps around a revision that does not build, and still finds the change', async () => {
    const { oracle, asked } = fixOracle(30, { 49: noBuild, 24: noBuild });
    const r = await bisectList(100, oracle);
    expect(r).toMatchObject({ outcome: 'found', first: 30 });
    expect(asked).toContain(49);
  });

  it('answers with the set of candidates when unbuildable revisions hide the change', async () => {
    const { oracle } = fixOracle(30, { 29: noBuild, 30: noBuild, 28: error });
    const r = await bisectList(100, oracle);
    expect(r.outcome).toBe('ambiguous');
    expect(r.lastOld).toBe(27);
    expect(r.candidates).toEqual([28, 29, 30, 31]);
  });

  it('says so at once when both ends behave alike, without testing anything between', async () => {
    const { oracle, asked } = fixOracle(1000);
    const r = await bisectList(100, oracle);
    expect(r.outcome).toBe('ends-alike');
    expect(asked).toEqual([0, 99]);
  });

  it('cannot bisect from an end that does not build or cannot be judged', async () => {
    expect((await bisectList(10, fixOracle(5, { 9: noBuild }).oracle)).outcome).toBe('end-untestable');
    expect((await bisectList(10, fixOracle(5, { 0: error }).oracle)).outcome).toBe('end-untestable');
  });

  it('reads a flaky step (symptom in 1 of 3) as showing the symptom', async () => {
    const r = await bisectList(20, fixOracle(12, { 9: symptom(1), 11: symptom(1) }).oracle);
    expect(r).toMatchObject({ outcome: 'found', first: 12 });
  });
});

describe('classify and confidence', () => {
  it('an ERROR repeat makes the step unclassifiable, never clean', () => {
    expect(classify(error)).toBe('error');
    expect(classify(noBuild)).toBe('skip');
    expect(classify(symptom(1))).toBe('symptom');
    expect(classify(clean)).toBe('clean');
    // A symptom seen is proof, even beside an ERROR repeat.
    expect(classify({ built: true, repeats: 1, symptom: 1, errors: 1, detail: '' })).toBe('symptom');
  });

  it('takes the lower 95% bound of the symptom rate, so few repeats never claim certainty', () => {
    // Always shown, 3 of 3 at one step: p >= 0.37, each clean step of 3 misses it with (1-0.37)^3.
    const one = confidence([symptom(), clean, clean]);
    expect(one.rate).toBe(1);
    expect(one.confidence).toBeCloseTo((1 - (1 - lowerBound95(3, 3)) ** 3) ** 2);
    expect(one.confidence).toBeLessThan(0.9);
    // More evidence, more confidence.
    expect(confidence([symptom(), symptom(), symptom(), symptom(), clean, clean]).confidence).toBeGreaterThan(one.confidence);
    // Flaky: 4 of 6 pooled.
    const c = confidence([symptom(1), symptom(3), clean, clean]);
    expect(c.rate).toBeCloseTo(4 / 6);
    expect(c.perCleanStepMiss[0]).toBeCloseTo((1 - lowerBound95(4, 6)) ** 3);
    expect(c.flaky).toBe(1);
    expect(confidence([clean, clean]).confidence).toBe(0);
  });
});

describe('walkHistory', () => {
  // a0 - a1 - a2 - M - a4   (first-parent chain), M merges side b1 - b2 (from a1), the fix is b2.
  const chain: Record<string, string[]> = {
    'a0..a4': ['a1', 'a2', 'M', 'a4'],
    'a1..b2': ['b1', 'b2'],
    'a0..a1': ['a1'],
    'a1..a4': ['a2', 'M', 'a4'],
  };
  const parentsOf: Record<string, string[]> = { a1: ['a0'], a2: ['a1'], M: ['a2', 'b2'], a4: ['M'], b1: ['a1'], b2: ['b1'] };
  const history: History = {
    chain: async (o, n) => chain[`${o}..${n}`] ?? [],
    parents: async (c) => parentsOf[c] ?? [],
    mergeBase: async () => 'a1',
    isAncestor: async () => false,
    // Release v1 is the commit a1.
    releasesBetween: async () => [{ tag: 'v1', commit: 'a1' }],
  };
  const fixed = new Set(['b2', 'M', 'a4']);
  const observe = async (c: string) => (fixed.has(c) ? clean : symptom());

  it('descends into a merge and finds the commit on the merged side', async () => {
    const r = await walkHistory(history, 'a0', 'a4', observe);
    expect(r).toMatchObject({ outcome: 'found', first: 'b2', lastOld: 'b1' });
    expect(r.phases.map((p) => p.kind)).toEqual(['commits', 'merge']);
  });

  it('with --releases bisects the tags first, then the commits between the bracketing two', async () => {
    const seen: string[] = [];
    const r = await walkHistory(history, 'a0', 'a4', async (c) => (seen.push(c), observe(c)), { releases: true });
    expect(r).toMatchObject({ outcome: 'found', first: 'b2' });
    expect(r.phases.map((p) => p.kind)).toEqual(['releases', 'commits', 'merge']);
    expect(seen.slice(0, 3)).toEqual(['a0', 'a4', 'a1']);
  });

  it('does not blame the merge when its side cannot be built: the answer is the side or the merge', async () => {
    const r = await walkHistory(history, 'a0', 'a4', async (c) => (c === 'b2' ? noBuild : observe(c)));
    expect(r).toMatchObject({ outcome: 'ambiguous', candidates: ['b2', 'M'] });
  });

  it('does not name a commit whose own first parent behaves like it (a first-parent list can skip the parent)', async () => {
    // b2's first parent is b0 (off the list), which is already fixed: b2 did not change anything.
    parentsOf['b2'] = ['b0'];
    const r = await walkHistory(history, 'a0', 'a4', async (c) => (c === 'b0' ? clean : observe(c)));
    parentsOf['b2'] = ['b1'];
    expect(r).toMatchObject({ outcome: 'ambiguous', candidates: ['b2'] });
  });

  it('does not name a side commit the old-like mainline already contains (criss-cross merges)', async () => {
    const r = await walkHistory({ ...history, isAncestor: async (a, b) => a === 'b2' && b === 'a2' }, 'a0', 'a4', observe);
    expect(r).toMatchObject({ outcome: 'ambiguous', candidates: ['b2'] });
    expect(r.reason).toMatch(/criss-cross/);
  });

  it('names the merge itself when its side alone does not behave like it', async () => {
    const r = await walkHistory(history, 'a0', 'a4', async (c) => (c === 'M' || c === 'a4' ? clean : symptom()));
    expect(r).toMatchObject({ outcome: 'found', first: 'M', mergeItself: true });
  });
});

describe('versionFromRulesMak', () => {
  it('reads the version a uClibc-ng tree says it is', () => {
    expect(versionFromRulesMak('MAJOR_VERSION := 1\nMINOR_VERSION := 0\nSUBLEVEL      := 1\nEXTRAVERSION  :=-git\n')).toBe('1.0.1-git');
    expect(versionFromRulesMak('MAJOR_VERSION := 1\nMINOR_VERSION := 0\nSUBLEVEL      := 57\nEXTRAVERSION  :=\nVERSION       := x\n')).toBe('1.0.57');
  });
});

describe('isRevisionsOwnFailure', () => {
  const log = '/x/steps/03-abc/build.log';
  it("skips a revision for its own make, probe compile, compat patch or Kconfig (by the error's kind), and calls everything else the lab's ERROR", () => {
    const ran = (command: string, logPath = log) => new LabError(`${command} … failed (exit 2)`, { logPath, kind: 'command', command });
    expect(isRevisionsOwnFailure(ran('make'), log)).toBe(true);
    expect(isRevisionsOwnFailure(ran('mipsel-linux-gnu-gcc'), log)).toBe(true);
    expect(isRevisionsOwnFailure(new LabError('uClibc-ng abc patch 0001-x.patch does not apply: Rules.mak hunk #1', { kind: 'patch' }), log)).toBe(true);
    expect(isRevisionsOwnFailure(new LabError('uClibc-ng 1.0.9: config settings did not survive dependency resolution: X', { kind: 'config' }), log)).toBe(true);
    // Killed or not started (runLogged says 'lab'), cp, another log, git: the lab's.
    expect(isRevisionsOwnFailure(new LabError('make -C /w -j2… failed (SIGKILL)', { logPath: log, command: 'make' }), log)).toBe(false);
    expect(isRevisionsOwnFailure(ran('cp'), log)).toBe(false);
    expect(isRevisionsOwnFailure(ran('make', '/other.log'), log)).toBe(false);
    expect(isRevisionsOwnFailure(new LabError('unpacking abc of /repo failed: x', { logPath: log }), log)).toBe(false);
    // The words alone decide nothing: a lab failure that quotes "does not apply" is still the lab's.
    expect(isRevisionsOwnFailure(new LabError('git apply said: patch does not apply (lock held)', { logPath: log }), log)).toBe(false);
  });
});
