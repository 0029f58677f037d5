import { describe, expect, it } from 'vitest';
import { parseExpectations } from '../../../lab/catalog/expectations.ts';
import type { NetTruth } from '../../../lab/fabric/truth.ts';
import { judgeHang } from '../../../lab/scenarios/judges/dumps.ts';
import { judgeGetifaddrs } from '../../../lab/scenarios/judges/getifaddrs.ts';
import { judgeAgainstEither } from '../../../lab/scenarios/truth-read.ts';
import { judgeCounts, netCounts } from '../../../lab/scenarios/counts-judge.ts';
import { scenarioByName } from '../../../lab/scenarios/registry.ts';
import type { CountsJudge } from '../../../lab/catalog/scenario-defs.ts';
import { judgeListener } from '../../../lab/scenarios/judges/uevent.ts';
import { errnoName, parseResult } from '../../../lab/scenarios/result-line.ts';
import { type ProbeResult } from '../../../lab/model/scenario-result.ts';
import { formatRanges, missingSeqnums, parseRanges } from '../../../lab/scenarios/seqnums.ts';
import { aggregate, pairVerdict } from '../../../lab/scenarios/verdict.ts';


/** The built-in declarative rules, as their definitions in images/scenarios state them. */
const ruleOf = (name: string) => scenarioByName(name).definition!.judge as CountsJudge;
const judgeMechanism = (r: ProbeResult, t: NetTruth) => judgeCounts(ruleOf('getifaddrs-mechanism'), r, netCounts(t));
const judgeDump = (r: ProbeResult, tcp: number, scenario = 'dump-buffer') => judgeCounts(ruleOf(scenario), r, { tcp, tcp6: 0, udp: 0, udp6: 0, unix: 0 });

describe('paired verdicts', () => {
  it('follows the rule for every pair of outcomes', () => {
    expect(pairVerdict('FAIL', 'PASS')).toBe('CONFIRMED');
    expect(pairVerdict('PASS', 'PASS')).toBe('NOT_REPRODUCED');
    expect(pairVerdict('FAIL', 'FAIL')).toBe('FIX_INEFFECTIVE');
    expect(pairVerdict('PASS', 'FAIL')).toBe('PATCH_REGRESSION');
    for (const o of ['PASS', 'FAIL', 'ERROR'] as const) {
      expect(pairVerdict('ERROR', o)).toBe('ERROR');
      expect(pairVerdict(o, 'ERROR')).toBe('ERROR');
    }
    expect(pairVerdict('FAIL')).toBe('REPRODUCED');
    expect(pairVerdict('PASS')).toBe('NOT_REPRODUCED');
    expect(pairVerdict('ERROR')).toBe('ERROR');
  });

  it('aggregates repeats into a verdict and a rate, and never lets an ERROR pass', () => {
    expect(aggregate([{ unpatched: 'FAIL', patched: 'PASS' }, { unpatched: 'PASS', patched: 'PASS' }])).toEqual({ verdict: 'CONFIRMED', reproduced: 1, repeats: 2, errors: 0 });
    expect(aggregate([{ unpatched: 'FAIL', patched: 'PASS' }, { unpatched: 'FAIL', patched: 'ERROR' }]).verdict).toBe('ERROR');
    expect(aggregate([{ unpatched: 'FAIL', patched: 'PASS' }, { unpatched: 'PASS', patched: 'FAIL' }]).verdict).toBe('FIX_INEFFECTIVE');
    expect(aggregate([{ unpatched: 'PASS', patched: 'PASS' }, { unpatched: 'PASS', patched: 'FAIL' }]).verdict).toBe('PATCH_REGRESSION');
    expect(aggregate([{ unpatched: 'PASS' }, { unpatched: 'FAIL' }])).toEqual({ verdict: 'REPRODUCED', reproduced: 1, repeats: 2, errors: 0 });
    expect(aggregate([]).verdict).toBe('ERROR');
  });

});

