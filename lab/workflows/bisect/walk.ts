import { bisectList, classify, type Observation, type StepState } from './search.ts';

/** The parts of a git history a bisection walks (a real repository, or a fake one in the unit tests). */
export interface History {
  /** First-parent chain from `old` (excluded) to `newer` (included), oldest first. */
  chain(old: string, newer: string): Promise<string[]>;
  parents(commit: string): Promise<string[]>;
  mergeBase(a: string, b: string): Promise<string>;
  isAncestor(ancestor: string, commit: string): Promise<boolean>;
  /** Release tags strictly between `old` and `newer` on its history, oldest first. */
  releasesBetween(old: string, newer: string): Promise<{ tag: string; commit: string }[]>;
}

export interface Phase {
  kind: 'releases' | 'commits' | 'merge';
  /** The list this phase bisected, oldest first (its ends included). */
  from: string;
  to: string;
  size: number;
  outcome: string;
}

export interface WalkResult {
  outcome: 'found' | 'ambiguous' | 'ends-alike' | 'end-untestable';
  oldState: StepState;
  newState: StepState;
  /** The first commit that behaves like the new end. */
  first?: string;
  /** The commit just before it (old-like). */
  lastOld?: string;
  candidates?: string[];
  /** Why the answer is a set (ambiguous). */
  reason?: string;
  /** A merge whose result differs from both of its parents' sides: the change is the merge itself. */
  mergeItself?: boolean;
  phases: Phase[];
}

/**
 * Walks a history from `old` to `newer` with an observation per commit
 * (cached by the caller). With `releases`, the release tags between them are
 * bisected first and the commits then only between the two releases that
 * bracket the change. The commit bisection follows the first-parent chain;
 * when it lands on a merge, it descends into the merged side (merge base to
 * second parent), as often as it lands on one.
 */
export async function walkHistory(h: History, old: string, newer: string, observe: (commit: string) => Promise<Observation>, opts: { releases?: boolean; onPhase?: (kind: Phase['kind']) => void } = {}): Promise<WalkResult> {
  const phases: Phase[] = [];
  const stateOf = async (c: string) => classify(await observe(c));
  const run = async (kind: Phase['kind'], list: string[]) => {
    opts.onPhase?.(kind);
    const r = await bisectList(list.length, (i) => observe(list[i]!));
    phases.push({ kind, from: list[0]!, to: list.at(-1)!, size: list.length, outcome: r.outcome });
    return r;
  };
  let lo = old;
  let hi = newer;
  if (opts.releases) {
    const tags = await h.releasesBetween(old, newer);
    if (tags.length) {
      const list = [old, ...tags.map((t) => t.commit), newer];
      const r = await run('releases', list);
      if (r.outcome !== 'found' && r.outcome !== 'ambiguous') return { outcome: r.outcome, oldState: r.oldState!, newState: r.newState!, phases };
      lo = list[r.lastOld!]!;
      hi = list[r.outcome === 'found' ? r.first! : r.candidates!.at(-1)!]!;
    }
  }
  // The old-like first parents of the merges descended into: a side commit they already contain cannot be the change.
  const mainlines: string[] = [];
  const ambiguous = (lastOld: string, candidates: string[], reason: string, oldState: StepState, newState: StepState): WalkResult => ({ outcome: 'ambiguous', oldState, newState, lastOld, candidates, reason, phases });
  for (let kind: Phase['kind'] = 'commits'; ; kind = 'merge') {
    const list = [lo, ...(await h.chain(lo, hi))];
    const r = await run(kind, list);
    if (r.outcome === 'ends-alike' || r.outcome === 'end-untestable') {
      return { outcome: r.outcome, oldState: r.oldState!, newState: r.newState!, phases };
    }
    const oldState = await stateOf(old);
    const newState = await stateOf(newer);
    if (r.outcome === 'ambiguous') {
      return ambiguous(list[r.lastOld!]!, r.candidates!.map((i) => list[i]!), 'the revisions between them did not build or could not be judged', oldState, newState);
    }
    const first = list[r.first!]!;
    const parents = await h.parents(first);
    if (parents.length === 0) return ambiguous(list[r.lastOld!]!, [first], `${first.slice(0, 12)} is a root commit: there is no parent to compare it with`, oldState, newState);
    // The answer is a commit that differs from its own first parent: in a first-parent list the
    // previous entry usually is that parent, but not always (a side branch with back-merges).
    if (parents[0] !== list[r.lastOld!] && (await stateOf(parents[0]!)) !== oldState) {
      return ambiguous(list[r.lastOld!]!, [first], `its own first parent ${parents[0]!.slice(0, 12)} does not behave like the old end (${await stateOf(parents[0]!)}): the history is not monotone there`, oldState, newState);
    }
    for (const m of mainlines) {
      if (await h.isAncestor(first, m)) return ambiguous(parents[0]!, [first], `${first.slice(0, 12)} is already in the old-like mainline ${m.slice(0, 12)} (criss-cross merges): the merge that brought the change cannot be told apart`, oldState, newState);
    }
    if (parents.length < 2) return { outcome: 'found', oldState, newState, first, lastOld: parents[0]!, phases };
    // A merge: its first parent is old-like. Which side brought the change?
    opts.onPhase?.('merge');
    if (parents.length > 2) {
      // An octopus merge: which of its sides brought the change is not one bisection away.
      return ambiguous(parents[0]!, [...parents.slice(1), first], `${first.slice(0, 12)} is an octopus merge (${parents.length} parents)`, oldState, newState);
    }
    const side = parents[1]!;
    const base = await h.mergeBase(parents[0]!, side);
    const [sideState, baseState] = [await stateOf(side), await stateOf(base)];
    if (baseState !== oldState || (sideState !== oldState && sideState !== newState)) {
      // The merge base contradicts its old-like descendant, or the side cannot be judged: no proof either way.
      return ambiguous(parents[0]!, [side, first], baseState !== oldState ? `the merge base ${base.slice(0, 12)} does not behave like the old end (${baseState})` : `the merged side ${side.slice(0, 12)} could not be classified (${sideState})`, oldState, newState);
    }
    if (sideState === oldState) {
      // Both sides behave like the old end and only their merge does not: the merge itself is the change.
      return { outcome: 'found', oldState, newState, first, lastOld: parents[0]!, mergeItself: true, phases };
    }
    mainlines.push(parents[0]!);
    lo = base;
    hi = side;
  }
}
