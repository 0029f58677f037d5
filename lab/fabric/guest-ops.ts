import type { GuestShell } from '../guest/guest.ts';
import { shellQuote } from '../util/shell-quote.ts';
import { LabError } from '../util/errors.ts';
import { FABRIC_PREFIX, type InterfaceKind, type InterfacePlan, specLines } from './interfaces.ts';
import { netTruth, parseFabricLine, parseProcNetCounts, type NetTruth, type SocketTruth } from './truth.ts';
import { timeout } from '../util/timeouts.ts';
import { sleep } from '../util/lifetime.ts';

/** The lab's helper inside every image (images/tools/rl-fabric.c). */
export const HELPER = '/opt/reprolab/bin/rl-fabric';

async function run(guest: GuestShell, argv: string[], what: string, opts: { stdin?: Buffer; timeoutMs?: number } = {}): Promise<string> {
  const r = await guest.exec(argv, { timeoutMs: opts.timeoutMs ?? timeout('guestCommand'), ...(opts.stdin ? { stdin: opts.stdin } : {}) });
  if (r.exitCode !== 0 && !r.stdout.includes('REPROLAB-FABRIC')) {
    throw new LabError(`${what} failed in the guest (exit ${r.exitCode ?? r.signal})`, { fix: `stderr: ${r.stderr.trim().slice(0, 400) || '(empty)'}` });
  }
  return r.stdout;
}

export interface InterfaceFailure {
  name: string;
  kind: string;
  step: string;
  error: string;
}

export interface InterfacesResult {
  created: number;
  existed: number;
  failed: number;
  addrs: number;
  failures: InterfaceFailure[];
  /** Kinds this kernel does not have (every link of that kind failed with EOPNOTSUPP). */
  missingKinds: InterfaceKind[];
  /** Time spent in the guest helper, and wall time including the SSH round trip. */
  guestMs: number;
  wallMs: number;
}

/** Creates every planned link and address in one SSH round trip. Idempotent: existing links are kept. */
export async function createInterfaces(guest: GuestShell, plan: InterfacePlan): Promise<InterfacesResult> {
  const t0 = Date.now();
  const out = await run(guest, [HELPER, 'links-add'], 'creating interfaces', { stdin: Buffer.from(specLines(plan)) });
  const r = parseFabricLine<{ created: number; existed: number; failed: number; addrs: number; failures: InterfaceFailure[]; ms: number }>(out, 'creating interfaces');
  if (!r.ok) throw new LabError(`creating interfaces failed in the guest: ${r.error}`);
  const failedKinds = new Set(r.failures.filter((f) => f.step === 'link' && f.error === 'EOPNOTSUPP').map((f) => f.kind));
  const missingKinds = [...failedKinds].filter((k) => !plan.specs.some((s) => s.kind === k && !r.failures.some((f) => f.name === s.name))) as InterfaceKind[];
  return { created: r.created, existed: r.existed, failed: r.failed, addrs: r.addrs, failures: r.failures, missingKinds, guestMs: r.ms, wallMs: Date.now() - t0 };
}

/** Deletes every link the fabric made (names starting with `prefix`), back to the boot state. */
export async function removeInterfaces(guest: GuestShell, prefix = FABRIC_PREFIX): Promise<{ deleted: number; wallMs: number }> {
  const t0 = Date.now();
  const r = parseFabricLine<{ deleted: number; failed: number }>(await run(guest, [HELPER, 'links-del', prefix], 'removing interfaces'), 'removing interfaces');
  if (!r.ok) throw new LabError(`removing interfaces failed in the guest: ${r.failed} links not deleted (${r.error})`);
  return { deleted: r.deleted, wallMs: Date.now() - t0 };
}

/** Links and addresses as the kernel reports them: the helper's netlink dump and /sys/class/net. */
export async function readNetTruth(guest: GuestShell): Promise<NetTruth> {
  const out = await run(guest, ['sh', '-c', `${HELPER} dump; echo REPROLAB-SYSFS; for f in /sys/class/net/*; do [ -L "$f" ] && echo "\${f##*/}"; done`], 'reading interfaces');
  const [dumpPart, sysfsPart = ''] = out.split('REPROLAB-SYSFS\n');
  const dump = parseFabricLine<Omit<NetTruth, 'sysfs' | 'mismatch'>>(dumpPart ?? '', 'reading interfaces');
  if (!dump.ok) throw new LabError(`the guest's netlink dump failed: ${dump.error}`);
  return netTruth(dump, sysfsPart);
}

