import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { defconfigName, kernelConfigMatches, writeExternalTree } from '../workflows/buildroot/external.ts';
import { importBuildroot } from '../workflows/buildroot/import.ts';
import { buildWithBuildroot, configureBuildroot, downloadDir, missingDownloads, resolvedVersions } from '../workflows/buildroot/buildroot-make.ts';
import { loadTargets, selectTargets } from '../catalog/targets.ts';
import type { Target } from '../model/target.ts';
import { UsageError } from '../util/errors.ts';
import type { Dirs } from './guest-commands.ts';
import { timeStamp } from '../util/paths.ts';

/** Each built target's resolved kernel config, from its latest bundle, when today's fragments give it. */
async function builtKernelConfigs(cache: string, targets: Target[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const t of targets) {
    const file = path.join(cache, 'bundles', t.name, 'images', 'kernel.config');
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    if (await kernelConfigMatches(t, text)) found[t.name] = text;
    else console.error(`${t.name}: its latest bundle's kernel config (${file}) is not what kernels/${t.kernel.line}/boards/ gives today: rebuild it (reprolab build ${t.name})`);
  }
  return found;
}

export function registerBuildrootCommands(program: Command, getDirs: Dirs): void {
  program
    .command('import-buildroot')
    .description("turn a product's Buildroot output/ (kernel, rootfs, staging libc, toolchain, .config) into a lab target that run, sweep and matrix use like a built-in one")
    .argument('<output-dir>', 'the Buildroot output directory (holds .config, images/, host/, staging/)')
    .requiredOption('--board <machine>', 'QEMU board the product runs on: versatilepb or malta')
    .option('--name <name>', 'target name (default br-<board>-<kernel>-<libc>)')
    .option('--like <target>', "a built-in target whose expected verdicts this product should meet")
    .option('--json', 'print the imported target as JSON')
    .action(async (outputDir: string, opts: { board: string; name?: string; like?: string; json?: boolean }) => {
      const { dirs } = getDirs();
      const logFile = path.join(dirs.logs, `import-${timeStamp()}`, 'import.log');
      const r = await importBuildroot({
        outputDir,
        board: opts.board,
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.like ? { like: opts.like } : {}),
        dirs,
        builtins: await loadTargets(),
        logFile,
        progress: (l) => console.error(`import: ${l}`),
      });
      if (opts.json) {
        // What was read from the output, as the text form says it: a script checks the import from this.
        const o = r.output;
        const read = { dir: o.dir, arch: o.arch, tuple: o.tuple, sysroot: o.sysroot, libc: o.libc, kernel: { version: o.kernel.version, image: o.kernel.image, pageSizeKiB: o.kernel.pageSizeKiB, configFound: Boolean(o.kernel.config) }, rootfs: o.rootfs };
        console.log(JSON.stringify({ target: r.target, bundle: r.bundleDir, replaced: r.replaced, output: read }, null, 2));
        return;
      }
      const o = r.output;
      console.log(`imported ${r.target.name}: ${r.target.description}`);
      console.log(`  arch ${o.arch}, toolchain ${o.tuple}, libc ${o.libc.kind} ${o.libc.version} from ${o.sysroot}`);
      console.log(`  kernel ${o.kernel.version} (${path.basename(o.kernel.image)}${o.kernel.dtb ? ` + ${path.basename(o.kernel.dtb)}` : ''}), ${o.kernel.pageSizeKiB} KiB pages${o.kernel.config ? '' : ' (no kernel .config found: page size assumed)'}`);
      console.log(`  rootfs ${o.rootfs.file} + the lab's SSH, readiness, probes and tools${r.replaced.length ? `; replaced ${r.replaced.length} product file(s): ${r.replaced.slice(0, 6).join(', ')}${r.replaced.length > 6 ? ', …' : ''}` : ''}`);
      console.log(`  bundle ${r.bundleDir}`);
      console.log(`next: reprolab run getifaddrs --target ${r.target.name}   or   reprolab matrix --targets ${r.target.name}`);
      // A patch to the product's own libc is validated against its release and config.
      const libc = o.libc.kind === 'uclibc-ng' ? 'uclibc-ng' : o.libc.kind === 'uclibc' && o.libc.version.startsWith('0.9.33') ? 'uclibc-0.9.33.2' : undefined;
      if (libc) console.log(`      a libc patch: reprolab validate-patch FILE.patch --libc ${libc} --targets ${r.target.name}`);
    });

  program
    .command('buildroot-external')
    .description("write a BR2_EXTERNAL tree (the lab's probes and fabric helper as packages, a post-build hook with the readiness marker and SSH key, defconfigs for the lab's QEMU boards with uClibc and Linux 3.10); with --buildroot, configure and build it there and import the result")
    .argument('<dir>', 'where to write the external tree')
    .option('--buildroot <tree>', 'a Buildroot source tree to configure (and, when every download is present, build) with it')
    .option('--target <name>', 'which lab target to build with --buildroot', 'arm-versatile-3.10-uclibc')
    .option('--out <dir>', 'the Buildroot output directory (O=) for --buildroot (default <cache>/buildroot/<target>)')
    .action((dir: string, opts: ExternalOptions) => externalAction(dir, opts, getDirs));
}

