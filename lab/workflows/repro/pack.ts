import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readBundleManifest, type BundleManifest } from '../../model/manifest.ts';
import { readCellRecord, type CellRecord } from '../../model/scenario-result.ts';
import { qemuCommand } from '../../qemu/command.ts';
import { scenarioByName } from '../../scenarios/registry.ts';
import { planVariants } from '../../scenarios/variants.ts';
import type { Scenario, ScenarioParams, VariantPlan } from '../../scenarios/types.ts';
import { scenarioProbeDir } from '../../model/guest-layout.ts';
import { sha256, sha256File } from '../../util/digest.ts';
import { asUsageError, UsageError } from '../../util/errors.ts';
import { onAbnormalExit } from '../../util/lifetime.ts';
import { capture } from '../../util/process.ts';
import { insideReal, isInside, resolveInside } from '../../model/paths.ts';
import { repoRoot } from '../../util/paths.ts';
import { shellQuote } from '../../util/shell-quote.ts';
import { tempSibling } from '../../util/fs.ts';
import { scenarioPlan, type RunPlan } from '../../scenarios/run-plan.ts';
import { guestScript } from './guest-script.ts';
import { notPackable } from '../../scenarios/portable.ts';
import { entryInputs } from '../../store/store.ts';
import { judgeCapabilities, PARAM_NAMES } from '../../catalog/scenario-defs.ts';
import type { FabricSpec } from '../../fabric/fabric.ts';
import { errnoNames } from '../../catalog/errno-table.ts';
import { FLAT_RESULTS_RECIPE } from '../../bundle/bundle.ts';
import type { Arch } from '../../model/target.ts';

const TEMPLATES = path.join(repoRoot, 'images', 'repro');

export interface PackResult {
  file: string;
  name: string;
  files: { path: string; sha256: string; bytes: number }[];
  verdict: string;
  /** The tar.gz's own digest, for the receiver to check before unpacking. */
  sha256: string;
}

/** The cell's parameters as the scenario reads them (the run's, over the definition's defaults). */
function paramsOf(s: Scenario, rec: CellRecord): ScenarioParams {
  const p: Record<string, unknown> = { ...s.defaults };
  // The numeric knobs only (the recorded burst is text; the pack carries no USB burst).
  for (const k of PARAM_NAMES) if (typeof rec.params[k] === 'number') p[k] = rec.params[k];
  return p as ScenarioParams;
}

/** judge.awk's ERRNOS: "number NAME ..." of the lab's errno table for the guest's arch. */
export function judgeErrnos(arch: Arch): string {
  return [...errnoNames(arch)].map(([n, name]) => `${n} ${name}`).join(' ');
}

/** judge.awk's -v settings; the symptom template goes through the environment (awk -v would process its backslashes). */
export function judgeVars(s: Scenario, o: { roles: string[]; plan: RunPlan; arch: Arch }): { vars: string[]; failSymptom: string } {
  const d = s.definition!;
  const rule = 'code' in d.judge ? { RULE: judgeCapabilities(d.judge).packRule!.awk, TRUTH: judgeCapabilities(d.judge).packRule!.truth, EQUAL: '', COUNTSONFAIL: '0' } : { RULE: 'counts', TRUTH: d.judge.truth, EQUAL: Object.entries(d.judge.equal).map(([f, q]) => `${f}=${q}`).join(';'), COUNTSONFAIL: d.judge.countsOnFail ? '1' : '0' };
  // The fabric steps guest.sh reports on, from the same plan it was rendered from.
  const fabric = o.plan.fabric.flatMap((f) => (f.step === 'links' || f.step === 'sockets' ? [f.step] : [])).join(' ');
  const vars = { ...rule, ROLES: o.roles.join(' '), REPEATS: String(o.plan.repeats), ERRNOS: judgeErrnos(o.arch), FABRIC: fabric };
  return { vars: Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), failSymptom: 'code' in d.judge ? '' : d.judge.failSymptom };
}

