import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { readBundleManifest, type BundleManifest } from '../../model/manifest.ts';
import { readCellRecord, type CellRecord } from '../../model/scenario-result.ts';
import { qemuCommand } from '../../qemu/command.ts';
import { scenarioByName } from '../../scenarios/registry.ts';
import { planVariants, probeDirFor } from '../../scenarios/variants.ts';
import type { Scenario, ScenarioParams, VariantPlan } from '../../scenarios/types.ts';
import { scenarioProbeDir } from '../../model/guest-layout.ts';
import { sha256, sha256File } from '../../util/digest.ts';
import { LabError, UsageError } from '../../util/errors.ts';
import { labSignal, onAbnormalExit } from '../../util/lifetime.ts';
import { repoRoot } from '../../util/paths.ts';
import { shellQuote } from '../../util/shell-quote.ts';
import { tempSibling } from '../../util/fs.ts';
import { fillParams } from '../../scenarios/from-definition.ts';
import { guestScript } from './guest-script.ts';
import { notPackable } from '../../scenarios/portable.ts';
import { entryInputs } from '../../store/store.ts';
import { PARAM_NAMES } from '../../catalog/scenario-defs.ts';
import type { FabricSpec } from '../../fabric/fabric.ts';

const TEMPLATES = path.join(repoRoot, 'images', 'repro');

export interface PackResult {
  file: string;
  name: string;
  files: { path: string; sha256: string; bytes: number }[];
  verdict: string;
}

/** The cell's parameters as the scenario reads them (the run's, over the definition's defaults). */
function paramsOf(s: Scenario, rec: CellRecord): ScenarioParams {
  const p: Record<string, unknown> = { ...s.defaults };
  // The numeric knobs only (the recorded burst is text; the pack carries no USB burst).
  for (const k of PARAM_NAMES) if (typeof rec.params[k] === 'number') p[k] = rec.params[k];
  return p as ScenarioParams;
}

/** The probe each role ran, with its arguments: a libc scenario on uClibc runs the dynamically linked build, as the lab does. */
function probeRuns(s: Scenario, variants: VariantPlan[], params: ScenarioParams): { role: VariantPlan['role']; argv: string[] }[] {
  const d = s.definition!;
  return variants.map((v) => {
    const dir = probeDirFor(s.usesLibc, v);
    return { role: v.role, argv: [`${dir}/${d.probe!.program}`, ...d.probe!.args[v.role].map((a) => fillParams(a, params))] };
  });
}

/** judge.awk's -v settings; the symptom template goes through the environment (awk -v would process its backslashes). */
function judgeVars(s: Scenario, o: { roles: string[]; repeats: number; arch: string; fabric: FabricSpec }): { vars: string[]; failSymptom: string } {
  const d = s.definition!;
  const rule = 'code' in d.judge ? { RULE: 'getifaddrs', TRUTH: 'net', EQUAL: '', COUNTSONFAIL: '0' } : { RULE: 'counts', TRUTH: d.judge.truth, EQUAL: Object.entries(d.judge.equal).map(([f, q]) => `${f}=${q}`).join(';'), COUNTSONFAIL: d.judge.countsOnFail ? '1' : '0' };
  const fabric = [...(o.fabric.interfaces ? ['links'] : []), ...(o.fabric.sockets?.length ? ['sockets'] : [])].join(' ');
  const vars = { ...rule, ROLES: o.roles.join(' '), REPEATS: String(o.repeats), ARCH: o.arch === 'arm' ? 'arm' : 'mips', FABRIC: fabric };
  return { vars: Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), failSymptom: 'code' in d.judge ? '' : d.judge.failSymptom };
}

