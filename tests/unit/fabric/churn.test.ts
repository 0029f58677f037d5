import { describe, expect, it } from 'vitest';
import { churnDelta, churnShortfall, type ChurnStats } from '../../../lab/fabric/guest-ops.ts';

const at = (x: Partial<ChurnStats>): ChurnStats => ({ rounds: 0, socketsOpened: 0, socketFailures: 0, linkRounds: 0, linksAdded: 0, linkFailures: 0, linksDeleted: 0, ...x });
const spec = { sockets: 50, links: 4 };

describe('a verdict "under churn" needs the churn to have run while the probes ran', () => {
  it('rounds with sockets re-opened and links added and deleted, no failure: in effect', () => {
    expect(churnShortfall(spec, churnDelta(at({ rounds: 3, socketsOpened: 75, linksAdded: 12, linksDeleted: 8 }), at({ rounds: 503, socketsOpened: 12575, linksAdded: 2012, linksDeleted: 2008 })))).toBeUndefined();
  });

  it('a daemon that stopped (or never ran) while the probes ran', () => {
    const same = at({ rounds: 7, socketsOpened: 175, linksAdded: 28, linksDeleted: 24 });
    expect(churnShortfall(spec, churnDelta(same, same))).toBe('the churn daemon ran 0 rounds while the probes ran');
  });

  it('rounds without links, or with failed operations', () => {
    expect(churnShortfall(spec, churnDelta(at({}), at({ rounds: 100, socketsOpened: 2500 })))).toBe('no link was added or deleted while 100 socket rounds ran');
    // Link operations are slow on an emulated CPU: one that completed during the probes is churn.
    expect(churnShortfall(spec, churnDelta(at({}), at({ rounds: 25, socketsOpened: 625, linkRounds: 0, linksDeleted: 0, linksAdded: 1 })))).toBeUndefined();
    expect(churnShortfall(spec, churnDelta(at({}), at({ rounds: 100, socketsOpened: 2500, linksAdded: 10, linksDeleted: 6, linkFailures: 390 })))).toBe('0 socket and 390 link operations failed in 100 rounds');
    expect(churnShortfall({ sockets: 50, links: 0 }, churnDelta(at({}), at({ rounds: 100, socketFailures: 2500 })))).toBe('no socket was re-opened in 100 rounds');
  });
});
