import { describe, expect, it } from 'vitest';
import { fillTemplate } from '../../../lab/scenarios/counts-judge.ts';

describe('a symptom template reads the probe line\'s own fields only', () => {
  it('fills what the probe printed and the truth counted', () => {
    expect(fillTemplate('errno={error} after {requests}, sockets {sockets}/{truth.tcp}', { probe: 'p', ok: false, error: 'EBUSY', requests: 3, sockets: 2 }, { tcp: 5 })).toBe('errno=EBUSY after 3, sockets 2/5');
    expect(fillTemplate('{missing} {truth.udp}', { probe: 'p', ok: true }, { tcp: 5 })).toBe('? 0');
  });

  it('an inherited name ({constructor}, {toString}, {truth.constructor}) is absent, not Object.prototype', () => {
    const r = { probe: 'p', ok: false };
    expect(fillTemplate('{constructor} {toString} {hasOwnProperty}', r)).toBe('? ? ?');
    expect(fillTemplate('{truth.constructor} {truth.valueOf}', r, { tcp: 1 })).toBe('0 0');
  });

  it('a field the probe printed under such a name is still its own', () => {
    expect(fillTemplate('{constructor}', JSON.parse('{"probe":"p","ok":false,"constructor":"x"}'))).toBe('x');
  });
});
