import type { NetTruth } from '../../fabric/truth.ts';
import { runCommand } from '../probe-exec.ts';
import { emptyTruth, runAgainstNetTruth } from '../truth-read.ts';
import { probeVariants } from '../run-plan.ts';
import { type ProbeResult } from '../../model/scenario-result.ts';
import { cannotJudge, type Judgement } from '../judge.ts';
import { type CodeRepeat, type ScenarioContext, type VariantPlan } from '../types.ts';
import { type VariantRun } from '../../model/scenario-result.ts';
import { worstOutcome } from '../../model/verdict.ts';

interface Entry {
  name: string;
  family: string;
  address: string;
}

/** Addresses the kernel has that getifaddrs() did not return (and the other way round), as "name family address". */
export function compareWithTruth(entries: Entry[], truth: NetTruth): { missing: string[]; extra: string[]; links: number; linksSeen: number } {
  const nameOf = new Map(truth.links.map((l) => [l.index, l.name]));
  const want = new Set(truth.addrs.filter((a) => a.family !== 'other').map((a) => `${nameOf.get(a.index) ?? a.index} ${a.family} ${a.address}`));
  const got = new Set(entries.filter((e) => e.family === 'inet' || e.family === 'inet6').map((e) => `${e.name} ${e.family} ${e.address}`));
  return {
    missing: [...want].filter((w) => !got.has(w)),
    extra: [...got].filter((g) => !want.has(g)),
    links: truth.links.length,
    // Every link has an entry; links without a hardware address (eql, teql0) have one with no ifa_addr.
    linksSeen: truth.links.filter((l) => entries.some((e) => e.name === l.name)).length,
  };
}

/** PASS only when getifaddrs() returned every link and address the kernel reports. */
export function judgeGetifaddrs(result: ProbeResult, truth: NetTruth): Judgement {
  const empty = emptyTruth(truth);
  if (empty) return cannotJudge(empty);
  if (!result.ok) return { outcome: 'FAIL', symptom: `errno=${result.error ?? 'unknown'}` };
  if (!Array.isArray(result['entries'])) return cannotJudge(`the ${result.probe} result line has no "entries" list (was the probe run with --list?)`);
  const c = compareWithTruth(result['entries'] as Entry[], truth);
  if (c.missing.length || c.linksSeen !== c.links) {
    return { outcome: 'FAIL', symptom: `incomplete: ${c.linksSeen}/${c.links} links, ${c.missing.length} addresses missing (${c.missing.slice(0, 3).join('; ')})` };
  }
  return { outcome: 'PASS', symptom: `${c.links} links, ${truth.addrs.length} addresses, all present` };
}

/** The message busybox 1.35's udhcpc6 prints when getifaddrs() gave it no link-local address (d6_socket.c). */
const UDHCPC6_NO_LINK_LOCAL = "can't get link-local IPv6 address";

/**
 * busybox udhcpc6 of the image, run against the variant's libc: it finds its
 * link-local address with getifaddrs() (and does not check the return value),
 * so the field symptom is "every caller of getifaddrs fails". PASS when it got
 * far enough to send a DHCPv6 solicit; the ground truth must show eth0's
 * link-local address, else there is nothing it should have found.
 */
export function judgeUdhcpc6(output: string, truth: NetTruth, iface: string, libDir: string): Judgement {
  // The loader's own trace must show the variant's libc.so.0: else a PASS could come from /lib's.
  if (!output.includes(`libc.so.0 => ${libDir}/libc.so.0`)) return cannotJudge(`busybox did not load ${libDir}/libc.so.0 (LD_TRACE_LOADED_OBJECTS shows no such line)`);
  const index = truth.links.find((l) => l.name === iface)?.index;
  const linkLocal = truth.addrs.find((a) => a.index === index && a.family === 'inet6' && a.address.toLowerCase().startsWith('fe80:'));
  if (!linkLocal) return cannotJudge(`the ground truth has no IPv6 link-local address on ${iface}: udhcpc6 has nothing to find`);
  if (output.includes(UDHCPC6_NO_LINK_LOCAL)) return { outcome: 'FAIL', symptom: `udhcpc6: ${UDHCPC6_NO_LINK_LOCAL} (${iface} has ${linkLocal.address})` };
  if (/sending (discover|solicit)/.test(output)) return { outcome: 'PASS', symptom: `udhcpc6 found ${linkLocal.address} on ${iface} and sent a DHCPv6 solicit` };
  return cannotJudge(`udhcpc6 printed neither "${UDHCPC6_NO_LINK_LOCAL}" nor "sending discover": ${JSON.stringify(output.trim().slice(0, 200))}`);
}

