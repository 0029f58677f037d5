import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../../lab/scenarios/registry.ts';
import { guestScript } from '../../../lab/workflows/repro/guest-script.ts';
import { notPackable } from '../../../lab/scenarios/portable.ts';
import { scenarioPlan, type RunPlan } from '../../../lab/scenarios/run-plan.ts';
import { LIBC_VARIANTS } from '../../helpers.ts';

/** guest.sh goes into the guest through a serial console in canonical mode: what that transport demands of it. */
describe('a repro pack guest script', () => {
  const getifaddrs = scenarioByName('getifaddrs');
  const plan = scenarioPlan(getifaddrs, LIBC_VARIANTS, { interfaces: 64 }, 3);
  const dumpRead = scenarioPlan(scenarioByName('dump-read'), [LIBC_VARIANTS[0]!], { sockets: 500 }, 1);
  const script = guestScript({ plan, payload: { base64: `${'QUJD'.repeat(19)}\n`.repeat(400).trimEnd(), sha256: 'a'.repeat(64) } });
  const lines = script.split('\n');

  it('has no line a tty would cut (4095 bytes in canonical mode) and no control character (^C, ^D, ^Z…)', () => {
    expect(Math.max(...lines.map((l) => Buffer.byteLength(l)))).toBeLessThan(1024);
    expect(/[\x00-\x08\x0b-\x1f\x7f]/.test(script)).toBe(false);
  });

  it("never prints a marker literally: the console echo of the script cannot pass for the guest's output", () => {
    expect(lines.filter((l) => /^REPROLAB-/.test(l))).toEqual([]);
    expect(script).not.toMatch(/REPROLAB-(RESULT|FABRIC|PACK-)/);
  });

  it('runs the fabric once, then per repeat the truth before, each variant, the truth after', () => {
    expect(script.match(/links-add/g)).toHaveLength(1);
    expect(guestScript({ plan: dumpRead })).toContain('$H sockets tcp:500');
    const loop = script.slice(script.indexOf('while [ $r -le 3 ]'));
    const order = ['TRUTH before', 'RUN unpatched', 'unpatched/shared/ifaddrs-probe --list', 'RUN patched', 'TRUTH after', 'DONE'].map((m) => loop.indexOf(m));
    expect(order.every((p) => p >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('refuses to write a script the console would cut or act on', () => {
    const withArg = (arg: string): RunPlan => ({ fabric: [], repeats: 1, repeat: [{ kind: 'probe', variant: LIBC_VARIANTS[0]!, program: 'p', argv: ['/p', arg] }] });
    expect(() => guestScript({ plan: withArg('x'.repeat(2000)) })).toThrow(/cannot travel over the serial console/);
    expect(() => guestScript({ plan: withArg('a\u0004b') })).toThrow(/cannot travel over the serial console/);
    expect(() => guestScript({ plan: { fabric: [{ step: 'uevent-trigger', count: 5 }], repeat: [], repeats: 1 } })).toThrow(/needs the lab's QMP/);
  });

  it('says which scenarios it cannot carry, and why', () => {
    expect(notPackable(scenarioByName('uevent'))).toMatch(/QMP/);
    expect(notPackable(scenarioByName('dump-hang'))).toMatch(/watchdog/);
    for (const s of ['getifaddrs', 'getifaddrs-mechanism', 'dump-read', 'dump-buffer']) expect(notPackable(scenarioByName(s)), s).toBeUndefined();
  });
});
