/** What one `reprolab run` decided (result.json) and the pieces it is made of. */
import { Fields, parseJson, readTextFile } from './fields.ts';
import { segmentField } from './paths.ts';
import type { ErrorKind } from '../util/errors.ts';
import { VERDICTS, type Outcome, type Aggregate, type Verdict } from './verdict.ts';

export interface ProbeResult {
  probe: string;
  ok: boolean;
  errno?: number;
  /** The error by name, decoded for the guest's architecture when the probe could not name it. */
  error?: string;
  [field: string]: unknown;
}

export interface VariantRun {
  variant: string;
  role: 'unpatched' | 'patched';
  outcome: Outcome;
  /** What a person reads first: `errno=EBUSY`, `lost=57 gaps=[…]`, `sockets 31/500`, or what passed. */
  symptom: string;
  /** An ERROR's kind (util/errors.ts), when the lab raised it: a USB stall is counted by this. */
  errorKind?: ErrorKind;
  probe?: ProbeResult;
  /** File with the probe's full output. */
  evidence?: string;
  /** Programs of the image run against the same libc (e.g. busybox udhcpc6), each judged on its own. */
  programs?: { program: string; outcome: Outcome; symptom: string; evidence: string }[];
}

export interface VariantSummary {
  variant: string;
  role: 'unpatched' | 'patched';
  describe: string;
  /** ERROR if any repeat errored, FAIL if any failed, else PASS. */
  outcome: Outcome;
  symptom: string;
  runs: VariantRun[];
}

/** Everything one `reprolab run` decided, and everything the decision depends on. */
export interface ScenarioResult {
  schema: 1;
  /** A name of the scenario registry (lab/scenarios/types.ts). */
  scenario: string;
  bug: string;
  title: string;
  target: string;
  verdict: Verdict;
  /** Reproduction rate: repeats where the unpatched variant showed the symptom. */
  rate: { reproduced: number; repeats: number; errors: number };
  variants: VariantSummary[];
  key: Record<string, number | string | boolean>;
  params: Record<string, unknown>;
  /** Set when the run could not be judged (boot, SSH, timeout, hang). */
  error?: string;
  fabric?: unknown;
  depends: {
    bundleKey: string;
    kernel: { version: string; release: string; sourceSha256?: string; configSha256: string; patches: { file: string; sha256: string }[] };
    libc: { variant: string; libc: string; sourceSha256?: string; patches: { file: string; sha256: string }[] }[];
    rootfsSha256: string;
    qemu: string;
    uname?: string;
    consoleLog?: string;
    /** The bundle the guest booted (a repro pack copies its images). */
    bundleDir?: string;
    /** A user's scenario: its probe builds, uploaded into the guest. */
    scenarioProbes?: { variant: string; linkage: 'static' | 'shared'; dir: string }[];
    /** The scenario's definition as it ran. */
    scenarioDefinition?: { file: string; sha256: string };
  };
  evidenceDir: string;
  startedAt: string;
  durationMs: number;
  /** The --timeout-multiplier every wait of this run was scaled by. */
  timeoutMultiplier: number;
  aggregate: Aggregate;
}

/** What a repro pack reads back from a cell's result.json, validated (the file names itself and the field). */
export interface CellRecord {
  scenario: string;
  target: string;
  verdict: Verdict;
  repeats: number;
  params: Record<string, unknown>;
  variants: { variant: string; role: 'unpatched' | 'patched'; describe: string; outcome: string; symptom: string }[];
  bundleDir: string;
  bundleKey: string;
  scenarioProbes: { variant: string; linkage: 'static' | 'shared'; dir: string }[];
  definitionSha256: string;
}

/** A libc build or reader variant (lab/catalog/targets.ts names them): a pack makes guest paths of it. */
const VARIANT = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Untrusted (a cell may be handed over): every name a path is made of is one segment of a known form. */
export async function readCellRecord(file: string): Promise<CellRecord> {
  const text = await readTextFile(file, 'no such file', 'give the directory of one cell: <run>/<target>/<scenario> of a matrix, or the evidence directory of reprolab run');
  const top = new Fields(file, parseJson(file, text));
  const deps = top.object('depends');
  if (!deps.has('bundleDir') || !deps.has('scenarioDefinition')) deps.fail('bundleDir', 'the bundle the cell booted (written by this version of the lab)', undefined, 'run the cell again with this version of reprolab, then pack it');
  const rate = top.object('rate');
  return {
    scenario: top.string('scenario', /^[a-z][a-z0-9-]{0,39}$/),
    target: top.string('target', /^[a-z0-9][a-z0-9._-]*$/),
    verdict: top.oneOf('verdict', VERDICTS),
    repeats: rate.integer('repeats', 0, 1_000_000),
    params: top.record('params'),
    variants: top.list('variants').map((v) => ({ variant: segmentField(v, 'variant', VARIANT), role: v.oneOf('role', ['unpatched', 'patched'] as const), describe: v.string('describe'), outcome: v.string('outcome'), symptom: v.optionalString('symptom', '') })),
    // Absolute paths: packRepro checks that they are inside the lab's store before reading them.
    bundleDir: deps.string('bundleDir', /^\//),
    bundleKey: deps.string('bundleKey'),
    definitionSha256: deps.object('scenarioDefinition').string('sha256', /^[0-9a-f]{64}$/),
    scenarioProbes: deps.has('scenarioProbes') ? deps.list('scenarioProbes').map((p) => ({ variant: segmentField(p, 'variant', VARIANT), linkage: p.oneOf('linkage', ['static', 'shared'] as const), dir: p.string('dir', /^\//) })) : [],
  };
}