describe('result lines', () => {
  it('names errno numbers per architecture (ENOBUFS is 105 on ARM, 132 on MIPS)', () => {
    expect(errnoName('arm', 105)).toBe('ENOBUFS');
    expect(errnoName('mipsel', 132)).toBe('ENOBUFS');
    expect(errnoName('mipsel', 97)).toBe('EMSGSIZE');
    expect(errnoName('arm', 90)).toBe('EMSGSIZE');
    expect(errnoName('arm', 16)).toBe('EBUSY');
    expect(errnoName('mipsel', 16)).toBe('EBUSY');
    expect(errnoName('arm', 9999)).toBe('errno 9999');
  });

  it('parses the one result line among other output and decodes an unnamed errno', () => {
    const out = 'noise\nREPROLAB-RESULT {"probe":"uevent","ok":false,"errno":132,"error":"EOTHER"}\nmore noise\n';
    expect(parseResult(out, 'mipsel', 'x')).toMatchObject({ ok: false, error: 'ENOBUFS' });
    expect(parseResult(out, 'arm', 'x').error).toBe('errno 132');
    expect(parseResult('REPROLAB-RESULT {"probe":"ifaddrs","ok":false,"errno":16,"error":"EBUSY"}', 'arm', 'x').error).toBe('EBUSY');
  });

  it('refuses missing, doubled and broken result lines', () => {
    expect(() => parseResult('Segmentation fault', 'arm', 'ifaddrs-probe')).toThrow(/expected one REPROLAB-RESULT line, got 0/);
    expect(() => parseResult('REPROLAB-RESULT {"probe":"a","ok":true}\nREPROLAB-RESULT {"probe":"a","ok":true}', 'arm', 'p')).toThrow(/got 2/);
    expect(() => parseResult('REPROLAB-RESULT {"probe":', 'arm', 'p')).toThrow(/broken result line/);
    expect(() => parseResult('REPROLAB-RESULT {"ok":true}', 'arm', 'p')).toThrow(/lacks "probe"/);
  });
});

describe('SEQNUM bookkeeping', () => {
  it('round-trips ranges and finds what a listener missed', () => {
    expect(parseRanges('516-518,520,522-523')).toEqual([516, 517, 518, 520, 522, 523]);
    expect(formatRanges([523, 516, 517, 518, 520, 522])).toBe('516-518,520,522-523');
    expect(parseRanges('')).toEqual([]);
    expect(missingSeqnums(515, 524, parseRanges('516-518,520,522-523'))).toEqual([519, 521, 524]);
  });
});

const truth: NetTruth = {
  links: [
    { index: 1, name: 'lo', kind: '', up: true },
    { index: 2, name: 'eth0', kind: '', up: true },
  ],
  addrs: [
    { index: 1, family: 'inet', address: '127.0.0.1', prefix: 8 },
    { index: 2, family: 'inet', address: '10.0.2.15', prefix: 24 },
    { index: 2, family: 'inet6', address: 'fe80::1', prefix: 64 },
  ],
  sysfs: ['eth0', 'lo'],
  mismatch: [],
  firstLinkChunkBytes: 1000,
  linkChunks: 2,
};
const entry = (name: string, family: string, address = '') => ({ name, family, address });