function readme(o: { s: Scenario; rec: CellRecord; manifest: BundleManifest; fabric: FabricSpec; name: string }): string {
  const d = o.s.definition!;
  const j = d.judge;
  const judged = 'code' in j
    ? judgeCapabilities(j).packRule!.judged
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
    `Needs only \`${o.manifest.qemu.binary}\` (Debian: \`apt-get install qemu-system-${o.manifest.qemu.binary.includes('arm') ? 'arm' : 'mips'}\`) and a POSIX shell with awk, sed, grep, tr, cat, mkdir, mkfifo, sleep, rm, dirname and one of sha256sum, shasum or openssl (to check the files). No Node, no lab, no network.`,
    "Check the tar.gz first: its sha256 is the one `reprolab repro pack` printed (`sha256sum " + o.name + ".tar.gz`).",
    `It boots the image (${o.manifest.kernel.version}, ${o.manifest.kernel.pageSizeKiB} KiB pages, ${o.manifest.qemu.machine}), sends \`guest.sh\` over the serial console,`,
    "prints each probe's result line, each variant's judgement and the verdict, and exits 0 when the verdict is the lab's (1 when it is another verdict, 2 when the run could not be made or judged).",
    "Before QEMU starts it checks the pack: every file listed in `SHA256SUMS` with its digest (`manifest.json` too, whose list must be the same), nothing else, no symbolic link; a pack that fails is refused (exit 2).",
    'It writes only into a fresh directory beside the pack (`' + o.name + '-run1`, `-run2`, …, or `REPRO_OUT=DIR`, which must not exist yet): the whole console in `console.log`, the judgement in `verdict.txt`.',
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
    "- `manifest.json` — every file's sha256, the QEMU command, and the digests of the sources the image was built from; `SHA256SUMS` — the same digests and manifest.json's, for `sha256sum -c`; `lab-result.json` — the lab's own result for this cell.",
    '',
  ].join('\n');
}

/** A model reader's refusal of a file the lab did not just write (a cell handed over) is bad input: exit 2, one line. */
async function untrusted<T>(read: Promise<T>): Promise<T> {
  // "edit the file" is no fix for a file the lab writes: a damaged one is written again.
  return read.catch((err: unknown) => asUsageError(err, (given) => (given?.startsWith('edit ') ? 'the lab writes it: run the cell again, then pack it' : given)));
}

/** `p` with every link followed, when that is inside the lab's store; a field naming anything else is refused. */
async function inStore(store: string, p: string, o: { file: string; field: string; what: string }): Promise<string> {
  const [root, real] = await Promise.all([fs.realpath(store).catch(() => undefined), fs.realpath(p).catch(() => undefined)]);
  if (!real) throw new UsageError(`${o.file}: ${o.field}: ${p} is gone`, { fix: 'build it again and run the cell again, then pack it' });
  if (!root || !isInside(root, real)) throw new UsageError(`${o.file}: ${o.field} must be ${o.what} in the lab's store ${store} (got ${p})`, { fix: 'pack the cell with the --cache-dir (REPROLAB_CACHE) it ran with, or run it again' });
  return real;
}

interface CheckedCell {
  rec: CellRecord;
  scenario: Scenario;
  /** The bundle the cell booted, every link followed, inside the store. */
  bundleDir: string;
  manifest: BundleManifest;
  variants: VariantPlan[];
}

