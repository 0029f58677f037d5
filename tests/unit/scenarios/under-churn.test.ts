import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../../lab/guest/ssh.ts';
import { scenarioByName } from '../../../lab/scenarios/registry.ts';
import type { ScenarioContext, ScenarioGuest, VariantPlan } from '../../../lab/scenarios/types.ts';
import { sleep } from '../../../lab/util/lifetime.ts';
import { emptyFabricReport, sampleManifest, tempDirs, unusedConsole, unusedQmp } from '../../helpers.ts';

/*
 * B5 claims "under churn": the churn daemon must run from before the first dump to after the
 * last, and its counters must show it worked meanwhile. A fake guest answers the helper and the
 * probe (which takes a while, as 2000 dumps do) and records what happened in which order.
 */
function churnGuest(moving: boolean) {
  const events: string[] = [];
  let round = 0;
  const guest = {
    consoleLog: '/tmp/fake-console.log',
    manifest: sampleManifest(),
    qmp: unusedQmp,
    vm: { running: true, console: unusedConsole },
    async exec(argv: string[]): Promise<ExecResult> {
      const cmd = argv.join(' ');
      let out = '';
      if (cmd.includes('rl-fabric churn')) out = 'REPROLAB-FABRIC {"ok":true,"pid":321}\n';
      else if (cmd === 'cat /tmp/rl-churn-321') {
        if (moving) round += 50;
        out = `REPROLAB-FABRIC {"ok":true,"rounds":${round},"socketsOpened":${round * 25},"socketFailures":0,"linkRounds":${round},"linksAdded":${round * 4},"linkFailures":0,"linksDeleted":${Math.max(0, round - 1) * 4}}\n`;
      } else if (cmd.includes('/dump-hang ')) {
        events.push('probe start');
        await sleep(30);
        events.push('probe end');
        out = 'REPROLAB-RESULT {"probe":"dump-hang","ok":true,"asked":2000,"iterations":2000,"hangs":0,"recoveries":0,"errors":0,"stoppedBy":"iterations","minSockets":226,"maxSockets":252,"setChanges":80}\n';
      } else if (cmd.includes('kill 321')) events.push('churn stopped');
      else if (cmd.includes('links-del')) out = 'REPROLAB-FABRIC {"ok":true,"deleted":4,"failed":0}\n';
      return { exitCode: 0, stdout: out, stderr: '', stdoutBuffer: Buffer.from(out) };
    },
  } satisfies ScenarioGuest;
  return { guest, events };
}

async function repeatWith(guest: ScenarioGuest) {
  const { root } = await tempDirs();
  const variants: VariantPlan[] = [
    { variant: 'legacy', role: 'unpatched', probeDir: '/opt/reprolab/probes/system', describe: 'legacy' },
    { variant: 'fixed', role: 'patched', probeDir: '/opt/reprolab/probes/system', describe: 'fixed' },
  ];
  const ctx: ScenarioContext = { guest, manifest: sampleManifest(), params: { iterations: 2000, budgetMs: 60_000 }, variants, evidenceDir: root, repeat: 1, fabric: emptyFabricReport() };
  return scenarioByName('dump-hang').repeat(ctx);
}

describe('B5 runs under churn, and proves it', () => {
  it('the churn daemon is stopped only after the last probe has finished', async () => {
    const { guest, events } = churnGuest(true);
    const r = await repeatWith(guest);
    expect(events).toEqual(['probe start', 'probe end', 'probe start', 'probe end', 'churn stopped']);
    expect(r.runs.map((x) => x.outcome)).toEqual(['PASS', 'PASS']);
    expect(r.key).toMatchObject({ churnRounds: 50, churnSocketsOpened: 1250, churnLinksAdded: 200 });
  });

  it('a churn whose counters did not move while the probes ran makes every run an ERROR that says so', async () => {
    const { guest } = churnGuest(false);
    const r = await repeatWith(guest);
    expect(r.runs.map((x) => x.outcome)).toEqual(['ERROR', 'ERROR']);
    expect(r.runs[0]!.symptom).toMatch(/^the churn did not take effect: the churn daemon ran 0 rounds while the probes ran/);
  });
});