function readme(o: { s: Scenario; rec: CellRecord; manifest: BundleManifest; fabric: FabricSpec; name: string }): string {
  const d = o.s.definition!;
  const j = d.judge;
  const judged = 'code' in j
    ? "every link has an entry and every IPv4/IPv6 address the kernel lists (the lab's own netlink dump, read before and after the probe) was returned"
    : `${Object.entries(j.equal).map(([f, q]) => `the result line's \`${f}\` equals the kernel's ${q} (${j.truth === 'net' ? "the lab's own netlink dump, read before and after the probe" : '/proc/net, which must not move during the run'})`).join(', and ')}; the probe's own \`"ok":false\` is the symptom`;
  return [
    `# ${o.s.bug}: ${o.s.title}`,
    '',
    `A repro pack made by reprolab from one cell: scenario **${o.s.name}** on target **${o.manifest.target}**.`,
    `The lab's verdict: **${o.rec.verdict}**.`,
    '',
    '## Run it',
    '',
    '```sh',
    `tar -xzf ${o.name}.tar.gz && cd ${o.name} && sh run.sh`,
    '```',
    '',
    `Needs only \`${o.manifest.qemu.binary}\` (Debian: \`apt-get install qemu-system-${o.manifest.qemu.binary.includes('arm') ? 'arm' : 'mips'}\`) and a POSIX shell with awk, sed, grep, tr, cat, mkdir, mkfifo, sleep, rm and dirname (sha256sum, when present, checks the files). No Node, no lab, no network.`,
    `It boots the image (${o.manifest.kernel.version}, ${o.manifest.kernel.pageSizeKiB} KiB pages, ${o.manifest.qemu.machine}), sends \`guest.sh\` over the serial console,`,
    "prints each probe's result line, each variant's judgement and the verdict, and exits 0 when the verdict is the lab's (1 when it is another verdict, 2 when the run could not be made or judged).",
    'The whole console is kept in `console.log`.',
    '',
    '## What you should see',
    '',
    ...o.rec.variants.map((v) => `- **${v.role}** (${v.describe}): ${v.outcome} — ${v.symptom}`),
    `- then \`VERDICT ${o.rec.verdict}\`.`,
    '',
    '## What is checked',
    '',
    `- The fabric: ${o.fabric.interfaces ? `${o.fabric.interfaces} virtual interfaces, created by the lab's helper from the same plan` : 'no interfaces'}${o.fabric.sockets?.length ? `, held sockets ${o.fabric.sockets.map((x) => `${x.kind}:${x.count}`).join(' ')}` : ''}${d.fabric.churn ? `, churn (${d.fabric.churn.sockets} sockets, ${d.fabric.churn.links} links every ${d.fabric.churn.periodMs} ms)` : ''}.`,
    `- A variant PASSes only when ${judged}. An empty ground truth, a missing result line or a probe that exits above 1 is ERROR, never a pass.`,
    `- The verdict: CONFIRMED when the unpatched variant fails and the patched one passes; NOT_REPRODUCED when neither fails; FIX_INEFFECTIVE when both do; PATCH_REGRESSION when only the patched one does; REPRODUCED when the one libc (as shipped) fails.`,
    ...('code' in d.judge ? ["- Not here: the lab also runs the image's busybox `udhcpc6` against each uClibc variant (it needs the lab's loader trace check); this pack runs the probe only."] : []),
    '',
    '## Files',
    '',
    '- `run.sh` — the host side (QEMU command line inside); `guest.sh` — what runs in the guest; `judge.awk` — the rule, in POSIX awk.',
    '- `images/` — the kernel' + (o.manifest.kernel.dtb ? ', its device tree' : '') + (o.manifest.kernel.initramfs === 'external' ? ' and the initramfs' : ' (with its initramfs built in)') + '.',
    "- `manifest.json` — every file's sha256, the QEMU command, and the digests of the sources the image was built from; `SHA256SUMS` — the same digests for `sha256sum -c`; `lab-result.json` — the lab's own result for this cell.",
    '',
  ].join('\n');
}

/**
 * `reprolab repro pack CELL`: everything one cell needs to be reproduced without the lab,
 * as a tar.gz written whole (a temporary sibling renamed into place).
 */
