import path from 'node:path';
import type { Command } from 'commander';
import { importBuildroot } from '../buildroot/import.ts';
import { loadTargets } from '../catalog/targets.ts';
import { runStamp } from '../matrix/runs.ts';
import type { Dirs } from './guest-commands.ts';

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
      const logFile = path.join(dirs.logs, `import-${runStamp()}`, 'import.log');
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
        console.log(JSON.stringify({ target: r.target, bundle: r.bundleDir, replaced: r.replaced }, null, 2));
        return;
      }
      const o = r.output;
      console.log(`imported ${r.target.name}: ${r.target.description}`);
      console.log(`  arch ${o.arch}, toolchain ${o.tuple}, libc ${o.libc.kind} ${o.libc.version} from ${o.sysroot}`);
      console.log(`  kernel ${o.kernel.version} (${path.basename(o.kernel.image)}${o.kernel.dtb ? ` + ${path.basename(o.kernel.dtb)}` : ''}), ${o.kernel.pageSizeKiB} KiB pages${o.kernel.config ? '' : ' (no kernel .config found: page size assumed)'}`);
      console.log(`  rootfs ${o.rootfs.file} + the lab's SSH, readiness, probes and tools${r.replaced.length ? `; replaced ${r.replaced.length} product file(s): ${r.replaced.slice(0, 6).join(', ')}${r.replaced.length > 6 ? ', …' : ''}` : ''}`);
      console.log(`  bundle ${r.bundleDir}`);
      console.log(`next: reprolab run getifaddrs --target ${r.target.name}   or   reprolab matrix --targets ${r.target.name}`);
    });
}