describe('judges', () => {
  it('getifaddrs passes only with every link and address of the ground truth', () => {
    const all = [entry('lo', 'packet'), entry('eth0', 'packet'), entry('lo', 'inet', '127.0.0.1'), entry('eth0', 'inet', '10.0.2.15'), entry('eth0', 'inet6', 'fe80::1')];
    const r = (entries: unknown[], ok = true): ProbeResult => ({ probe: 'ifaddrs', ok, entries });
    expect(judgeGetifaddrs(r(all), truth).outcome).toBe('PASS');
    // A link with no hardware address (eql) has an entry without ifa_addr: still present.
    expect(judgeGetifaddrs(r([...all.filter((e) => !(e.name === 'lo' && e.family === 'packet')), entry('lo', 'other')]), truth).outcome).toBe('PASS');
    expect(judgeGetifaddrs(r(all.filter((e) => e.name !== 'lo' || e.family !== 'packet').filter((e) => e.name !== 'lo')), truth).symptom).toMatch(/^incomplete: 1\/2 links/);
    expect(judgeGetifaddrs(r(all.slice(0, 4)), truth)).toMatchObject({ outcome: 'FAIL', symptom: expect.stringContaining('1 addresses missing (eth0 inet6 fe80::1)') });
    expect(judgeGetifaddrs({ probe: 'ifaddrs', ok: false, errno: 16, error: 'EBUSY' }, truth)).toEqual({ outcome: 'FAIL', symptom: 'errno=EBUSY' });
    // A probe that matches the truth read after it (a link-local appeared meanwhile) passes.
    const later: NetTruth = { ...truth, addrs: [...truth.addrs, { index: 1, family: 'inet6', address: '::1', prefix: 128 }] };
    expect(judgeAgainstEither(judgeGetifaddrs, r([...all, entry('lo', 'inet6', '::1')]), truth, later).outcome).toBe('PASS');
  });

  it('the mechanism probe passes only with complete counts', () => {
    expect(judgeMechanism({ probe: 'm', ok: true, links: 2, addrs: 3 }, truth).outcome).toBe('PASS');
    expect(judgeMechanism({ probe: 'm', ok: true, links: 2, addrs: 2 }, truth).symptom).toBe('incomplete: links 2/2, addrs 2/3');
    expect(judgeMechanism({ probe: 'm', ok: false, error: 'EBUSY', links: 0, addrs: 0, requests: 2, firstChunkBytes: 7000 }, truth).symptom).toBe('errno=EBUSY after 2 requests (first chunk 7000 B)');
  });

  it('a listener passes only when it saw every SEQNUM the kernel emitted', () => {
    expect(judgeListener({ probe: 'uevent', ok: true, enobufs: 0, otherErrors: 0, seqnums: '11-20' }, 10, 20)).toMatchObject({ outcome: 'PASS', lost: 0 });
    expect(judgeListener({ probe: 'uevent', ok: false, enobufs: 2, otherErrors: 0, firstError: 'ENOBUFS', seqnums: '11-13,17-20' }, 10, 20)).toEqual({ outcome: 'FAIL', symptom: 'ENOBUFS×2 lost=3/10 gaps=[14-16]', lost: 3 });
    // Losing events silently (no ENOBUFS seen) is still a failure.
    expect(judgeListener({ probe: 'uevent', ok: true, enobufs: 0, otherErrors: 0, seqnums: '11-19' }, 10, 20).outcome).toBe('FAIL');
  });

  it('dump readers pass only with exactly the sockets /proc/net/tcp lists', () => {
    expect(judgeDump({ probe: 'd', ok: true, sockets: 502, complete: true }, 502).outcome).toBe('PASS');
    expect(judgeDump({ probe: 'd', ok: true, sockets: 40, complete: false }, 502).symptom).toBe('incomplete: sockets 40/502 (no NLMSG_DONE)');
    expect(judgeDump({ probe: 'd', ok: false, error: 'EMSGSIZE', sockets: 100, maxChunkBytes: 32000, bufferBytes: 16384 }, 502).symptom).toBe(
      'errno=EMSGSIZE (largest chunk 32000 B, buffer 16384 B), sockets 100/502',
    );
  });

  it('a hang is a failure with its bound; zero iterations is an ERROR, not a pass', () => {
    const h = (x: Record<string, unknown>): ProbeResult => ({ probe: 'dump-hang', ok: true, iterations: 1000, hangs: 0, recoveries: 0, errors: 0, stoppedBy: 'iterations', minSockets: 251, maxSockets: 252, setChanges: 130, ...x });
    expect(judgeHang(h({ ok: false, iterations: 30000, hangs: 1 }), 30000).outcome).toBe('FAIL');
    expect(judgeHang(h({}), 1000).symptom).toBe("no hang in 1000 dumps (95% upper bound on the hang rate 0.0030, not below the field's 3.3e-5: too few dumps to bound it)");
    expect(judgeHang(h({ iterations: 0, stoppedBy: 'budget' }), 1000).outcome).toBe('ERROR');
  });
});