export async function packRepro(o: { cellDir: string; out?: string; work: string; progress?: (line: string) => void }): Promise<PackResult> {
  const say = o.progress ?? (() => undefined);
  const rec = await readCellRecord(path.join(o.cellDir, 'result.json'));
  if (rec.verdict === 'ERROR') {
    // A matrix cell that ERRORed was retried on a fresh boot, beside it.
    const retry = `${o.cellDir.replace(/\/+$/, '')}.retry`;
    const retried = await fs.access(path.join(retry, 'result.json')).then(() => true, () => false);
    throw new UsageError(`${o.cellDir}: the lab could not judge this attempt (ERROR): there is no verdict to reproduce`, { fix: retried ? `the cell was retried: pack ${retry}` : 'pack a cell with a verdict; run it again first' });
  }
  let scenario: Scenario;
  try {
    scenario = scenarioByName(rec.scenario);
  } catch {
    throw new UsageError(`${o.cellDir}: scenario "${rec.scenario}" is not known here`, { fix: 'pass the directory that defines it: reprolab --scenario-dir DIR repro pack …' });
  }
  const why = notPackable(scenario);
  if (why) throw new UsageError(`${rec.scenario}: a repro pack cannot carry this scenario yet: ${why}`);
  // The pack runs what the definition says now: it must be what the cell ran.
  if (rec.definitionSha256 !== scenario.definition!.sha256) throw new LabError(`${o.cellDir}: ${scenario.definition!.file} changed since this cell ran`, { fix: 'run the cell again, then pack it' });
  const manifest = await readBundleManifest(rec.bundleDir).catch((err: unknown) => {
    throw new LabError(`${o.cellDir}: the bundle the cell booted is gone (${rec.bundleDir}): ${(err as Error).message}`, { fix: `build it again (reprolab build ${rec.target}) and run the cell again, then pack it` });
  });
  if (manifest.target !== rec.target) throw new LabError(`${o.cellDir}: result.json says target ${rec.target}, its bundle is ${manifest.target}`);
  if (manifest.key !== rec.bundleKey) throw new LabError(`${o.cellDir}: ${rec.bundleDir} now holds another build (${manifest.key}, the cell booted ${rec.bundleKey})`, { fix: 'run the cell again, then pack it' });
  const patched = rec.variants.find((v) => v.role === 'patched')?.variant;
  const variants = planVariants(scenario, manifest, scenario.usesLibc && patched ? patched : undefined);
  const names = (vs: { variant: string; role: string }[]) => vs.map((v) => `${v.role}:${v.variant}`).join(' ');
  if (names(variants) !== names(rec.variants)) throw new LabError(`${o.cellDir}: the cell ran ${names(rec.variants)}, the bundle now plans ${names(variants)}`);
  const params = paramsOf(scenario, rec);
  const repeats = Math.max(1, rec.repeats);

  const name = `repro-${rec.target}-${rec.scenario}`;
  const dir = path.join(o.work, name);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.join(dir, 'images'), { recursive: true });
  try {
    say('copying the images');
    const images = [manifest.kernel.image, ...(manifest.kernel.dtb ? [manifest.kernel.dtb] : []), ...(manifest.kernel.initramfs === 'external' ? ['images/rootfs.cpio'] : [])];
    for (const rel of images) {
      await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await fs.copyFile(path.join(rec.bundleDir, rel), path.join(dir, rel));
    }
    let payload: { base64: string; sha256: string } | undefined;
    if (scenario.definition?.probesDir) {
      say("packing the scenario's probes");
      if (!rec.scenarioProbes.length) throw new LabError(`${o.cellDir}: result.json lists no probe builds of ${rec.scenario}`, { fix: 'run the cell again with this version of reprolab' });
      const stage = path.join(o.work, `${name}-probes`);
      await fs.rm(stage, { recursive: true, force: true });
      for (const p of rec.scenarioProbes) await fs.cp(p.dir, path.join(stage, scenarioProbeDir(rec.scenario, p.variant, p.linkage)), { recursive: true });
      const tar = path.join(o.work, `${name}-probes.tar`);
      await execa('tar', ['-cf', tar, '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', stage, 'opt'], { cancelSignal: labSignal });
      const bytes = await fs.readFile(tar);
      await fs.rm(stage, { recursive: true, force: true });
      await fs.rm(tar, { force: true });
      payload = { base64: bytes.toString('base64').replace(/.{76}/g, '$&\n').trimEnd(), sha256: sha256(bytes) };
    }
    const runs = probeRuns(scenario, variants, params);
    const fabric = scenario.fabric(params);
    await fs.writeFile(path.join(dir, 'guest.sh'), guestScript({ def: scenario.definition!, fabric, runs, repeats, ...(payload ? { payload } : {}) }));
    await fs.copyFile(path.join(TEMPLATES, 'judge.awk'), path.join(dir, 'judge.awk'));
    const q = qemuCommand({ bundleDir: '.', manifest });
    const judge = judgeVars(scenario, { roles: variants.map((v) => v.role), repeats, arch: manifest.arch, fabric });
    // Replacement functions, not strings: a "$'" or "$&" in a value must stay as it is.
    const values: Record<string, string> = {
      '@QEMU_BINARY@': shellQuote(q.binary),
      '@QEMU_ARGS@': q.args.map(shellQuote).join(' '),
      '@EXPECTED@': rec.verdict,
      '@TARGET@': rec.target,
      '@SCENARIO@': rec.scenario,
      '@JUDGE_VARS@': judge.vars.map(shellQuote).join(' '),
      '@FAILSYM@': shellQuote(judge.failSymptom),
    };
    let runSh = await fs.readFile(path.join(TEMPLATES, 'run.sh'), 'utf8');
    for (const [token, value] of Object.entries(values)) runSh = runSh.replaceAll(token, () => value);
    await fs.writeFile(path.join(dir, 'run.sh'), runSh, { mode: 0o755 });
    await fs.writeFile(path.join(dir, 'README.md'), readme({ s: scenario, rec, manifest, fabric, name }));
    await fs.copyFile(path.join(o.cellDir, 'result.json'), path.join(dir, 'lab-result.json'));

    const files: PackResult['files'] = [];
    for (const rel of [...images, 'guest.sh', 'judge.awk', 'run.sh', 'README.md', 'lab-result.json']) {
      files.push({ path: rel, sha256: await sha256File(path.join(dir, rel)), bytes: (await fs.stat(path.join(dir, rel))).size });
    }
    await fs.writeFile(path.join(dir, 'SHA256SUMS'), files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
    const packManifest = {
      schema: 1,
      kind: 'reprolab-repro-pack',
      target: rec.target,
      scenario: rec.scenario,
      bug: scenario.bug,
      title: scenario.title,
      verdict: rec.verdict,
      variants: rec.variants,
      params,
      repeats,
      qemu: { binary: q.binary, args: q.args },
      files,
      builtFrom: {
        bundleKey: manifest.key,
        kernel: { version: manifest.kernel.version, source: manifest.kernel.source, patches: manifest.kernel.patches, configSha256: manifest.kernel.configSha256 },
        libc: manifest.libc.variants.map((v) => ({ variant: v.variant, libc: v.libc, ...(v.source ? { source: v.source } : {}), patches: v.patches })),
        userland: manifest.userland.packages,
        rootfsSha256: manifest.rootfs.sha256,
        toolchain: manifest.toolchain,
        scenario: { definition: path.basename(scenario.definition!.file), sha256: scenario.definition!.sha256 },
        ...(scenario.definition?.probesDir ? { scenarioProbes: await Promise.all(rec.scenarioProbes.map(async (p) => { const inputs = await entryInputs(p.dir); return { variant: p.variant, linkage: p.linkage, sources: inputs['sources'], helpers: inputs['helpers'], libc: inputs['libc'] }; })) } : {}),
      },
    };
    await fs.writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(packManifest, null, 2)}\n`);

    const file = path.resolve(o.out ?? `${name}.tar.gz`);
    say(`writing ${file}`);
    const tmp = tempSibling(file);
    // Never half a pack under the name asked for, nor a temporary one left beside it (Ctrl-C included).
    const undo = onAbnormalExit(() => rmSync(tmp, { force: true }));
    try {
      await execa('tar', ['-czf', tmp, '--owner=0', '--group=0', '-C', o.work, name], { cancelSignal: labSignal });
      await fs.rename(tmp, file);
    } finally {
      await fs.rm(tmp, { force: true });
      undo();
    }
    return { file, name, files, verdict: rec.verdict };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
