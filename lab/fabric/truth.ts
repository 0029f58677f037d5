import { LabError } from '../util/errors.ts';

/** What the kernel says it has, read by the lab's own helper and sysfs, never by the libc under test. */
export interface NetTruth {
  links: { index: number; name: string; kind: string; up: boolean }[];
  addrs: { index: number; family: 'inet' | 'inet6' | 'other'; address: string; prefix: number }[];
  /** Names under /sys/class/net. */
  sysfs: string[];
  /** Links netlink and sysfs disagree on (should be empty; a churn would explain it). */
  mismatch: string[];
  /** Bytes in the first RTM_GETLINK chunk the kernel sent the helper (with an ample buffer). */
  firstLinkChunkBytes: number;
  linkChunks: number;
}

export interface SocketTruth {
  /** Sockets per /proc/net table, header line excluded. */
  tcp: number;
  tcp6: number;
  udp: number;
  udp6: number;
  unix: number;
}

const FABRIC_MARK = 'REPROLAB-FABRIC ';

/** The JSON of the one REPROLAB-FABRIC line a helper command prints. */
export function parseFabricLine<T = Record<string, unknown>>(stdout: string, what: string): T & { ok: boolean; error?: string } {
  const line = stdout.split('\n').find((l) => l.startsWith(FABRIC_MARK));
  if (!line) throw new LabError(`${what}: the guest helper printed no result line`, { fix: `its output was: ${stdout.slice(0, 300) || '(empty)'}` });
  try {
    return JSON.parse(line.slice(FABRIC_MARK.length)) as T & { ok: boolean; error?: string };
  } catch {
    throw new LabError(`${what}: the guest helper printed a broken result line: ${line.slice(0, 300)}`);
  }
}

/** Sysfs names are one per line: the links under /sys/class/net (symlinks; bonding_masters is a file). */
export function netTruth(dump: Omit<NetTruth, 'sysfs' | 'mismatch'>, sysfsListing: string): NetTruth {
  const sysfs = sysfsListing.split('\n').map((s) => s.trim()).filter(Boolean).sort();
  const names = new Set(dump.links.map((l) => l.name));
  const mismatch = [...sysfs.filter((n) => !names.has(n)), ...[...names].filter((n) => !sysfs.includes(n))];
  return { links: dump.links, addrs: dump.addrs, sysfs, mismatch, firstLinkChunkBytes: dump.firstLinkChunkBytes, linkChunks: dump.linkChunks };
}

/** Counts rows of /proc/net tables from `wc -l` output lines like "  12 /proc/net/tcp". */
export function parseProcNetCounts(wcOutput: string): SocketTruth {
  const counts: SocketTruth = { tcp: 0, tcp6: 0, udp: 0, udp6: 0, unix: 0 };
  for (const line of wcOutput.split('\n')) {
    const m = /^\s*(\d+)\s+\/proc\/net\/(tcp6?|udp6?|unix)\s*$/.exec(line);
    if (m) counts[m[2] as keyof SocketTruth] = Math.max(0, Number(m[1]) - 1);
  }
  return counts;
}

/** Summary counts a scenario compares a probe against. */
export function summarize(truth: NetTruth): { links: number; inet: number; inet6: number } {
  return {
    links: truth.links.length,
    inet: truth.addrs.filter((a) => a.family === 'inet').length,
    inet6: truth.addrs.filter((a) => a.family === 'inet6').length,
  };
}