/** The rule: a PASS shows the reader ran, read, and matched a non-empty ground truth. */
describe('judges refuse to pass without proof', () => {
  const hang = (x: Record<string, unknown>): ProbeResult => ({ probe: 'dump-hang', ok: true, iterations: 2000, hangs: 0, recoveries: 0, errors: 0, stoppedBy: 'iterations', minSockets: 251, maxSockets: 252, setChanges: 130, ...x });

  it('B5: dumps that all failed, a missing count, a short run with no budget cut are ERRORs', () => {
    expect(judgeHang(hang({ ok: false, errors: 2000 }), 2000)).toEqual({ outcome: 'ERROR', symptom: 'cannot judge: 2000 of 2000 dumps failed with an error that is not a hang, so no hang rate was measured' });
    expect(judgeHang(hang({ errors: 1 }), 2000).outcome).toBe('ERROR');
    expect(judgeHang(hang({ iterations: undefined }), 2000).symptom).toMatch(/no whole-number iterations/);
    expect(judgeHang(hang({ hangs: 'NaN' }), 2000).outcome).toBe('ERROR');
    expect(judgeHang(hang({ errors: undefined }), 2000).outcome).toBe('ERROR');
    expect(judgeHang(hang({ ok: false }), 2000).outcome).toBe('ERROR');
    expect(judgeHang(hang({ iterations: 1500, stoppedBy: 'socket' }), 2000).outcome).toBe('ERROR');
    expect(judgeHang(hang({ iterations: 1500, stoppedBy: undefined }), 2000).outcome).toBe('ERROR');
    // Dumps that all counted one socket set ran without the churn they claim: no verdict "under churn".
    expect(judgeHang(hang({ minSockets: 202, maxSockets: 202, setChanges: 0 }), 2000)).toEqual({ outcome: 'ERROR', symptom: 'cannot judge: the churn did not take effect: all 2000 dumps saw the same socket set (202–202 sockets)' });
    expect(judgeHang(hang({ setChanges: undefined }), 2000).outcome).toBe('ERROR');
    // A hang is the symptom whatever the churn did.
    expect(judgeHang(hang({ ok: false, hangs: 1, setChanges: 0 }), 2000).outcome).toBe('FAIL');
    // A budget cut is allowed, and shown.
    expect(judgeHang(hang({ iterations: 1500, stoppedBy: 'budget' }), 2000)).toMatchObject({ outcome: 'PASS', symptom: expect.stringContaining('no hang in 1500 dumps of 2000 asked (the time budget ended the run)') });
  });

  it('B3/B4: no socket count, or an empty /proc/net/tcp, is an ERROR', () => {
    expect(judgeDump({ probe: 'diag-dump', ok: true, complete: true }, 502).outcome).toBe('ERROR');
    expect(judgeDump({ probe: 'diag-dump', ok: true, sockets: '502', complete: true }, 502).outcome).toBe('ERROR');
    expect(judgeDump({ probe: 'diag-dump', ok: true, sockets: 0, complete: true }, 0).outcome).toBe('ERROR');
    expect(judgeDump({ probe: 'diag-dump', ok: true, sockets: 5, complete: true }, Number.NaN).outcome).toBe('ERROR');
    // A reader that says it failed never passes, even with the right count.
    expect(judgeDump({ probe: 'diag-dump', ok: false, error: 'EIO', sockets: 502 }, 502).outcome).toBe('FAIL');
  });

  it('B1: an empty ground truth or a missing entry list is an ERROR', () => {
    const empty: NetTruth = { ...truth, links: [], addrs: [] };
    expect(judgeGetifaddrs({ probe: 'ifaddrs', ok: true, entries: [] }, empty).outcome).toBe('ERROR');
    expect(judgeGetifaddrs({ probe: 'ifaddrs', ok: true }, truth).outcome).toBe('ERROR');
    expect(judgeMechanism({ probe: 'm', ok: true, links: 0, addrs: 0 }, empty).outcome).toBe('ERROR');
    expect(judgeMechanism({ probe: 'm', ok: true, links: 2 }, truth).symptom).toMatch(/no whole-number addrs/);
    expect(judgeMechanism({ probe: 'm', ok: true }, truth).outcome).toBe('ERROR');
  });

  it('B2: no SEQNUM delta, no seqnums field, missing error counts, or errors with nothing lost are ERRORs', () => {
    const l = (x: Record<string, unknown>): ProbeResult => ({ probe: 'uevent', ok: true, enobufs: 0, otherErrors: 0, seqnums: '11-20', ...x });
    expect(judgeListener(l({}), 10, 20).outcome).toBe('PASS');
    expect(judgeListener(l({ seqnums: '' }), 10, 10).outcome).toBe('ERROR');
    expect(judgeListener(l({ seqnums: undefined }), 10, 20).outcome).toBe('ERROR');
    expect(judgeListener({ probe: 'uevent', ok: false, errno: 13, error: 'EACCES' }, 10, 20).outcome).toBe('ERROR');
    expect(judgeListener(l({ enobufs: undefined }), 10, 20).outcome).toBe('ERROR');
    // Receive errors that are not ENOBUFS, with nothing lost, are not the field symptom: the lab cannot judge them.
    expect(judgeListener(l({ ok: false, otherErrors: 3, firstError: 'EINTR' }), 10, 20)).toMatchObject({ outcome: 'ERROR', symptom: expect.stringContaining('other than ENOBUFS (first EINTR, 3 others)') });
    // With events lost they are shown beside the loss.
    expect(judgeListener(l({ ok: false, otherErrors: 3, firstError: 'EINTR', seqnums: '11-19' }), 10, 20)).toMatchObject({ outcome: 'FAIL', symptom: 'other errors×3 lost=1/10 gaps=[20]' });
  });
});

describe('expectation files', () => {
  it('name the file and field of a bad verdict', () => {
    expect(() => parseExpectations('images/scenarios/uevent.expect.json', '{"scenario":"uevent","targets":{"t":{"verdict":"FIXED","note":"x"}}}', 'uevent')).toThrow(
      /uevent\.expect\.json: targets\.t\.verdict must be one of CONFIRMED/,
    );
    expect(parseExpectations('f', '{"scenario":"uevent","targets":{"t":{"verdict":"CONFIRMED","note":"n"}}}', 'uevent').get('t')).toEqual({ verdict: 'CONFIRMED', note: 'n' });
  });
});