interface ExternalOptions {
  buildroot?: string;
  target: string;
  out?: string;
}

/** buildroot-external: write the tree; with --buildroot, configure, check downloads, build and import. */
async function externalAction(dir: string, opts: ExternalOptions, getDirs: Dirs): Promise<void> {
    const { dirs } = getDirs();
    const targets = await loadTargets();
    const ext = path.resolve(dir);
    const written = await writeExternalTree(ext, targets, await builtKernelConfigs(dirs.cache, targets));
    console.log(`wrote ${written.files} files to ${ext} (kernel configs from the lab's built bundles in ${path.join(dirs.cache, 'bundles')})`);
    if (written.unbuilt.length) console.log(`  no defconfig for ${written.unbuilt.join(', ')}: not built yet (reprolab build ${written.unbuilt.join(' ')}, then run this again)`);
    for (const d of written.defconfigs) console.log(`  configs/${d}`);
    if (!opts.buildroot) {
      console.log(`use: make -C <buildroot> O=<output> BR2_EXTERNAL=${ext} ${written.defconfigs[0]}`);
      return;
    }
    const [target] = selectTargets(targets, [opts.target]) as [Target];
    const defconfig = defconfigName(target);
    if (!written.defconfigs.includes(defconfig)) throw new UsageError(`--target ${target.name}: the external tree has no defconfig for it`, { fix: written.unbuilt.includes(target.name) ? `build it first: reprolab build ${target.name}` : `use one of the uClibc 3.10 targets: ${written.defconfigs.join(', ')}` });
    const tree = path.resolve(opts.buildroot);
    const out = path.resolve(opts.out ?? path.join(dirs.cache, 'buildroot', target.name));
    const logFile = path.join(dirs.logs, `buildroot-${target.name}-${timeStamp()}`, 'buildroot.log');
    console.error(`configuring ${tree} with ${defconfig} (O=${out}; log ${logFile})`);
    const { config, info } = await configureBuildroot({ tree, external: ext, out, defconfig, logFile });
    const v = resolvedVersions(info);
    console.log(`${defconfig} in ${tree}: kernel ${v.kernel}, ${v.libc}; lab packages: ${['reprolab-probes', 'reprolab-fabric'].filter((p) => info[p]).join(', ')}`);
    if (!/^uClibc 0\.9\.33/.test(v.libc)) console.log(`note: this Buildroot builds ${v.libc}, not uClibc 0.9.33.2 as the lab's ${target.name} does (Buildroot replaced uClibc by uClibc-ng after 2014.08)`);
    const dl = downloadDir(tree, config);
    const missing = await missingDownloads(info, dl);
    if (missing.length) {
      console.log(`Buildroot cannot download here: ${missing.length} archive(s) missing from its download directory ${dl}:`);
      for (const m of missing) {
        const ours = path.join(dirs.downloads, m.archive);
        const have = await fs.access(ours).then(() => ` — the lab's download cache has it: cp ${ours} ${m.where}/`, () => '');
        console.log(`  ${m.where}/${m.archive}${m.uri ? `   (${m.uri}/${m.archive})` : ''}${have}`);
      }
      console.log(`put them there (or set BR2_DL_DIR), then run this again; nothing was built`);
      process.exitCode = 1;
      return;
    }
    await buildWithBuildroot({ tree, out, logFile, progress: (l) => console.error(l) });
    const r = await importBuildroot({ outputDir: out, board: target.qemu.machine, name: `br-${target.name}`, like: target.name, dirs, builtins: targets, logFile, progress: (l) => console.error(`import: ${l}`) });
    console.log(`imported ${r.target.name} (like ${target.name}): reprolab matrix --targets ${r.target.name}`);
}
