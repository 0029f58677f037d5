import { describe, expect, it } from 'vitest';
import { GuestSession, retryOnFreshBoot, type SessionGuest } from '../../../lab/fabric/session.ts';
import type { LabDirs } from '../../../lab/util/paths.ts';

/** A guest with only what the session touches: whether its VM runs, and stop. */
function fakes(said: string[] = []) {
  const started: { n: number; logDir: string; running: boolean; stopped: boolean }[] = [];
  const start = async (_bundle: string, o: { logDir: string }) => {
    const g = { n: started.length + 1, logDir: o.logDir, running: true, stopped: false };
    started.push(g);
    return { vm: { get running() { return g.running; } }, stop: async () => { g.stopped = true; g.running = false; } } satisfies SessionGuest;
  };
  const session = new GuestSession({ bundleDir: '/b', dirs: {} as LabDirs, runDir: '/run', start, progress: (l) => said.push(l) });
  return { started, session };
}

describe('GuestSession', () => {
  it('off → booted on first use, kept while it runs, broken when its VM stops, a fresh boot after', async () => {
    const { started, session } = fakes();
    expect(session.state).toBe('off');
    const a = await session.guest();
    expect(session.state).toBe('booted');
    expect(await session.guest()).toBe(a);
    expect(started.map((g) => g.logDir)).toEqual(['/run/boot-1']);
    started[0]!.running = false;
    expect(session.state).toBe('broken');
    await session.guest();
    expect(started.map((g) => g.logDir)).toEqual(['/run/boot-1', '/run/boot-2']);
    expect(session.boots).toBe(2);
  });

  it('a guest the lab stops trusting is stopped at once and replaced on the next use; stop makes it off', async () => {
    const said: string[] = [];
    const { started, session } = fakes(said);
    await session.guest();
    await session.retire('its files could not be removed');
    expect(started[0]!.stopped).toBe(true);
    expect(session.state).toBe('off');
    expect(said).toContain('stopping the guest (boot 1): its files could not be removed');
    await session.guest();
    expect(session.state).toBe('booted');
    await session.stop();
    expect(session.state).toBe('off');
    expect(started[1]!.stopped).toBe(true);
  });

  it('retryOnFreshBoot: one more try on a fresh boot only when the first could not be judged, and says why', async () => {
    const { started, session } = fakes();
    const tries: number[] = [];
    const ok = await retryOnFreshBoot(session, async (n) => (tries.push(n), await session.guest(), 'PASS'), (v) => (v === 'ERROR' ? 'lab error' : undefined));
    expect(ok).toEqual({ first: 'PASS', last: 'PASS' });
    const said: string[] = [];
    const again = await retryOnFreshBoot(session, async (n) => (tries.push(n), await session.guest(), n === 1 ? 'ERROR' : 'FAIL'), (v) => (v === 'ERROR' ? 'lab error' : undefined), (why) => said.push(why));
    expect(again).toEqual({ first: 'ERROR', last: 'FAIL', retried: 'lab error' });
    expect(said).toEqual(['lab error']);
    expect(tries).toEqual([1, 1, 2]);
    expect(started.length).toBe(2);
    expect(started[0]!.stopped).toBe(true);
  });
});
