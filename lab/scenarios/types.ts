import type { VariantRun } from '../model/scenario-result.ts';
import { type BundleManifest } from '../model/manifest.ts';
import type { FabricGuest, FabricReport, FabricSpec } from '../fabric/fabric.ts';
import type { BurstSpec } from '../fabric/usb-plan.ts';

import type { ScenarioDefinition } from '../catalog/scenario-defs.ts';

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
  /** uClibc images: the variant's dynamically linked probes and its shared libraries in the guest. */
  shared?: {
    probeDir: string;
    libDir: string;
    /** Whether the image's own programs (linked against /lib's libc.so.0) can run on it: not a uClibc-ng build (another ABI, libc.so.1). */
    imagePrograms: boolean;
  };
}

export interface RepeatResult {
  runs: VariantRun[];
  /** The numbers that explain the verdict (threshold inputs, chunk sizes, events lost…). */
  key: Record<string, number | string | boolean>;
}

/**
 * What a repetition needs of a guest: a shell, and what a USB burst needs (QMP, the console
 * and its log; the uevent judge); the runner also asks whether its VM still runs.
 */
export type ScenarioGuest = FabricGuest;

export interface ScenarioContext {
  guest: ScenarioGuest;
  manifest: BundleManifest;
  params: ScenarioParams;
  variants: VariantPlan[];
  evidenceDir: string;
  repeat: number;
  fabric: FabricReport;
}

export interface Scenario {
  name: string;
  /** B1…B5 for the field bugs of BUGS.md; a user's scenario names its own. */
  bug: string;
  title: string;
  /** True when the variants are libc builds (validate-patch runs these); else reader algorithms. */
  usesLibc: boolean;
  defaults: ScenarioParams;
  /** The conditions built once after boot (interfaces, held sockets). */
  fabric(params: ScenarioParams): FabricSpec;
  /** One repetition: every variant once, judged against ground truth read in the guest. */
  repeat(ctx: ScenarioContext): Promise<RepeatResult>;
  /** Where it was defined (every registered scenario; test fakes have none). */
  definition?: ScenarioDefinition;
}

/** The probe a definition names, with its arguments for a variant (parameters filled in). */
export interface ProbeCall {
  program: string;
  argsFor: (v: VariantPlan) => string[];
}

/** A scenario's judging that needs code (a USB burst, a loader trace, a watchdog), behind one shape. */
export type CodeRepeat = (ctx: ScenarioContext, probe: ProbeCall) => Promise<RepeatResult>;
