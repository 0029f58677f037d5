import type { BundleManifest } from '../build/bundle.ts';
import type { FabricReport, FabricSpec } from '../fabric/fabric.ts';
import type { BurstSpec } from '../fabric/usb-plan.ts';
import type { Guest } from '../guest/guest.ts';
import type { ProbeResult } from './result-line.ts';
import type { Aggregate, Outcome, Verdict } from './verdict.ts';

export const SCENARIO_NAMES = ['getifaddrs', 'getifaddrs-mechanism', 'uevent', 'dump-read', 'dump-buffer', 'dump-hang'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Knobs a user can turn per run; each scenario has defaults. */
export interface ScenarioParams {
  interfaces?: number;
  burst?: BurstSpec;
  /** In-guest uevent trigger writes added to the USB burst (B2). */
  trigger?: number;
  /** Per-event processing time of the B2 listeners. */
  delayUs?: number;
  sockets?: number;
  /** B4: the fixed reader's buffer. */
  buffer?: number;
  /** B5: dumps per variant, and the time budget for them. */
  iterations?: number;
  budgetMs?: number;
}

/** Which probe build plays which role: a libc variant (getifaddrs) or a reader algorithm (the rest). */
export interface VariantPlan {
  /** The name in results: the libc variant, or the reader ("legacy"/"fixed"). */
  variant: string;
  role: 'unpatched' | 'patched';
  /** Directory of the probe binaries in the guest. */
  probeDir: string;
  describe: string;
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
}

export interface RepeatResult {
  runs: VariantRun[];
  /** The numbers that explain the verdict (threshold inputs, chunk sizes, events lost…). */
  key: Record<string, number | string | boolean>;
}

export interface ScenarioContext {
  guest: Guest;
  manifest: BundleManifest;
  params: ScenarioParams;
  variants: VariantPlan[];
  evidenceDir: string;
  repeat: number;
  fabric: FabricReport;
}

export interface Scenario {
  name: ScenarioName;
  bug: 'B1' | 'B2' | 'B3' | 'B4' | 'B5';
  title: string;
  /** True when the variants are libc builds (validate-patch runs these); else reader algorithms. */
  usesLibc: boolean;
  defaults: ScenarioParams;
  /** The conditions built once after boot (interfaces, held sockets). */
  fabric(params: ScenarioParams): FabricSpec;
  /** One repetition: every variant once, judged against ground truth read in the guest. */
  repeat(ctx: ScenarioContext): Promise<RepeatResult>;
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
  scenario: ScenarioName;
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
  aggregate: Aggregate;
}