/**
 * Runs udhcpc6 of the image with the variant's shared libraries first in the search path
 * (no network change: -n -q, one try; -o: an empty option request list, the getifaddrs()
 * call is the same). The verdict is in its first lines: it is stopped once it has said
 * either, or after 15 s. (On arm-versatile-3.10-uclibc it never ends by itself after its
 * solicit — it spins at 100% CPU waiting for the 1 s reply timeout; on MIPS it ends with
 * "no lease, failing". Not chased: it happens after the getifaddrs() call this judges.)
 */
const UDHCPC6_SCRIPT = [
  'out=/tmp/reprolab-udhcpc6.$$',
  'LD_TRACE_LOADED_OBJECTS=1 LD_LIBRARY_PATH=$1 busybox',
  '( LD_LIBRARY_PATH=$1 exec busybox udhcpc6 -i eth0 -n -q -t 1 -T 1 -o -s /bin/true > $out 2>&1 & echo $! > $out.pid )',
  'pid=$(cat $out.pid); i=0',
  `while [ $i -lt 150 ] && kill -0 $pid 2>/dev/null && ! grep -q -e "sending discover" -e "${UDHCPC6_NO_LINK_LOCAL}" $out; do sleep 0.1; i=$((i+1)); done`,
  'if kill -0 $pid 2>/dev/null; then kill -9 $pid; echo "(reprolab: stopped udhcpc6 after $i waits of 0.1 s)"; fi',
  'cat $out; rm -f $out $out.pid',
].join('\n');

async function runUdhcpc6(ctx: ScenarioContext, v: VariantPlan & { shared: { libDir: string } }, truth: NetTruth): Promise<NonNullable<VariantRun['programs']>[number]> {
  const r = await runCommand(ctx, v, 'udhcpc6', ['sh', '-c', UDHCPC6_SCRIPT, 'sh', v.shared.libDir]);
  return { program: 'busybox udhcpc6', ...judgeUdhcpc6(`${r.stdout}${r.stderr}`, truth, 'eth0', v.shared.libDir), evidence: r.evidence };
}

/** B1's code judge: the probe against the kernel's every address, then a program of the image on the same libc. */
export const getifaddrsRepeat: CodeRepeat = async (ctx, probe) => {
  // A uClibc image: the dynamically linked probe, loading the variant's own libc.so.0 as a product's programs do.
  const variants = probeVariants(true, ctx.variants);
  const { before, runs } = await runAgainstNetTruth({ ...ctx, variants }, probe.program, probe.argsFor, judgeGetifaddrs, stripEntries);
  // Then a program of the image that calls getifaddrs(), against the same libc (uClibc images build busybox with udhcpc6).
  const withPrograms: VariantRun[] = [];
  for (const [i, run] of runs.entries()) {
    const v = variants[i]!;
    if (!v.shared?.imagePrograms) {
      withPrograms.push(run);
      continue;
    }
    // A variant passes only when every reader in it did.
    const prog = await runUdhcpc6(ctx, { ...v, shared: v.shared }, before);
    withPrograms.push({ ...run, outcome: worstOutcome([run.outcome, prog.outcome]), symptom: `${run.symptom}; ${prog.symptom}`, programs: [prog] });
  }
  const linkage = variants.every((v) => v.shared) ? 'shared' : 'static';
  const otherAbi = "none (the image's programs are linked against uClibc 0.9.33.2's libc.so.0, not this libc's ABI)";
  const programs = variants.every((v) => v.shared?.imagePrograms)
    ? 'busybox udhcpc6'
    : linkage !== 'shared'
      ? 'none (no image program is linked against the libc under test)'
      : variants.every((v) => !v.shared?.imagePrograms)
        ? otherAbi
        : variants.map((v) => `${v.variant}: ${v.shared?.imagePrograms ? 'busybox udhcpc6' : otherAbi}`).join('; ');
  return { runs: withPrograms, key: { links: before.links.length, addresses: before.addrs.length, firstLinkChunkBytes: before.firstLinkChunkBytes, pageSizeKiB: ctx.manifest.kernel.pageSizeKiB, probeLinkage: linkage, programs } };
};

/** The entry list stays in the evidence file; the result keeps the counts. */
function stripEntries(r: ProbeResult): ProbeResult {
  const { entries: _entries, ...rest } = r;
  return rest as ProbeResult;
}
