import { describe, expect, it } from 'vitest';
import { parseBurst } from '../../../lab/fabric/usb-plan.ts';
import { sweepSvg } from '../../../lab/report/sweep-plot.ts';
import { paramsAt, parseRange, rangeValues, summarizeSweep, thresholdText, type SweepPoint } from '../../../lab/scenarios/sweep.ts';
import { type ScenarioResult } from '../../../lab/model/scenario-result.ts';
import { findingOf } from '../../../lab/workflows/validate-patch.ts';

const point = (value: number, unpatched: SweepPoint['unpatched'], patched: SweepPoint['patched'] = 'PASS', key = {}): SweepPoint => ({
  value,
  unpatched,
  patched,
  unpatchedSymptom: unpatched === 'FAIL' ? 'errno=EBUSY' : 'ok',
  patchedSymptom: 'ok',
  key,
  evidenceDir: '/tmp/x',
});

describe('sweeps', () => {
  it('parses ranges with an optional step and rejects nonsense', () => {
    expect(rangeValues(parseRange('--interfaces', '0..64:16'))).toEqual([0, 16, 32, 48, 64]);
    expect(rangeValues(parseRange('--burst', '3..5'))).toEqual([3, 4, 5]);
    expect(() => parseRange('--interfaces', '64..0')).toThrow(/TO must be >= FROM/);
    expect(() => parseRange('--interfaces', '0-64')).toThrow(/expected FROM..TO/);
    expect(() => parseRange('--sockets', '0..100000')).toThrow(/more than 512 points/);
  });

  it('finds the threshold as the smallest failing value and lists patched failures and errors', () => {
    const s = summarizeSweep('getifaddrs-mechanism', 't', 'interfaces', [point(0, 'PASS'), point(8, 'PASS'), point(16, 'FAIL'), point(24, 'PASS'), point(32, 'FAIL', 'FAIL'), point(40, 'ERROR', 'ERROR')]);
    expect(s.threshold).toBe(16);
    expect(s.patchedFailures).toEqual([32, 40]);
    expect(s.errors).toEqual([40]);
    expect(summarizeSweep('x', 't', 'sockets', [point(1, 'PASS')]).threshold).toBeUndefined();
    // An ERROR below the first failure could hide a smaller threshold: none is claimed.
    const hidden = summarizeSweep('x', 't', 'interfaces', [point(0, 'PASS'), point(8, 'ERROR', 'ERROR'), point(16, 'FAIL')]);
    expect(hidden.threshold).toBeUndefined();
    expect(hidden.errors).toEqual([8]);
    expect(thresholdText(hidden)).toBe('threshold unknown: the unpatched variant was not judged at interfaces = 8 (ERROR) before any failure');
    // A patched-only ERROR says nothing about the unpatched threshold.
    const patchedOnly = summarizeSweep('x', 't', 'interfaces', [point(0, 'PASS', 'ERROR'), point(8, 'PASS')]);
    expect(thresholdText(patchedOnly)).toBe('no threshold: the unpatched variant passed at every interfaces value');
  });

  it('varies only the swept parameter', () => {
    expect(paramsAt('interfaces', 12, { buffer: 100 }, {})).toEqual({ buffer: 100, interfaces: 12 });
    const burst = parseBurst('kbd:10@50ms+enum');
    expect(paramsAt('burst', 3, {}, { burst })).toEqual({ burst: { ...burst, count: 3 } });
  });

  it('plots outcomes, the threshold and the measured key number as SVG', () => {
    const s = summarizeSweep('getifaddrs-mechanism', 'mips-malta16k-3.10-uclibc', 'interfaces', [
      point(0, 'PASS', 'PASS', { firstChunkBytes: 2000 }),
      point(8, 'FAIL', 'PASS', { firstChunkBytes: 5000 }),
    ]);
    const svg = sweepSvg(s);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('threshold 8');
    expect(svg).toContain('firstChunkBytes');
    expect(svg.match(/<circle/g)).toHaveLength(4);
    expect(svg).toContain('interfaces=8: FAIL errno=EBUSY');
  });
});

const result = (verdict: ScenarioResult['verdict']) => ({ scenario: 'getifaddrs', verdict, variants: [] }) as unknown as ScenarioResult;

describe('validate-patch findings', () => {
  it('turns verdicts into what the patch did', () => {
    expect(findingOf([result('CONFIRMED')]).finding).toBe('FIXES');
    expect(findingOf([result('NOT_REPRODUCED')]).finding).toBe('NOTHING_TO_FIX');
    expect(findingOf([result('FIX_INEFFECTIVE')]).finding).toBe('DOES_NOT_FIX');
    expect(findingOf([result('CONFIRMED'), result('PATCH_REGRESSION')]).finding).toBe('REGRESSION');
    expect(findingOf([result('CONFIRMED'), result('ERROR')]).finding).toBe('ERROR');
  });
});