/** The cell, its scenario and its bundle, each checked against the others: a pack carries only what the cell ran. */
async function checkCell(cellDir: string, store: string): Promise<CheckedCell> {
  const file = path.join(cellDir, 'result.json');
  const rec = await untrusted(readCellRecord(file));
  if (rec.verdict === 'ERROR') {
    // A matrix cell that ERRORed was retried on a fresh boot, beside it.
    const retry = `${cellDir.replace(/\/+$/, '')}.retry`;
    const retried = await fs.access(path.join(retry, 'result.json')).then(() => true, () => false);
    throw new UsageError(`${cellDir}: the lab could not judge this attempt (ERROR): there is no verdict to reproduce`, { fix: retried ? `the cell was retried: pack ${retry}` : 'pack a cell with a verdict; run it again first' });
  }
  let scenario: Scenario;
  try {
    scenario = scenarioByName(rec.scenario);
  } catch {
    throw new UsageError(`${cellDir}: scenario "${rec.scenario}" is not known here`, { fix: 'pass the directory that defines it: reprolab --scenario-dir DIR repro pack …' });
  }
  const why = notPackable(scenario);
  if (why) throw new UsageError(`${rec.scenario}: a repro pack cannot carry this scenario yet: ${why}`);
  // The pack runs what the definition says now: it must be what the cell ran.
  if (rec.definitionSha256 !== scenario.definition!.sha256) throw new UsageError(`${cellDir}: ${scenario.definition!.file} changed since this cell ran`, { fix: 'run the cell again, then pack it' });
  const bundleDir = await inStore(store, rec.bundleDir, { file, field: 'depends.bundleDir', what: 'a bundle' });
  const manifest = await readBundleManifest(bundleDir).catch((err: unknown) => {
    throw new UsageError(`${cellDir}: the bundle the cell booted cannot be used: ${(err as Error).message}`, { fix: `build it again (reprolab build ${rec.target}) and run the cell again, then pack it` });
  });
  if (manifest.target !== rec.target) throw new UsageError(`${cellDir}: result.json says target ${rec.target}, its bundle is ${manifest.target}`);
  // The pack's judge reads flat lines only: an image built before its probes printed them would judge ERROR every time.
  if (manifest.recipeVersion < FLAT_RESULTS_RECIPE) throw new UsageError(`${cellDir}: its image was built by an older reprolab (recipe ${manifest.recipeVersion}) whose probes print no flat result lines, which the pack's judge reads`, { fix: 'run the cell again with this reprolab (it rebuilds the image), then pack it' });
  if (manifest.key !== rec.bundleKey) throw new UsageError(`${cellDir}: ${rec.bundleDir} now holds another build (${manifest.key}, the cell booted ${rec.bundleKey})`, { fix: 'run the cell again, then pack it' });
  const patched = rec.variants.find((v) => v.role === 'patched')?.variant;
  const variants = planVariants(scenario, manifest, scenario.usesLibc && patched ? patched : undefined);
  const names = (vs: { variant: string; role: string }[]) => vs.map((v) => `${v.role}:${v.variant}`).join(' ');
  if (names(variants) !== names(rec.variants)) throw new UsageError(`${cellDir}: the cell ran ${names(rec.variants)}, the bundle now plans ${names(variants)}`);
  return { rec, scenario, bundleDir, manifest, variants };
}

/** The images, from the bundle to the same place in the pack; each path is resolved and kept inside both. */
async function copyImages(bundleDir: string, dir: string, rels: string[]): Promise<void> {
  for (const rel of rels) {
    const from = resolveInside(bundleDir, rel);
    const to = resolveInside(dir, rel);
    const isFile = from !== undefined && (await fs.stat(from).then((st) => st.isFile(), () => false));
    if (!from || !to || !isFile || !(await insideReal(bundleDir, from))) {
      throw new UsageError(`${path.join(bundleDir, 'manifest.json')}: ${rel} is not a file inside the bundle`, { fix: 'build the bundle again, run the cell again, then pack it' });
    }
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.copyFile(from, to);
  }
}

/** Copies a probe build: plain files and folders only (a link would bring any file of the host into the pack). */
async function copyPlainTree(from: string, to: string, what: string): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const e of await fs.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    if (e.isDirectory()) await copyPlainTree(src, path.join(to, e.name), what);
    else if (e.isFile()) await fs.copyFile(src, path.join(to, e.name));
    else throw new UsageError(`${what}: ${src} is a symbolic link or a special file, not something the lab builds`, { fix: 'remove that store entry, build it again and run the cell again' });
  }
}

