/** What one `reprolab run` decided (result.json) and the pieces it is made of. */
import type { Outcome, Aggregate, Verdict } from './verdict.ts';

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
  };
  evidenceDir: string;
  startedAt: string;
  durationMs: number;
  /** The --timeout-multiplier every wait of this run was scaled by. */
  timeoutMultiplier: number;
  aggregate: Aggregate;
}
