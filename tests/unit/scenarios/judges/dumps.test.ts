import { describe, expect, it } from 'vitest';
import { askedOf, judgeHang, judgeInjected } from '../../../../lab/scenarios/judges/dumps.ts';
import { type ProbeResult } from '../../../../lab/model/scenario-result.ts';

const churned = (x: Record<string, unknown>): ProbeResult => ({ probe: 'dump-hang', ok: true, iterations: 100_000, hangs: 0, recoveries: 0, errors: 0, stoppedBy: 'iterations', minSockets: 200, maxSockets: 252, setChanges: 9000, ...x });

describe('the nightly B5 bound, against the field rate', () => {
  it('says the bound is below the field rate after about 90000 hang-free dumps, and not before', () => {
    expect(judgeHang(churned({}), 100_000)).toEqual({ outcome: 'PASS', symptom: "no hang in 100000 dumps (95% upper bound on the hang rate 3.0e-5, below the field's 3.3e-5)" });
    expect(judgeHang(churned({ iterations: 80_000 }), 80_000).symptom).toContain("3.7e-5, not below the field's 3.3e-5: too few dumps to bound it");
    // With hangs the bound is high because of them, not for want of dumps.
    expect(judgeHang(churned({ ok: false, hangs: 3 }), 100_000).symptom).toBe("hangs=3/100000 (95% upper bound on the hang rate 7.8e-5, above the field's 3.3e-5)");
  });
});

const injected = (x: Record<string, unknown>): ProbeResult => ({ probe: 'dump-hang', ok: true, fault: 'continuation', faultReady: true, iterations: 5, asked: 5, hangs: 0, recoveries: 5, errors: 0, armed: 5, enobufs: 5, stoppedBy: 'iterations', minSockets: 202, maxSockets: 202, setChanges: 0, ...x });

describe('the allocation-failure hypothesis (fault continuation)', () => {
  it('is a FAIL when the reader hung after the injected ENOBUFS, with the proof that it fired', () => {
    expect(judgeHang(injected({ ok: false, hangs: 5, recoveries: 0 }), 5, 'continuation')).toEqual({ outcome: 'FAIL', symptom: "hangs=5/5: the next chunk's allocation failed in 5 dumps (ENOBUFS 5); the reader's recv after ENOBUFS never returned" });
  });
  it('is a PASS when every armed dump ended, and needs no churn for it', () => {
    expect(judgeHang(injected({}), 5, 'continuation')).toEqual({ outcome: 'PASS', symptom: "no hang in 5 dumps: the next chunk's allocation failed in 5 dumps (ENOBUFS 5); every dump ended (202–202 sockets), each re-requested after its poll timeout (5 recoveries)" });
    expect(judgeInjected(injected({ recoveries: 0 }), 5).symptom).toContain('0 re-requested after a poll timeout, the rest went on by themselves');
  });
  it('is judged by the mode the lab asked for, not by what the result line says', () => {
    expect(judgeHang(injected({}), 5, 'none')).toEqual({ outcome: 'ERROR', symptom: 'cannot judge: the reader was asked for fault=none and reports fault=continuation (a probe built before it knew that mode?)' });
    // An older probe ignores the sixth argument and prints no fault: never judged as a plain churn run.
    expect(judgeHang(churned({ iterations: 5 }), 5, 'continuation').outcome).toBe('ERROR');
  });
  it('is an ERROR when the failure could not be armed or did not fire', () => {
    expect(judgeInjected(injected({ faultReady: false, faultError: 'mount debugfs: ENODEV', iterations: 0, armed: 0 }), 5).symptom).toBe('cannot judge: the allocation failure could not be armed (mount debugfs: ENODEV): the kernel needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS');
    expect(judgeInjected(injected({ enobufs: 3 }), 5)).toEqual({ outcome: 'ERROR', symptom: "cannot judge: ENOBUFS came back in 3 of 5 armed dumps: the injected failure did not hit the dump's next chunk" });
    expect(judgeInjected(injected({ armed: 4 }), 5).outcome).toBe('ERROR');
    expect(judgeInjected(injected({ armed: undefined }), 5).outcome).toBe('ERROR');
    expect(judgeInjected(injected({ errors: 1 }), 5).outcome).toBe('ERROR');
    expect(judgeInjected(injected({ minSockets: -1, maxSockets: 0 }), 5).symptom).toBe('cannot judge: no dump ended with a socket in it (minSockets=-1): nothing shows the dumps were read to their end');
    expect(judgeInjected(injected({ iterations: 3, armed: 3, enobufs: 3, stoppedBy: 'budget' }), 5).outcome).toBe('ERROR');
  });
});

describe('what the reader was asked for', () => {
  it('comes from the argv the lab sends, so a definition can fix it whatever --iterations says', () => {
    expect(askedOf(['blocking', '5', '60000', '2000', '500', 'continuation'])).toEqual({ iterations: 5, budgetMs: 60000, fault: 'continuation' });
    expect(askedOf(['poll', '100000', '240000'])).toEqual({ iterations: 100000, budgetMs: 240000, fault: 'none' });
    expect(() => askedOf(['poll', '5', '60000', '2000', '500', 'sometimes'])).toThrow(/none\|continuation/);
  });
  it('is a usage error naming the definition field when the argv has no counts there', () => {
    expect(() => askedOf(['blocking', '{iterations}', '60000'])).toThrow(/fix the definition's probe.args/);
    expect(() => askedOf(['blocking'])).toThrow(/MODE ITERATIONS BUDGET_MS/);
  });
});
