import { describe, expect, it } from 'vitest';
import { CODE_JUDGES, JUDGE_CAPABILITIES, judgeCapabilities } from '../../../lab/catalog/scenario-defs.ts';
import { usbStallRates } from '../../../lab/matrix/usb-stalls.ts';
import type { MatrixCellResult } from '../../../lab/model/matrix-result.ts';
import { notPackable } from '../../../lab/scenarios/portable.ts';
import { allScenarios } from '../../../lab/scenarios/registry.ts';

/*
 * A code judge says once what it needs; the pack and the matrix ask the table.
 * These checks fail when a consumer goes back to comparing judge names: the
 * table is changed in memory and the consumer must follow it.
 */
describe('judge capabilities', () => {
  it('every code judge has an entry, and a counts judge needs a probe and nothing of the host', () => {
    expect(Object.keys(JUDGE_CAPABILITIES).sort()).toEqual([...CODE_JUDGES].sort());
    expect(judgeCapabilities({ truth: 'net', equal: {}, failSymptom: '', countsOnFail: false })).toMatchObject({ needsProbe: true, needsHostQmp: false, raises: [] });
  });

  it("the pack's refusal is the judge's own notInPack, whatever the judge is called", () => {
    const getifaddrs = allScenarios().find((s) => s.name === 'getifaddrs')!;
    expect(notPackable(getifaddrs)).toBeUndefined();
    const saved = JUDGE_CAPABILITIES.getifaddrs.notInPack;
    JUDGE_CAPABILITIES.getifaddrs.notInPack = 'needs something a pack lacks';
    try {
      expect(notPackable(getifaddrs)).toBe('needs something a pack lacks');
    } finally {
      if (saved === undefined) delete JUDGE_CAPABILITIES.getifaddrs.notInPack;
      else JUDGE_CAPABILITIES.getifaddrs.notInPack = saved;
    }
  });

  it('a code judge with neither a pack rule nor a reason is refused by the pack, not judged with another rule', () => {
    const getifaddrs = allScenarios().find((s) => s.name === 'getifaddrs')!;
    const saved = JUDGE_CAPABILITIES.getifaddrs.packRule;
    delete JUDGE_CAPABILITIES.getifaddrs.packRule;
    try {
      expect(notPackable(getifaddrs)).toBe('its judge (getifaddrs) has no rule in judge.awk');
    } finally {
      JUDGE_CAPABILITIES.getifaddrs.packRule = saved;
    }
  });

  it('the USB stall rate counts the cells of every judge that raises usb-stall, and only those', () => {
    const cell = (scenario: string): MatrixCellResult => ({ target: 't', scenario, status: 'ran', attempts: [{ verdict: 'CONFIRMED', repeats: 2, usbStalls: 1, durationMs: 1 }] }) as unknown as MatrixCellResult;
    const run = { cells: [cell('uevent'), cell('getifaddrs')] };
    expect(usbStallRates([run])).toEqual([{ target: 't', runs: 1, bursts: 2, stalls: 1 }]);
    JUDGE_CAPABILITIES.getifaddrs.raises = ['usb-stall'];
    try {
      expect(usbStallRates([run])).toEqual([{ target: 't', runs: 1, bursts: 4, stalls: 2 }]);
    } finally {
      JUDGE_CAPABILITIES.getifaddrs.raises = [];
    }
  });
});
