/** What `reprolab bisect` decided (bisect.json), and what its HTML page is made from. */

export interface BisectCommit {
  commit: string;
  short: string;
  title: string;
  author: string;
  date: string;
  /** `git describe --tags`. */
  describe?: string;
  /** The first release tag that contains it (`git describe --contains`). */
  firstRelease?: string;
}

export interface BisectStep {
  /** 1-based, in the order the steps ran. */
  n: number;
  phase: 'ends' | 'releases' | 'commits' | 'merge';
  commit: BisectCommit;
  /** The version the tree says it is (Rules.mak). */
  version?: string;
  /** Config settings the lab's fragment has and this revision's Kconfig does not (left out of its build). */
  droppedOptions?: string[];
  built: boolean;
  /** Built in this run (false: from the store). */
  builtNow: boolean;
  /** symptom: the field symptom showed; clean: it did not; skip: did not build; error: could not be judged. */
  state: 'symptom' | 'clean' | 'skip' | 'error';
  symptom: number;
  repeats: number;
  errors: number;
  /** k of R repeats, with "flaky" when 0 < k < R. */
  rate: string;
  detail: string;
  buildMs: number;
  runMs: number;
  reboots: number;
  /** The first try's ERROR, when the step was retried on a fresh boot. */
  retryReason?: string;
  evidenceDir: string;
  buildLog: string;
}

export type BisectOutcome =
  | 'FOUND'
  /** Unbuildable or unjudgeable revisions hide which of `candidates` it is. */
  | 'AMBIGUOUS'
  /** Both ends behave alike: nothing to bisect. */
  | 'ENDS_ALIKE'
  /** --good shows the symptom, or --bad does not. */
  | 'ENDS_UNEXPECTED'
  /** An end did not build or could not be judged. */
  | 'ERROR';

export interface BisectResult {
  schema: 1;
  scenario: string;
  bug: string;
  target: string;
  repo: string;
  /** "fix": the old end shows the symptom and the new one does not; "cause": the other way round. */
  direction?: 'fix' | 'cause';
  old: BisectCommit;
  new: BisectCommit;
  /** How the ends were given: --old/--new (ages) or --good/--bad (which shows the symptom). */
  endsGivenAs: 'old/new' | 'good/bad';
  outcome: BisectOutcome;
  message: string;
  /** The first revision whose verdict differs from the old end's. */
  first?: BisectCommit & { diffStat: string; mergeItself?: boolean };
  lastOld?: BisectCommit;
  candidates?: BisectCommit[];
  steps: BisectStep[];
  phases: { kind: string; from: string; to: string; size: number; outcome: string }[];
  repeat: number;
  /** The symptom's rate over the steps that showed it, its lower 95% bound p, and the chance that no clean step was a miss: Π(1-(1-p)^R). */
  confidence: { rate: number; rateLow: number; confidence: number; flaky: number };
  builds: { now: number; fromStore: number; failed: number };
  boots: number;
  startedAt: string;
  durationMs: number;
  /** --validate: the found commit's diff offered to validate-patch on the lab's uClibc 0.9.33.2. */
  validation?: { patch: string; finding: string; appliesAsIs: boolean; detail: string; outDir: string };
  outDir: string;
}