/** A user's scenario's probe builds as one base64 tar for guest.sh, laid out where the guest runs them. */
async function probesPayload(c: CheckedCell, o: { cellDir: string; store: string; work: string; name: string }): Promise<{ base64: string; sha256: string }> {
  const file = path.join(o.cellDir, 'result.json');
  if (!c.rec.scenarioProbes.length) throw new UsageError(`${o.cellDir}: result.json lists no probe builds of ${c.rec.scenario}`, { fix: 'run the cell again with this version of reprolab' });
  const stage = path.join(o.work, `${o.name}-probes`);
  const tar = path.join(o.work, `${o.name}-probes.tar`);
  await fs.rm(stage, { recursive: true, force: true });
  try {
    for (const [i, p] of c.rec.scenarioProbes.entries()) {
      const field = `depends.scenarioProbes[${i}].dir`;
      const from = await inStore(o.store, p.dir, { file, field, what: 'a probe build' });
      // The variant is one segment (readCellRecord): by construction the copy lands under stage.
      const to = resolveInside(stage, `.${scenarioProbeDir(c.rec.scenario, p.variant, p.linkage)}`);
      if (!to) throw new UsageError(`${file}: depends.scenarioProbes[${i}] does not name a folder inside the pack`);
      await copyPlainTree(from, to, `${file}: ${field}`);
    }
    await capture('tar', ['-cf', tar, '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', stage, 'opt']);
    const bytes = await fs.readFile(tar);
    return { base64: bytes.toString('base64').replace(/.{76}/g, '$&\n').trimEnd(), sha256: sha256(bytes) };
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
    await fs.rm(tar, { force: true });
  }
}

/**
 * `reprolab repro pack CELL`: everything one cell needs to be reproduced without the lab,
 * as a tar.gz written whole (a temporary sibling renamed into place). The cell and its bundle
 * are read as untrusted input: every path they give stays inside the lab's store (`store`).
 */
