import type { UsbStallRate } from '../model/matrix-result.ts';
import fs from 'node:fs/promises';
import path from 'node:path';
import { USB_STALL } from '../scenarios/judges/uevent.ts';
import { BUILTIN_SCENARIO_DIR, judgeCapabilities, loadScenarioDir } from '../catalog/scenario-defs.ts';
import { listRuns } from './history.ts';
import { checkMatrixResult, type MatrixResult } from '../model/matrix-result.ts';


/**
 * The scenarios whose judge can lose a burst to a stalled USB stack (its capabilities say so), by name.
 * Built-in ones only: such a judge drives the lab's own listener, which a user's scenario may not name
 * (notForUsers), and a report or a merge must not fail on a user's broken scenario folder.
 */
function burstScenarios(): Set<string> {
  return new Set(loadScenarioDir(BUILTIN_SCENARIO_DIR, true).filter((d) => judgeCapabilities(d.judge).raises.includes('usb-stall')).map((d) => d.name));
}

/** Stall counts per target over these runs (the current one included), targets in first-seen order. */
export function usbStallRates(runs: Pick<MatrixResult, 'cells'>[]): UsbStallRate[] {
  const by = new Map<string, UsbStallRate>();
  const bursts = burstScenarios();
  for (const r of runs) {
    const seen = new Set<string>();
    for (const c of r.cells) {
      if (!bursts.has(c.scenario) || c.status !== 'ran' || !c.attempts.length) continue;
      const e = by.get(c.target) ?? { target: c.target, runs: 0, bursts: 0, stalls: 0 };
      if (!seen.has(c.target)) (e.runs++, seen.add(c.target));
      for (const a of c.attempts) {
        // Counted per repeat; a run recorded before these counts existed says only whether the attempt stalled.
        e.bursts += a.repeats ?? 1;
        e.stalls += a.usbStalls ?? (a.verdict === 'ERROR' && (a.error ?? '').includes(USB_STALL) ? 1 : 0);
      }
      by.set(c.target, e);
    }
  }
  return [...by.values()];
}

/** The matrix.json of every kept run under `root` except `except` (unreadable ones are left out: they are history, not input). */
export async function keptRuns(root: string, except: string): Promise<MatrixResult[]> {
  const out: MatrixResult[] = [];
  for (const name of await listRuns(root)) {
    const dir = path.join(root, name);
    if (path.resolve(dir) === path.resolve(except)) continue;
    const file = path.join(dir, 'matrix.json');
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (!text) continue;
    try {
      out.push(checkMatrixResult(file, JSON.parse(text)));
    } catch {
      // An older or broken run does not stop tonight's report.
    }
  }
  return out;
}
