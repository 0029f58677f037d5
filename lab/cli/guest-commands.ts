import type { SourceOptions } from '../sources/resolve.ts';
import path from 'node:path';
import type { Command } from 'commander';
import { buildBundle } from '../bundle/bundle.ts';
import type { Target } from '../model/target.ts';
import { loadAllTargets, selectTargets } from '../catalog/targets.ts';
import { labKey } from '../guest/keys.ts';
import { startGuest, type Guest } from '../guest/guest.ts';
import { timeStamp, type LabDirs } from '../util/paths.ts';

export type Dirs = () => { dirs: LabDirs; overrides: Record<string, string>; sources: SourceOptions };

/** Builds (a cache hit when nothing changed) and boots one target. */
export async function bootTarget(name: string, getDirs: Dirs, log: (l: string) => void, keep: boolean | undefined): Promise<Guest> {
  const { dirs, overrides } = getDirs();
  const [target] = selectTargets(await loadAllTargets(dirs.imported), [name]) as [Target];
  const bundle = await buildBundle({ target, extraPatches: [], dirs, sources: { dirs, overrides }, logDir: path.join(dirs.logs, `${target.name}-${timeStamp()}`) });
  log(`booting ${target.name} from ${bundle.dir}`);
  const guest = await startGuest(bundle.dir, {
    dirs,
    ...(keep ? { keep } : {}),
    onStarted: (vm) => log(`qemu pid ${vm.pid}, ssh on 127.0.0.1:${vm.sshPort}, console ${vm.consoleLog}`),
  });
  log(`ready: ${guest.kernelRelease}, console → /init ${(guest.times.readyMs / 1000).toFixed(1)} s, SSH ${(guest.times.sshMs / 1000).toFixed(1)} s; console log ${guest.consoleLog}`);
  return guest;
}

export async function keepOrStop(guest: Guest, keep: boolean | undefined, dirs: LabDirs): Promise<void> {
  if (!keep) {
    await guest.stop();
    return;
  }
  const key = await labKey(dirs);
  console.error(`kept running (qemu pid ${guest.vm.pid}); connect with:`);
  console.error(`  ssh -i ${key.privatePath} -p ${guest.vm.sshPort} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1`);
  console.error(`stop it with: kill ${guest.vm.pid}`);
  guest.vm.detach();
  guest.sshSession.close();
}

export function registerGuestCommands(program: Command, getDirs: Dirs): void {
  program
    .command('boot')
    .description('boot a target and open a shell in it (exit or Ctrl-] to leave; the VM stops afterwards)')
    .argument('<target>')
    .option('--keep', 'leave the VM running and print its ssh command')
    .action(async (name: string, opts: { keep?: boolean }) => {
      const guest = await bootTarget(name, getDirs, (l) => console.error(l), opts.keep);
      try {
        const stream = await guest.sshSession.shell({ rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 });
        const stdin = process.stdin;
        if (stdin.isTTY) stdin.setRawMode(true);
        stdin.resume();
        await new Promise<void>((resolve) => {
          const finish = () => {
            stdin.off('data', onData);
            resolve();
          };
          const onData = (d: Buffer) => {
            // Ctrl-] leaves at once; the VM is stopped below whatever the channel does.
            if (d.includes(0x1d)) {
              stream.close();
              finish();
              return;
            }
            stream.write(d);
          };
          stdin.on('data', onData);
          stream.on('data', (d: Buffer) => process.stdout.write(d));
          stream.stderr.on('data', (d: Buffer) => process.stderr.write(d));
          stream.on('close', finish);
        });
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
      } finally {
        await keepOrStop(guest, opts.keep, getDirs().dirs);
      }
    });

  program
    .command('exec')
    .description('boot a target, run one command in it, print its output, stop; exits with the command\'s code')
    .argument('<target>')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--keep', 'leave the VM running afterwards and print its ssh command')
    .option('--timeout <seconds>', 'command timeout', '300')
    .action(async (name: string, argv: string[], opts: { keep?: boolean; timeout: string }) => {
      const guest = await bootTarget(name, getDirs, (l) => console.error(l), opts.keep);
      try {
        const r = await guest.exec(argv, { timeoutMs: Number(opts.timeout) * 1000 });
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        process.exitCode = r.exitCode ?? 255;
      } finally {
        await keepOrStop(guest, opts.keep, getDirs().dirs);
      }
    });
}
