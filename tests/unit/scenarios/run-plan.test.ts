import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../../lab/scenarios/registry.ts';
import { scenarioPlan } from '../../../lab/scenarios/run-plan.ts';
import { scenarioFromDefinition } from '../../../lab/scenarios/from-definition.ts';
import { LIBC_VARIANTS } from '../../helpers.ts';

/** A step as one short line, to compare orders. */
const shown = (s: { kind?: string; step?: string; phase?: string; truth?: string; argv?: string[] }) => [s.kind ?? s.step, s.phase, s.truth, s.argv?.join(' ')].filter(Boolean).join(' ');

describe('a scenario as a run plan', () => {
  it("getifaddrs: the links once, settled; per repeat the truth, each variant's dynamically linked probe in order, the truth again", () => {
    const plan = scenarioPlan(scenarioByName('getifaddrs'), LIBC_VARIANTS, { interfaces: 40 }, 2);
    expect(plan.fabric.map((s) => s.step)).toEqual(['links', 'truth']);
    expect(plan.fabric[0]).toMatchObject({ plan: { links: 40 } });
    expect(plan.fabric[1]).toEqual({ step: 'truth', settle: true });
    expect(plan.repeat.map(shown)).toEqual([
      'truth before net',
      'probe /opt/reprolab/probes/unpatched/shared/ifaddrs-probe --list',
      'probe /opt/reprolab/probes/patched/shared/ifaddrs-probe --list',
      'truth after net',
    ]);
    expect(plan.repeats).toBe(2);
  });

  it("dump-read: held sockets, the /proc/net truth, the reader's arguments per role from the definition", () => {
    const plan = scenarioPlan(scenarioByName('dump-read'), LIBC_VARIANTS, { sockets: 300 }, 1);
    expect(plan.fabric).toEqual([{ step: 'sockets', sockets: [{ kind: 'tcp', count: 300 }] }, { step: 'truth', settle: false }]);
    // A reader scenario runs the statically linked probe: the variants are readers, not libcs.
    expect(plan.repeat.map(shown)).toEqual(['truth before sockets', 'probe /opt/reprolab/probes/unpatched/diag-dump once', 'probe /opt/reprolab/probes/patched/diag-dump loop', 'truth after sockets']);
  });

  it('a churn daemon starts before the first truth read and stops after the last', () => {
    const def = scenarioByName('dump-read').definition!;
    const churned = scenarioFromDefinition({ ...def, fabric: { ...def.fabric, churn: { sockets: 8, links: 2, periodMs: 50 } } });
    const steps = scenarioPlan(churned, LIBC_VARIANTS, { sockets: 300 }, 1).repeat;
    expect(steps[0]).toEqual({ kind: 'churn-start', churn: { sockets: 8, links: 2, periodMs: 50 } });
    expect(steps.at(-1)).toEqual({ kind: 'churn-stop' });
    expect(steps.slice(1, -1).map(shown)[0]).toBe('truth before sockets');
  });

  it('a judge that is not a probe between two truth reads has no plan, and says so', () => {
    expect(() => scenarioPlan(scenarioByName('uevent'), LIBC_VARIANTS, {}, 1)).toThrow(/uevent: its repetition is not a probe between two truth reads/);
    expect(() => scenarioPlan(scenarioByName('dump-hang'), LIBC_VARIANTS, {}, 1)).toThrow(/no run plan/);
  });
});
