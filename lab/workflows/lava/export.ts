import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadExpectations } from '../../catalog/expectations.ts';
import type { BundleManifest } from '../../model/manifest.ts';
import { expectationsName, type Target } from '../../model/target.ts';
import { notOnLava } from '../../scenarios/portable.ts';
import { scenarioPlan } from '../../scenarios/run-plan.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { planVariants } from '../../scenarios/variants.ts';
import { sha256 } from '../../util/digest.ts';
import { UsageError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/fs.ts';
import { timeout } from '../../util/timeouts.ts';
import { guestScript } from '../repro/guest-script.ts';
import { judgeVars } from '../repro/pack.ts';
import { boardJob, qemuJob, type JobArtifacts } from './job.ts';
import { lavaRamdisk, rootfsArchive } from './ramdisk.ts';
import { testDefinition } from './test-definition.ts';

export interface LavaExportInput {
  targets: { target: Target; bundleDir: string; manifest: BundleManifest }[];
  scenarios: Scenario[];
  outDir: string;
  /** 'qemu', or a board's LAVA device type (u-boot, TFTP): then kernelUrl (and dtbUrl) name its own kernel. */
  deviceType: string;
  /** Where a farm fetches the artifacts from (<url>/<target>/<file>); default: file:// paths in outDir. */
  artifactsUrl?: string;
  kernelUrl?: string;
  dtbUrl?: string;
  repeat: number;
  progress?: (line: string) => void;
}

/** One job written, or one scenario that cannot run there and why. */
export interface ExportedCell {
  target: string;
  scenario: string;
  job?: string;
  notRunnable?: string;
  expected?: string;
  roles: string[];
  variants: string[];
}

export interface LavaExport {
  schema: 1;
  kind: 'reprolab-lava-export';
  deviceType: string;
  repeat: number;
  artifacts: { target: string; file: string; url: string; sha256: string; bytes: number }[];
  cells: ExportedCell[];
}

interface ScenarioJob {
  scenario: Scenario;
  script: string;
  cell: ExportedCell;
  test: Record<string, unknown>;
}

/** A scenario's run plan on this target, as guest.sh and its test definition; or why it cannot run on LAVA. */
async function scenarioJob(s: Scenario, t: LavaExportInput['targets'][number], o: { repeat: number; board: boolean }): Promise<ScenarioJob | ExportedCell> {
  const why = notOnLava(s);
  if (why) return { target: t.target.name, scenario: s.name, notRunnable: why, roles: [], variants: [] };
  const variants = planVariants(s, t.manifest);
  const plan = scenarioPlan(s, variants, s.defaults, o.repeat);
  const roles = variants.map((v) => v.role);
  // On a board its own kernel decides (page size, netlink): the QEMU target's expectation does not apply.
  const expected = o.board ? '' : ((await loadExpectations(s.name, s.definition?.expectFile)).targets.get(expectationsName(t.target))?.verdict ?? '');
  const judge = judgeVars(s, { roles, plan, arch: t.manifest.arch });
  const cell: ExportedCell = { target: t.target.name, scenario: s.name, ...(expected ? { expected } : {}), roles, variants: variants.map((v) => `${v.role}:${v.variant}`) };
  const test = testDefinition({ scenario: s, name: s.name, judge, roles, expected, repeats: o.repeat });
  return { scenario: s, script: guestScript({ plan }), cell, test };
}

/** Copies the kernel (and dtb) and writes the ramdisk into <out>/<target>/; returns what the jobs deploy. */
async function writeArtifacts(o: LavaExportInput, t: LavaExportInput['targets'][number], scripts: Map<string, string>, record: LavaExport['artifacts']): Promise<JobArtifacts> {
  const dir = path.join(o.outDir, t.target.name);
  const m = t.manifest;
  // A board boots its own kernel: from --kernel-url, or an imported product's (built for that board).
  const fromUrl = o.deviceType !== 'qemu' && !!o.kernelUrl;
  const files: [string, Buffer][] = [['ramdisk.cpio.gz', await lavaRamdisk({ bundleDir: t.bundleDir, rootfs: rootfsArchive(m), scripts })]];
  if (!fromUrl) files.push([path.basename(m.kernel.image), await fs.readFile(path.join(t.bundleDir, m.kernel.image))]);
  if (!fromUrl && m.kernel.dtb) files.push([path.basename(m.kernel.dtb), await fs.readFile(path.join(t.bundleDir, m.kernel.dtb))]);
  const url = (name: string) => (o.artifactsUrl ? `${o.artifactsUrl.replace(/\/+$/, '')}/${t.target.name}/${name}` : `file://${path.join(dir, name)}`);
  for (const [name, data] of files) {
    await writeFileAtomic(path.join(dir, name), data);
    record.push({ target: t.target.name, file: `${t.target.name}/${name}`, url: url(name), sha256: sha256(data), bytes: data.length });
  }
  const kernel = fromUrl ? o.kernelUrl! : url(path.basename(m.kernel.image));
  const dtb = fromUrl ? o.dtbUrl : m.kernel.dtb ? url(path.basename(m.kernel.dtb)) : undefined;
  return { kernel, ...(dtb ? { dtb } : {}), ramdisk: url('ramdisk.cpio.gz'), ramdiskBytes: files[0]![1].length };
}

/** The jobs of one target: one per runnable scenario (each boots once: a fabric never meets another's). */
async function exportTarget(o: LavaExportInput, t: LavaExportInput['targets'][number], out: LavaExport): Promise<void> {
  const say = o.progress ?? (() => undefined);
  const made = await Promise.all(o.scenarios.map((s) => scenarioJob(s, t, { repeat: o.repeat, board: o.deviceType !== 'qemu' })));
  const jobs = made.filter((j): j is ScenarioJob => 'script' in j);
  for (const j of made) if (!('script' in j)) out.cells.push(j);
  if (!jobs.length) return;
  say(`${t.target.name}: writing the ramdisk (${jobs.map((j) => j.scenario.name).join(', ')})`);
  const artifacts = await writeArtifacts(o, t, new Map(jobs.map((j) => [j.scenario.name, j.script])), out.artifacts);
  const minutes = { boot: Math.ceil(timeout('lavaBoot') / 60_000), test: Math.ceil((timeout('lavaTest') * o.repeat) / 60_000) };
  for (const j of jobs) {
    const metadata = { 'reprolab.target': t.target.name, 'reprolab.scenario': j.scenario.name, 'reprolab.bug': j.scenario.bug, 'reprolab.expected': j.cell.expected ?? '', 'reprolab.variants': j.cell.variants.join(' '), 'reprolab.repeats': String(o.repeat), 'reprolab.bundle-key': t.manifest.key };
    const input = { target: t.target.name, scenario: j.scenario, manifest: t.manifest, artifacts, test: j.test, minutes, metadata };
    const job = o.deviceType === 'qemu' ? qemuJob(input) : boardJob(input, o.deviceType);
    const file = path.join(t.target.name, 'jobs', `${j.scenario.name}.yaml`);
    await writeFileAtomic(path.join(o.outDir, file), `# Written by reprolab lava export; submit with: lavacli jobs submit ${path.basename(file)}\n${stringify(job, { lineWidth: 0 })}`);
    out.cells.push({ ...j.cell, job: file });
  }
}

/** A board boots its own kernel: --kernel-url, or an imported product's (built for that board). The CLI asks before building. */
export function checkBoardKernel(deviceType: string, kernelUrl: string | undefined, targets: Target[]): void {
  const lab = targets.filter((t) => !t.imported).map((t) => t.name);
  if (deviceType !== 'qemu' && !kernelUrl && lab.length) throw new UsageError(`--device-type ${deviceType}: a board boots its own kernel, not the QEMU kernel of ${lab.join(', ')}`, { fix: "name it with --kernel-url URL (and the board's --dtb-url URL), or export a product imported with import-buildroot: its own kernel is used" });
}

/** `reprolab lava export`: per target, the artifacts and one LAVA job per scenario, and export.json listing them. */
export async function exportLava(o: LavaExportInput): Promise<LavaExport> {
  checkBoardKernel(o.deviceType, o.kernelUrl, o.targets.map((t) => t.target));
  const out: LavaExport = { schema: 1, kind: 'reprolab-lava-export', deviceType: o.deviceType, repeat: o.repeat, artifacts: [], cells: [] };
  for (const t of o.targets) await exportTarget(o, t, out);
  await writeFileAtomic(path.join(o.outDir, 'export.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
