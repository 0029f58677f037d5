import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { packRepro } from '../workflows/repro/pack.ts';
import { onAbnormalExit } from '../util/lifetime.ts';
import { labDirs } from '../util/paths.ts';
import { inputDirOption, outFileOption } from './input.ts';

export function registerReproCommands(program: Command): void {
  const repro = program.command('repro').description('hand a result over: a pack that reproduces one cell with only QEMU and a POSIX shell');
  repro
    .command('pack')
    .description('pack one cell (RUN_DIR/<target>/<scenario> of a matrix, or the evidence directory of reprolab run): kernel, dtb, rootfs, the QEMU command, the fabric and probe commands of both variants, the judge, a README and run.sh')
    .argument('<cell>', 'the cell directory (it holds result.json)')
    .option('-o, --output <file>', 'the pack to write (default ./repro-<target>-<scenario>.tar.gz)')
    .action(async (cell: string, opts: { output?: string }) => {
      inputDirOption('<cell>', cell);
      if (opts.output) outFileOption('--output', opts.output);
      const work = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-pack-'));
      // Ctrl-C exits without running finally blocks: the copies of the images go then too.
      const undo = onAbnormalExit(() => rmSync(work, { recursive: true, force: true }));
      try {
        // The cell names its bundle and probe builds: they must be in this store (the --cache-dir it ran with).
        const { store } = labDirs({ cacheDir: program.opts<{ cacheDir?: string }>().cacheDir });
        const r = await packRepro({ cellDir: path.resolve(cell), ...(opts.output ? { out: opts.output } : {}), work, store, progress: (l) => console.error(l) });
        console.log(`${r.file}: ${r.files.length} files, verdict to reproduce ${r.verdict}`);
        // Handed over apart from the pack (a message, a ticket): the receiver checks the tar.gz against it.
        console.log(`  sha256 ${r.sha256}  (the receiver checks it: sha256sum ${path.basename(r.file)})`);
        console.log(`  run it: tar -xzf ${path.basename(r.file)} && cd ${r.name} && sh run.sh`);
      } finally {
        await fs.rm(work, { recursive: true, force: true });
        undo();
      }
    });
}