export async function packRepro(o: { cellDir: string; out?: string; work: string; store: string; progress?: (line: string) => void }): Promise<PackResult> {
  const say = o.progress ?? (() => undefined);
  const cell = await checkCell(o.cellDir, o.store);
  const { rec, scenario, manifest, variants } = cell;
  const params = paramsOf(scenario, rec);
  const repeats = Math.max(1, rec.repeats);

  // target and scenario are single path segments (readCellRecord's patterns): so is the name.
  const name = `repro-${rec.target}-${rec.scenario}`;
  const dir = path.join(o.work, name);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.join(dir, 'images'), { recursive: true });
  try {
    say('copying the images');
    const images = [manifest.kernel.image, ...(manifest.kernel.dtb ? [manifest.kernel.dtb] : []), ...(manifest.kernel.initramfs === 'external' ? ['images/rootfs.cpio'] : [])];
    await copyImages(cell.bundleDir, dir, images);
    let payload: { base64: string; sha256: string } | undefined;
    if (scenario.definition?.probesDir) {
      say("packing the scenario's probes");
      payload = await probesPayload(cell, { cellDir: o.cellDir, store: o.store, work: o.work, name });
    }
    const fabric = scenario.fabric(params);
    // The lab's run of this cell, as data: guest.sh renders it, judge.awk is told which fabric steps it reports.
    const plan = scenarioPlan(scenario, variants, params, repeats);
    await fs.writeFile(path.join(dir, 'guest.sh'), guestScript({ plan, ...(payload ? { payload } : {}) }));
    await fs.copyFile(path.join(TEMPLATES, 'judge.awk'), path.join(dir, 'judge.awk'));
    const q = qemuCommand({ bundleDir: '.', manifest });
    await fs.writeFile(path.join(dir, 'run.sh'), await runScript(cell, { q, plan }), { mode: 0o755 });
    await fs.writeFile(path.join(dir, 'README.md'), readme({ s: scenario, rec, manifest, fabric, name }));
    await fs.copyFile(path.join(o.cellDir, 'result.json'), path.join(dir, 'lab-result.json'));

    const files: PackResult['files'] = [];
    for (const rel of [...images, 'guest.sh', 'judge.awk', 'run.sh', 'README.md', 'lab-result.json']) {
      files.push({ path: rel, sha256: await sha256File(path.join(dir, rel)), bytes: (await fs.stat(path.join(dir, rel))).size });
    }
    // run.sh reads manifest.json's list back (one field a line, as written here) and checks it against SHA256SUMS.
    const packManifest = `${JSON.stringify(await packManifestOf(cell, { params, repeats, q, files }), null, 2)}\n`;
    await fs.writeFile(path.join(dir, 'manifest.json'), packManifest);
    // Every file but SHA256SUMS itself, manifest.json last: run.sh refuses anything else in the pack.
    const sums = [...files, { path: 'manifest.json', sha256: sha256(packManifest) }];
    await fs.writeFile(path.join(dir, 'SHA256SUMS'), sums.map((f) => `${f.sha256}  ${f.path}\n`).join(''));

    const file = path.resolve(o.out ?? `${name}.tar.gz`);
    say(`writing ${file}`);
    await writeTarball(o.work, name, file);
    // What the receiver checks the tar.gz against, handed over apart from it.
    return { file, name, files, verdict: rec.verdict, sha256: await sha256File(file) };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** run.sh: the template with the exact QEMU command, the verdict to reproduce and judge.awk's settings. */
async function runScript(c: CheckedCell, o: { q: { binary: string; args: string[] }; plan: RunPlan }): Promise<string> {
  const judge = judgeVars(c.scenario, { roles: c.variants.map((v) => v.role), plan: o.plan, arch: c.manifest.arch });
  // Replacement functions, not strings: a "$'" or "$&" in a value must stay as it is.
  const values: Record<string, string> = {
    '@QEMU_BINARY@': shellQuote(o.q.binary),
    '@QEMU_ARGS@': o.q.args.map(shellQuote).join(' '),
    '@EXPECTED@': c.rec.verdict,
    '@TARGET@': c.rec.target,
    '@SCENARIO@': c.rec.scenario,
    '@JUDGE_VARS@': judge.vars.map(shellQuote).join(' '),
    '@FAILSYM@': shellQuote(judge.failSymptom),
  };
  let text = await fs.readFile(path.join(TEMPLATES, 'run.sh'), 'utf8');
  for (const [token, value] of Object.entries(values)) text = text.replaceAll(token, () => value);
  return text;
}

/** The pack's manifest.json: every file's digest and what the image was built from. */
async function packManifestOf(c: CheckedCell, o: { params: ScenarioParams; repeats: number; q: { binary: string; args: string[] }; files: PackResult['files'] }): Promise<object> {
  const { rec, scenario, manifest } = c;
  return {
    schema: 1,
    kind: 'reprolab-repro-pack',
    target: rec.target,
    scenario: rec.scenario,
    bug: scenario.bug,
    title: scenario.title,
    verdict: rec.verdict,
    variants: rec.variants,
    params: o.params,
    repeats: o.repeats,
    qemu: { binary: o.q.binary, args: o.q.args },
    files: o.files,
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
}

/** work/name as file, written whole: never half a pack under the name asked for, nor a temporary one left beside it (Ctrl-C included). */
async function writeTarball(work: string, name: string, file: string): Promise<void> {
  const tmp = tempSibling(file);
  const undo = onAbnormalExit(() => rmSync(tmp, { force: true }));
  try {
    await capture('tar', ['-czf', tmp, '--owner=0', '--group=0', '-C', work, name]);
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
    undo();
  }
}
