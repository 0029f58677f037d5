import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { CountsJudge } from '../../../lab/catalog/scenario-defs.ts';
import type { NetTruth } from '../../../lab/fabric/truth.ts';
import type { ProbeResult } from '../../../lab/model/scenario-result.ts';
import { judgeCounts, netCounts } from '../../../lab/scenarios/counts-judge.ts';
import { judgeGetifaddrs } from '../../../lab/scenarios/judges/getifaddrs.ts';
import { judgeAgainstEither } from '../../../lab/scenarios/truth-read.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { errnoName } from '../../../lab/scenarios/result-line.ts';
import { judgeErrnos } from '../../../lab/workflows/repro/pack.ts';

/*
 * A repro pack judges with images/repro/judge.awk, the lab with TypeScript: the same
 * rule written twice. These hold the two to the same outcome (and the same symptom
 * for PASS and FAIL) on the same console output, with the host's POSIX awk.
 */

type Link = NetTruth['links'][number];
type Addr = NetTruth['addrs'][number];
const LINKS: Link[] = [
  { index: 1, name: 'lo', kind: '', up: true },
  { index: 2, name: 'eth0', kind: '', up: true },
  { index: 3, name: 'eql', kind: '', up: false },
];
const ADDRS: Addr[] = [
  { index: 1, family: 'inet', address: '127.0.0.1', prefix: 8 },
  { index: 2, family: 'inet', address: '10.0.2.15', prefix: 24 },
  { index: 2, family: 'inet6', address: 'fe80::1', prefix: 64 },
];
const truth = (links: Link[], addrs: Addr[]): NetTruth => ({ links, addrs, sysfs: links.map((l) => l.name), mismatch: [], firstLinkChunkBytes: 100, linkChunks: 1 });
/** A flat text as probe-common.h writes it: in quotes, bytes outside '!'..'~', '%', '=' and '"' as %XX. */
const flatText = (v: string) => `"${[...Buffer.from(v)].map((b) => (b > 0x20 && b < 0x7f && b !== 0x25 && b !== 0x3d && b !== 0x22 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')}"`;
const flatFields = (o: Record<string, unknown>) =>
  Object.entries(o)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? flatText(v) : String(v)}`)
    .join('');
/** The lab's netlink dump as rl-fabric prints it: the JSON line, then flat lines closed by the count. */
const dumpLines = (t: NetTruth) => [
  `REPROLAB-FABRIC ${JSON.stringify({ ok: true, attempts: 1, linkChunks: 1, firstLinkChunkBytes: 100, links: t.links, addrs: t.addrs })}`,
  ...t.links.map((l) => `REPROLAB-LINK${flatFields({ index: l.index, name: l.name })}`),
  ...t.addrs.map((a) => `REPROLAB-ADDR${flatFields({ index: a.index, family: a.family, address: a.address })}`),
  `REPROLAB-DUMP ok=true links=${t.links.length} addrs=${t.addrs.length}`,
];
/** A probe's result as probe_begin … probe_end prints it (and ifaddrs-probe --list its entries after it). */
const resultLines = (r: ProbeResult) => [
  `REPROLAB-RESULT ${JSON.stringify(r)}`,
  `REPROLAB-FLAT${flatFields(r)}`,
  ...(Array.isArray(r['entries']) ? (r['entries'] as Record<string, unknown>[]).map((e) => `REPROLAB-ENTRY${flatFields({ name: e['name'], family: e['family'], address: e['address'] })}`) : []),
];

interface Run {
  role: 'unpatched' | 'patched';
  result?: ProbeResult;
  exit?: number;
}

/** The console as guest.sh makes it print (CRLF, as a serial console has it). */
function consoleOf(before: string[], after: string[], runs: Run[], opts: { done?: boolean; sockets?: boolean } = {}): string {
  const truthLines = (phase: string, body: string[]) => (opts.sockets ? [`REPROLAB-PACK-SOCKETS ${phase}`, ...body] : [`REPROLAB-PACK-TRUTH ${phase}`, ...body]);
  const lines = [
    'Linux version 6.1 (boot noise)',
    'REPROLAB-READY kernel=6.1 target=t',
    'REPROLAB-PACK-REPEAT 1',
    ...truthLines('before', before),
    ...runs.flatMap((r) => [`REPROLAB-PACK-RUN ${r.role}`, ...(r.result ? resultLines(r.result) : []), `REPROLAB-PACK-EXIT ${r.exit ?? (r.result?.ok ? 0 : 1)}`]),
    ...truthLines('after', after),
    ...(opts.done === false ? [] : ['REPROLAB-PACK-DONE']),
  ];
  return lines.map((l) => `${l}\r\n`).join('');
}

async function awkJudge(vars: Record<string, string>, text: string): Promise<{ judged: Record<string, { outcome: string; symptom: string }>; verdict: string }> {
  const { FAILSYM, ...rest } = vars;
  const args = Object.entries({ ERRNOS: judgeErrnos('arm'), FABRIC: '', ...rest }).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
  const r = await execa('awk', [...args, '-f', path.join(repoRoot, 'images', 'repro', 'judge.awk')], { input: text.replace(/\r/g, ''), env: { REPRO_FAILSYM: FAILSYM ?? '' } });
  const judged: Record<string, { outcome: string; symptom: string }> = {};
  for (const m of r.stdout.matchAll(/^REPROLAB-PACK-JUDGED r1 (\S+) (\S+) (.*)$/gm)) judged[m[1]!] = { outcome: m[2]!, symptom: m[3]! };
  return { judged, verdict: /^VERDICT (\S+)/m.exec(r.stdout)?.[1] ?? '' };
}

describe('judge.awk gives the lab judges\' answers', () => {
  const rule: CountsJudge = { truth: 'net', equal: { count: 'links' }, failSymptom: 'errno={error}', countsOnFail: false };
  const counts = { RULE: 'counts', TRUTH: 'net', EQUAL: 'count=links', FAILSYM: 'errno={error}', ROLES: 'unpatched patched', REPEATS: '1' };
  const full = truth(LINKS, ADDRS);
  const empty = truth([], []);

  it('the counts rule: PASS, FAIL, ERROR as counts-judge.ts decides them', async () => {
    const cases: [string, NetTruth, ProbeResult][] = [
      ['pass', full, { probe: 'p', ok: true, count: 3 }],
      ['short', full, { probe: 'p', ok: true, count: 2 }],
      ['failed', full, { probe: 'p', ok: false, errno: 16, error: 'EBUSY' }],
      ['no count', full, { probe: 'p', ok: true }],
      ['text count', full, { probe: 'p', ok: true, count: '3' }],
      ['empty truth', empty, { probe: 'p', ok: true, count: 0 }],
    ];
    for (const [name, t, result] of cases) {
      const lab = judgeCounts(rule, result, netCounts(t));
      const pack = await awkJudge(counts, consoleOf(dumpLines(t), dumpLines(t), [{ role: 'unpatched', result }, { role: 'patched', result: { probe: 'p', ok: true, count: t.links.length } }]));
      expect(pack.judged['unpatched']?.outcome, name).toBe(lab.outcome);
      if (lab.outcome !== 'ERROR') expect(pack.judged['unpatched']?.symptom, name).toBe(lab.symptom);
    }
  });

  it("a symptom template with several fields is filled as the lab fills it (getifaddrs-mechanism's)", async () => {
    const r: CountsJudge = { truth: 'net', equal: { links: 'links', addrs: 'addrs' }, failSymptom: 'errno={error} after {requests} requests (first chunk {firstChunkBytes} B)', countsOnFail: true };
    const result: ProbeResult = { probe: 'ifaddrs-mechanism', ok: false, links: 0, addrs: 0, firstChunkBytes: 6600, requests: 2, errno: 16, error: 'EBUSY' };
    const vars = { ...counts, EQUAL: 'links=links;addrs=addrs', FAILSYM: r.failSymptom, COUNTSONFAIL: '1' };
    const pack = await awkJudge(vars, consoleOf(dumpLines(full), dumpLines(full), [{ role: 'unpatched', result }, { role: 'patched', result: { probe: 'm', ok: true, links: 3, addrs: 3 } }]));
    expect(pack.judged['unpatched']).toEqual(judgeCounts(r, result, netCounts(full)));
    expect(pack.judged['patched']).toEqual({ outcome: 'PASS', symptom: 'links 3/3, addrs 3/3' });
  });

  it('the sockets truth: counts from wc -l, and a table that moved is an ERROR', async () => {
    const vars = { ...counts, TRUTH: 'sockets', EQUAL: 'sockets=tcp', FAILSYM: 'errno={error}, sockets {sockets}/{truth.tcp}', COUNTSONFAIL: '1' };
    const wc = (n: number) => [`  ${n + 1} /proc/net/tcp`, '    1 /proc/net/tcp6', '    3 /proc/net/unix'];
    const ok = await awkJudge(vars, consoleOf(wc(502), wc(502), [{ role: 'unpatched', result: { probe: 'd', ok: true, sockets: 34, complete: false } }, { role: 'patched', result: { probe: 'd', ok: true, sockets: 502 } }], { sockets: true }));
    const tcp = { tcp: 502, tcp6: 0, udp: 0, udp6: 0, unix: 2 };
    const r: CountsJudge = { truth: 'sockets', equal: { sockets: 'tcp' }, failSymptom: vars.FAILSYM, countsOnFail: true };
    expect(ok.judged['unpatched']).toEqual({ outcome: 'FAIL', symptom: judgeCounts(r, { probe: 'd', ok: true, sockets: 34, complete: false }, tcp).symptom });
    expect(ok.judged['patched']).toEqual({ outcome: 'PASS', symptom: 'sockets 502/502' });
    expect(ok.verdict).toBe('CONFIRMED');
    const moved = await awkJudge(vars, consoleOf(wc(502), wc(503), [{ role: 'unpatched', result: { probe: 'd', ok: true, sockets: 502 } }, { role: 'patched', result: { probe: 'd', ok: true, sockets: 502 } }], { sockets: true }));
    expect(moved.judged['unpatched']?.outcome).toBe('ERROR');
    expect(moved.verdict).toBe('ERROR');
  });

  it("B1's rule: every link and address, against the truth before or after", async () => {
    const vars = { ...counts, RULE: 'getifaddrs', EQUAL: '', FAILSYM: '' };
    const entry = (name: string, family: string, address = '') => ({ name, family, address });
    const all = [entry('lo', 'packet'), entry('eth0', 'packet'), entry('eql', 'other'), entry('lo', 'inet', '127.0.0.1'), entry('eth0', 'inet', '10.0.2.15'), entry('eth0', 'inet6', 'fe80::1')];
    const later = truth(LINKS, [...ADDRS, { index: 1, family: 'inet6', address: '::1', prefix: 128 }]);
    // As ifaddrs-probe --list prints it: the total, and the entries.
    const listed = (entries: ReturnType<typeof entry>[]): ProbeResult => ({ probe: 'ifaddrs', ok: true, total: entries.length, entries });
    const cases: [string, NetTruth, NetTruth, ProbeResult][] = [
      ['complete', full, full, listed(all)],
      ['an address missing', full, full, listed(all.slice(0, 5))],
      ['a link missing', full, full, listed(all.filter((e) => e.name !== 'eql'))],
      ['EBUSY', full, full, { probe: 'ifaddrs', ok: false, errno: 16, error: 'EBUSY' }],
      ['no entries', full, full, { probe: 'ifaddrs', ok: true }],
      ['empty truth', empty, empty, listed([])],
      ['matches the later truth', full, later, listed([...all, entry('lo', 'inet6', '::1')])],
    ];
    for (const [name, before, after, result] of cases) {
      const lab = judgeAgainstEither(judgeGetifaddrs, result, before, after);
      const pack = await awkJudge(vars, consoleOf(dumpLines(before), dumpLines(after), [{ role: 'unpatched', result }, { role: 'patched', result: listed(all) }]));
      expect(pack.judged['unpatched']?.outcome, name).toBe(lab.outcome);
      if (lab.outcome !== 'ERROR') expect(pack.judged['unpatched']?.symptom, name).toBe(lab.symptom);
    }
  });

  it('a flat line cut off, spliced or doubled on the console never gives a verdict the lab would not', async () => {
    const t = dumpLines(full);
    const good = { probe: 'p', ok: true, count: 3 };
    const withLine = (unpatched: string) => consoleOf(t, t, [{ role: 'unpatched', result: { probe: 'x', ok: false } }, { role: 'patched', result: good }]).replace('REPROLAB-FLAT probe="x" ok=false', unpatched);
    for (const broken of ['REPROLAB-FLAT probe="p" count=3', 'REPROLAB-FLAT count=3 ok=false', 'REPROLAB-FLAT probe="p" ok=fal[   1.234] usb 1-1: new device', 'REPROLAB-FLAT probe="p" ok=true count=3 ok=false', 'REPROLAB-FLAT probe="p" ok=true count=3 garbage', 'REPROLAB-FLAT probe="p" ok=true =3', 'REPROLAB-FLAT probe="p ok=true count=3', 'REPROLAB-FLAT probe=p ok=true count=3', 'REPROLAB-FLAT probe="p" ok="true" count=3']) {
      const r = await awkJudge(counts, withLine(broken));
      expect(r.judged['unpatched']?.outcome, broken).toBe('ERROR');
      expect(r.verdict, broken).toBe('ERROR');
    }
    // Not a whole number as the probe prints one (%lu): no verdict.
    for (const count of ['03', '3.0', '-3', '3e0', '"3"']) expect((await awkJudge(counts, withLine(`REPROLAB-FLAT probe="p" ok=true count=${count}`))).judged['unpatched']?.outcome, count).toBe('ERROR');
    // A bare errno is named for the guest's architecture, as the lab's parser names it.
    const bare = await awkJudge({ ...counts, ERRNOS: judgeErrnos('mipsel') }, withLine('REPROLAB-FLAT probe="p" ok=false errno=132'));
    expect(bare.judged['unpatched']).toEqual({ outcome: 'FAIL', symptom: 'errno=ENOBUFS' });
    // Escaped text is read back as the probe wrote it.
    expect((await awkJudge(counts, withLine('REPROLAB-FLAT probe="p" ok=false error="E%20BUSY%3D%25%22"'))).judged['unpatched']).toEqual({ outcome: 'FAIL', symptom: 'errno=E BUSY=%"' });
  });

  it('a netlink dump or an entry list that lost lines on the console is no truth and no verdict', async () => {
    const vars = { ...counts, RULE: 'getifaddrs', EQUAL: '', FAILSYM: '' };
    const entries = [{ name: 'lo', family: 'packet', address: '' }, { name: 'eth0', family: 'packet', address: '' }, { name: 'eql', family: 'other', address: '' }, { name: 'lo', family: 'inet', address: '127.0.0.1' }, { name: 'eth0', family: 'inet', address: '10.0.2.15' }, { name: 'eth0', family: 'inet6', address: 'fe80::1' }];
    const listed: ProbeResult = { probe: 'ifaddrs', ok: true, total: entries.length, entries };
    const text = consoleOf(dumpLines(full), dumpLines(full), [{ role: 'unpatched', result: listed }, { role: 'patched', result: listed }]);
    expect((await awkJudge(vars, text)).verdict).toBe('NOT_REPRODUCED');
    // An address line of both reads lost: the closing count disagrees, so neither read is a truth.
    const lostAddr = text.replaceAll('REPROLAB-ADDR index=2 family="inet6" address="fe80::1"\r\n', '');
    expect((await awkJudge(vars, lostAddr)).judged['unpatched']?.symptom).toMatch(/no ground truth was read/);
    // No closing line at all.
    expect((await awkJudge(vars, text.replaceAll(/REPROLAB-DUMP [^\r]*\r\n/g, ''))).verdict).toBe('ERROR');
    // An entry line lost: fewer REPROLAB-ENTRY lines than the probe's total.
    const lostEntry = text.replace('REPROLAB-ENTRY name="eth0" family="inet6" address="fe80::1"\r\n', '');
    expect((await awkJudge(vars, lostEntry)).judged['unpatched']).toEqual({ outcome: 'ERROR', symptom: 'cannot judge: 5 REPROLAB-ENTRY lines for 6 entries (cut off on the console?)' });
  });

  it('a fabric step that failed, or a truth read that is missing, is an ERROR for every variant', async () => {
    const good = { probe: 'p', ok: true, count: 3 };
    const runs: Run[] = [{ role: 'unpatched', result: { probe: 'p', ok: false, error: 'EBUSY' } }, { role: 'patched', result: good }];
    const withFabric = (fabric: string[]) => consoleOf(dumpLines(full), dumpLines(full), runs).replace('REPROLAB-PACK-REPEAT 1', [...fabric, 'REPROLAB-PACK-REPEAT 1'].join('\r\n'));
    const vars = { ...counts, FABRIC: 'links sockets' };
    const ok = ['REPROLAB-PACK-FABRIC links', 'REPROLAB-FABRIC {"ok":true,"created":40,"failed":0}', 'REPROLAB-PACK-FABRIC sockets', 'REPROLAB-FABRIC {"ok":true,"pid":9,"held":{"tcp":{"wanted":500,"open":500}},"total":500}'];
    expect((await awkJudge(vars, withFabric(ok))).verdict).toBe('CONFIRMED');
    expect((await awkJudge(vars, withFabric([...ok.slice(0, 3), 'REPROLAB-FABRIC {"ok":true,"pid":9,"held":{"tcp":{"wanted":500,"open":311}},"total":311}']))).judged['patched']?.symptom).toMatch(/fewer sockets than asked \(311 of 500\)/);
    expect((await awkJudge(vars, withFabric(['REPROLAB-PACK-FABRIC links', 'REPROLAB-FABRIC {"ok":false,"error":"ENOMEM"}', ...ok.slice(2)]))).verdict).toBe('ERROR');
    expect((await awkJudge(vars, withFabric(ok.slice(0, 2)))).judged['unpatched']?.symptom).toMatch(/sockets step reported nothing/);
    // The links step printed nothing: the first truth read's dump (ok:true too) is not its report.
    const silentLinks = await awkJudge({ ...counts, FABRIC: 'links' }, withFabric(['REPROLAB-PACK-FABRIC links']));
    expect(silentLinks.verdict).toBe('ERROR');
    expect(silentLinks.judged['unpatched']?.symptom).toMatch(/links step reported nothing/);
    // No truth read after the probes: the lab's run would have stopped there.
    const noAfter = consoleOf(dumpLines(full), [], runs).replace('REPROLAB-PACK-TRUTH after\r\n', '');
    expect((await awkJudge(counts, noAfter)).verdict).toBe('ERROR');
  });

  it("judge.awk decodes a bare errno as the lab does, number for number, with the table the pack gives it", async () => {
    // A second program after judge.awk: its BEGIN runs once judge.awk's has read ERRNOS, and prints the table it built.
    const dump = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-awk-')), 'dump.awk');
    await fs.writeFile(dump, 'BEGIN { for (n = 1; n < 200; n++) print "E", n, ((n in ERRNAME) ? ERRNAME[n] : "errno " n); exit }\n');
    for (const arch of ['arm', 'mipsel', 'mips'] as const) {
      const r = await execa('awk', ['-v', `ERRNOS=${judgeErrnos(arch)}`, '-f', path.join(repoRoot, 'images', 'repro', 'judge.awk'), '-f', dump], { input: '' });
      const awkNames = [...r.stdout.matchAll(/^E (\d+) (.*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
      expect(awkNames).toHaveLength(199);
      expect(awkNames, arch).toEqual(Array.from({ length: 199 }, (_, i) => `${i + 1} ${errnoName(arch, i + 1)}`));
    }
    expect(errnoName('mips', 132)).toBe('ENOBUFS');
    expect(errnoName('arm', 105)).toBe('ENOBUFS');
  });

  it('judge.awk says the same under every awk the host may have (mawk is Debian\'s default, lava-dispatcher brings gawk)', async () => {
    const runs: Run[] = [{ role: 'unpatched', result: { probe: 'p', ok: false, count: 1, error: 'ENOBUFS' } }, { role: 'patched', result: { probe: 'p', ok: true, count: 3 } }];
    const text = consoleOf(dumpLines(full), dumpLines(full), runs).replace(/\r/g, '');
    const args = Object.entries({ ERRNOS: judgeErrnos('arm'), FABRIC: '', RULE: 'counts', TRUTH: 'net', EQUAL: 'count=links', ROLES: 'unpatched patched', REPEATS: '1' }).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
    const outs: string[] = [];
    for (const awk of ['mawk', 'gawk', 'original-awk', 'busybox']) {
      const argv = awk === 'busybox' ? ['awk', ...args] : args;
      const r = await execa(awk, [...argv, '-f', path.join(repoRoot, 'images', 'repro', 'judge.awk')], { input: text, env: { REPRO_FAILSYM: 'errno={error}', LC_ALL: 'C' }, reject: false });
      if ((r as { code?: string }).code === 'ENOENT') continue;
      expect(r.stderr, awk).toBe('');
      outs.push(r.stdout);
    }
    expect(outs.length).toBeGreaterThanOrEqual(2);
    expect(outs[0]).toMatch(/^VERDICT CONFIRMED/m);
    for (const o of outs) expect(o).toBe(outs[0]);
  });

  it('no result line, two of them, a probe exiting above 1, or a run that never finished: ERROR, never a pass', async () => {
    const good = { probe: 'p', ok: true, count: 3 };
    const t = dumpLines(full);
    expect((await awkJudge(counts, consoleOf(t, t, [{ role: 'unpatched', exit: 127 }, { role: 'patched', result: good }]))).judged['unpatched']?.outcome).toBe('ERROR');
    expect((await awkJudge(counts, consoleOf(t, t, [{ role: 'unpatched', result: good, exit: 2 }, { role: 'patched', result: good }]))).judged['unpatched']?.outcome).toBe('ERROR');
    const twice = consoleOf(t, t, [{ role: 'unpatched', result: good }, { role: 'patched', result: good }]).replace(/(REPROLAB-FLAT [^\r]*\r\n)/, '$1$1');
    expect((await awkJudge(counts, twice)).judged['unpatched']?.outcome).toBe('ERROR');
    const unfinished = await awkJudge(counts, consoleOf(t, t, [{ role: 'unpatched', result: good }, { role: 'patched', result: good }], { done: false }));
    expect(unfinished.verdict).toBe('ERROR');
    // And the good path, for contrast.
    expect((await awkJudge(counts, consoleOf(t, t, [{ role: 'unpatched', result: good }, { role: 'patched', result: good }]))).verdict).toBe('NOT_REPRODUCED');
    expect((await awkJudge({ ...counts, ROLES: 'unpatched' }, consoleOf(t, t, [{ role: 'unpatched', result: { probe: 'p', ok: false, error: 'EBUSY' } }]))).verdict).toBe('REPRODUCED');
  });
});

describe("judge.awk's output is safe to print on the vendor's terminal", () => {
  it('control characters from the guest (C0, DEL, UTF-8 C1) are shown as \\xNN, in the result line and the symptom', async () => {
    const counts = { RULE: 'counts', TRUTH: 'net', EQUAL: 'count=links', FAILSYM: 'errno={error}', ROLES: 'unpatched patched', REPEATS: '1' };
    const t = dumpLines(truth(LINKS, ADDRS));
    // A CSI in its 8-bit (C1) form is valid JSON text; an ESC in a line the probe printed (here a second
    // result line, after the run) reaches the log as is.
    const bad = { probe: 'p', ok: false, error: 'EBUSY\u009b2J\u007f', count: 3 };
    const text = consoleOf(t, t, [{ role: 'unpatched', result: bad }, { role: 'patched', result: { probe: 'p', ok: true, count: 3 } }]);
    const args = Object.entries({ ERRNOS: judgeErrnos('arm'), FABRIC: '', ...counts }).filter(([k]) => k !== 'FAILSYM').flatMap(([k, v]) => ['-v', `${k}=${v}`]);
    const tail = 'REPROLAB-FLAT probe="p" note="\u001b[31m"\nREPROLAB-PACK-RUN pat\u001b]0;t\u0007ched\nREPROLAB-FLAT probe="p"\n';
    const r = await execa('awk', [...args, '-f', path.join(repoRoot, 'images', 'repro', 'judge.awk')], { input: `${text.replace(/\r/g, '')}${tail}`, env: { REPRO_FAILSYM: 'errno={error}', LC_ALL: 'C' } });
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u0080-\u009f]/);
    expect(r.stdout).toContain('errno=EBUSY\\x9b2J\\x7f');
    expect(r.stdout).toContain('note="\\x1b[31m"');
    // The role comes from a console line too.
    expect(r.stdout).toContain('pat\\x1b]0;t\\x07ched: REPROLAB-FLAT');
  });
});
