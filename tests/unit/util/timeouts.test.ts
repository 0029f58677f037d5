import { describe, expect, it } from 'vitest';
import { parseMultiplier, setTimeoutMultiplier, timeout, TIMEOUTS } from '../../../lab/util/timeouts.ts';
import { buildProgram } from '../../../lab/cli/main.ts';

describe('one timeout table with a multiplier', () => {
  it('scales every bound together and refuses nonsense', () => {
    setTimeoutMultiplier(2.5);
    for (const name of Object.keys(TIMEOUTS) as (keyof typeof TIMEOUTS)[]) expect(timeout(name)).toBe(Math.round(TIMEOUTS[name] * 2.5));
    setTimeoutMultiplier(1);
    expect(timeout('guestReady')).toBe(TIMEOUTS.guestReady);
    for (const bad of ['0', '-1', 'x', '101', '']) expect(() => parseMultiplier(bad, '--timeout-multiplier')).toThrow(/--timeout-multiplier .*expected a number above 0/);
  });

  it('--timeout-multiplier sets it before any action runs', async () => {
    const program = buildProgram();
    program.commands.find((c) => c.name() === 'targets')!.action(() => undefined);
    await program.parseAsync(['node', 'reprolab', '--timeout-multiplier', '3', 'targets']);
    expect(timeout('qmpCommand')).toBe(3 * TIMEOUTS.qmpCommand);
    setTimeoutMultiplier(1);
  });
});