/**
 * Reads the ground truth until it stops changing: IPv6 link-local addresses of
 * new links appear asynchronously, a few hundred ms after the links come up.
 */
export async function settledNetTruth(guest: GuestShell, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<NetTruth & { settleMs: number }> {
  const t0 = Date.now();
  let last = await readNetTruth(guest);
  for (;;) {
    await sleep(opts.intervalMs ?? 400);
    const now = await readNetTruth(guest);
    const same = now.links.length === last.links.length && now.addrs.length === last.addrs.length;
    last = now;
    if (same || Date.now() - t0 > (opts.timeoutMs ?? timeout('addressSettle'))) return { ...now, settleMs: Date.now() - t0 };
  }
}

/** The guest shell command whose output parseProcNetCounts reads (a repro pack's guest.sh runs it too). */
export const SOCKET_TRUTH_COMMAND = 'wc -l /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 /proc/net/unix 2>/dev/null';

/** Sockets per /proc/net table: what a sock_diag dump of the same family should return. */
export async function readSocketTruth(guest: GuestShell): Promise<SocketTruth> {
  const r = await guest.exec(['sh', '-c', SOCKET_TRUTH_COMMAND], { timeoutMs: timeout('guestStateRead') });
  return parseProcNetCounts(r.stdout);
}

export interface HeldSockets {
  pid: number;
  held: Record<string, { wanted: number; open: number }>;
  total: number;
  wallMs: number;
  release(): Promise<void>;
}

export const SOCKET_KINDS = ['tcp', 'tcp-est', 'udp', 'unix-stream', 'unix-dgram'] as const;
export type SocketKind = (typeof SOCKET_KINDS)[number];
export interface SocketSpec {
  kind: SocketKind;
  count: number;
}

/** "tcp:500,udp:20" → specs. tcp-est counts sockets (both ends), so it must be even. */
export function parseSockets(text: string): SocketSpec[] {
  const help = `write KIND:COUNT[,KIND:COUNT…] with kinds ${SOCKET_KINDS.join(', ')}, e.g. tcp:500`;
  return text.split(',').map((part) => {
    const m = /^([a-z-]+):(\d+)$/.exec(part.trim());
    if (!m || !(SOCKET_KINDS as readonly string[]).includes(m[1]!)) throw new LabError(`bad socket spec "${part}"`, { fix: help });
    const count = Number(m[2]);
    if (count < 1 || count > 20_000) throw new LabError(`socket count ${count} is out of range`, { fix: 'give 1 to 20000' });
    if (m[1] === 'tcp-est' && count % 2) throw new LabError(`tcp-est:${count} is odd`, { fix: 'tcp-est counts both ends of each connection: give an even number' });
    return { kind: m[1] as SocketKind, count };
  });
}

/** Opens the sockets in a guest daemon that holds them until release(). */
export async function holdSockets(guest: GuestShell, specs: SocketSpec[]): Promise<HeldSockets> {
  const t0 = Date.now();
  const out = await run(guest, [HELPER, 'sockets', ...specs.map((s) => `${s.kind}:${s.count}`)], 'opening sockets');
  const r = parseFabricLine<{ pid: number; held: HeldSockets['held']; total: number }>(out, 'opening sockets');
  if (!r.ok) throw new LabError(`opening sockets failed in the guest: ${r.error}`);
  const short = Object.entries(r.held).filter(([, h]) => h.open !== h.wanted);
  if (short.length) {
    await guest.exec(['kill', String(r.pid)]);
    throw new LabError(`the guest opened fewer sockets than asked: ${short.map(([k, h]) => `${k} ${h.open}/${h.wanted}`).join(', ')}`);
  }
  return {
    pid: r.pid,
    held: r.held,
    total: r.total,
    wallMs: Date.now() - t0,
    release: async () => {
      await guest.exec(['kill', String(r.pid)]);
    },
  };
}

/** What a churn daemon has done since it started (rl-fabric keeps it in /tmp/rl-churn-PID). */
export interface ChurnStats {
  /** Rounds of the socket loop (the link loop runs beside it, at its own pace: link operations are slow). */
  rounds: number;
  socketsOpened: number;
  socketFailures: number;
  linkRounds: number;
  linksAdded: number;
  linkFailures: number;
  linksDeleted: number;
}

const CHURN_COUNTERS = ['rounds', 'socketsOpened', 'socketFailures', 'linkRounds', 'linksAdded', 'linkFailures', 'linksDeleted'] as const;

export interface Churn extends AsyncDisposable {
  pid: number;
  /** The daemon's counters now: a repetition compares two readings to prove the churn ran while it measured. */
  stats(): Promise<ChurnStats>;
  stop(): Promise<void>;
}

/** A guest daemon that keeps opening/closing sockets and adding/deleting links (names rlc*). */
export async function startChurn(guest: GuestShell, opts: { sockets: number; links: number; periodMs: number }): Promise<Churn> {
  const out = await run(guest, [HELPER, 'churn', String(opts.sockets), String(opts.links), String(opts.periodMs)], 'starting churn');
  const r = parseFabricLine<{ pid: number }>(out, 'starting churn');
  if (!r.ok) throw new LabError('the churn daemon did not start in the guest');
  // The pid goes into a shell line (stop) and a path (stats): only a plain number from the guest does.
  if (!Number.isInteger(r.pid) || r.pid <= 1) throw new LabError(`the churn daemon reported a bad pid: ${JSON.stringify(r.pid)}`);
  const stats = async (): Promise<ChurnStats> => {
    const line = parseFabricLine<Record<string, unknown>>(await run(guest, ['cat', `/tmp/rl-churn-${r.pid}`], 'reading the churn counters'), 'reading the churn counters');
    const bad = CHURN_COUNTERS.filter((k) => !Number.isInteger(line[k]) || (line[k] as number) < 0);
    if (bad.length) throw new LabError(`the churn daemon's counters lack ${bad.join(', ')}`);
    return Object.fromEntries(CHURN_COUNTERS.map((k) => [k, line[k] as number])) as unknown as ChurnStats;
  };
  const stop = async () => {
    await guest.exec(['sh', '-c', `kill ${r.pid}; while kill -0 ${r.pid} 2>/dev/null; do sleep 0.1; done; rm -f /tmp/rl-churn-${r.pid}`]);
    await removeInterfaces(guest, 'rlc');
  };
  return { pid: r.pid, stats, stop, [Symbol.asyncDispose]: stop };
}

/** What the churn did between two readings of its counters. */
export function churnDelta(before: ChurnStats, after: ChurnStats): ChurnStats {
  return Object.fromEntries(CHURN_COUNTERS.map((k) => [k, after[k] - before[k]])) as unknown as ChurnStats;
}

/**
 * Why the churn did not take effect in `d` (churnDelta), or undefined when it did:
 * a verdict "under churn" needs socket rounds run while the probes ran, sockets re-opened,
 * links added or deleted, and no operation of the daemon failed.
 */
export function churnShortfall(spec: { sockets: number; links: number }, d: ChurnStats): string | undefined {
  if (d.rounds < 2) return `the churn daemon ran ${d.rounds} rounds while the probes ran`;
  if (spec.sockets > 0 && d.socketsOpened === 0) return `no socket was re-opened in ${d.rounds} rounds`;
  if (spec.links > 0 && d.linksAdded + d.linksDeleted === 0) return `no link was added or deleted while ${d.rounds} socket rounds ran`;
  if (d.socketFailures || d.linkFailures) return `${d.socketFailures} socket and ${d.linkFailures} link operations failed in ${d.rounds} rounds`;
  return undefined;
}

export async function readSeqnum(guest: GuestShell, timeoutMs = timeout('guestStateRead')): Promise<number> {
  const r = await guest.exec(['cat', '/sys/kernel/uevent_seqnum'], { timeoutMs });
  const n = Number(r.stdout.trim());
  if (!Number.isInteger(n)) throw new LabError(`could not read /sys/kernel/uevent_seqnum: ${r.stdout.trim() || r.stderr.trim()}`);
  return n;
}

/**
 * The in-guest event source: writes "add" to a sysfs uevent file `count` times
 * in one shell loop (no fork per event), which is far faster than USB.
 */
export async function triggerUevents(guest: GuestShell, count: number, file = '/sys/class/net/lo/uevent'): Promise<{ before: number; after: number; wallMs: number }> {
  const t0 = Date.now();
  const r = await guest.exec(
    ['sh', '-c', `cat /sys/kernel/uevent_seqnum; i=0; while [ $i -lt ${Math.trunc(count)} ]; do echo add > ${shellQuote(file)}; i=$((i+1)); done; cat /sys/kernel/uevent_seqnum`],
    { timeoutMs: timeout('fabricScript') },
  );
  const [before, after] = r.stdout.trim().split('\n').map(Number);
  if (r.exitCode !== 0 || !Number.isInteger(before) || !Number.isInteger(after)) throw new LabError(`the uevent trigger failed in the guest: ${r.stderr.trim()}`);
  return { before: before!, after: after!, wallMs: Date.now() - t0 };
}
