import path from 'node:path';
import { readBundleManifest, type BundleManifest } from '../model/manifest.ts';
import { Vm } from '../qemu/vm.ts';
import type { QmpClient } from '../qemu/qmp.ts';
import { timeStamp, type LabDirs } from '../util/paths.ts';
import { labKey } from './keys.ts';
import { SshSession, type ExecResult } from './ssh.ts';
import { timeout } from '../util/timeouts.ts';
import { anySignal, labSignal } from '../util/lifetime.ts';

export interface GuestOptions {
  dirs: LabDirs;
  /** From QEMU start to the /init marker (TCG is slow; doubled under load). */
  readyTimeoutMs?: number;
  sshTimeoutMs?: number;
  extraCmdline?: string[];
  /** Leave the VM running after the lab exits (reprolab --keep). */
  keep?: boolean;
  /** Called as soon as QEMU runs (before readiness), e.g. to show its pid. */
  onStarted?: (vm: Vm) => void;
  /** Directory for the console log; default <logs>/guests/<target>-<time>/. */
  logDir?: string;
}

export interface BootTimes {
  /** QEMU start → REPROLAB-READY on the console. */
  readyMs: number;
  /** QEMU start → an SSH session that runs commands. */
  sshMs: number;
}

/** The one thing most guest work needs: run a command in the guest (narrow, so tests can implement it). */
export type GuestShell = Pick<Guest, 'exec'>;

/** A booted guest the lab drives: commands, files, QMP, console, stop. */
export class Guest {
  private constructor(
    readonly bundleDir: string,
    readonly manifest: BundleManifest,
    readonly vm: Vm,
    private readonly ssh: SshSession,
    readonly times: BootTimes,
    readonly kernelRelease: string,
  ) {}

  static async start(bundleDir: string, opts: GuestOptions): Promise<Guest> {
    const manifest = await readBundleManifest(bundleDir);
    const key = await labKey(opts.dirs);
    const stamp = timeStamp();
    const logDir = opts.logDir ?? path.join(opts.dirs.logs, 'guests', `${manifest.target}-${stamp}-${process.pid}`);
    const started = Date.now();
    const vm = await Vm.start(bundleDir, manifest, {
      consoleLog: path.join(logDir, 'console.log'),
      sshKey: key.publicBase64,
      ...(opts.extraCmdline ? { extraCmdline: opts.extraCmdline } : {}),
      ...(opts.keep ? { keep: true } : {}),
    });
    opts.onStarted?.(vm);
    try {
      const ready = await vm.waitReady(opts.readyTimeoutMs ?? timeout('guestReady'));
      const readyMs = Date.now() - started;
      const ssh = await SshSession.connect({ port: vm.sshPort, privateKey: key.privateKey, hostKey: manifest.rootfs.hostKey, timeoutMs: opts.sshTimeoutMs ?? timeout('sshConnect') });
      // The first command proves the session works end to end.
      await ssh.exec(['true'], { timeoutMs: timeout('sshFirstCommand') });
      return new Guest(bundleDir, manifest, vm, ssh, { readyMs, sshMs: Date.now() - started }, ready.kernel);
    } catch (err) {
      await vm.stop();
      throw err;
    }
  }

  get qmp(): QmpClient {
    return this.vm.qmp;
  }

  get consoleLog(): string {
    return this.vm.consoleLog;
  }

  /** A command on a VM that has exited ends at once (not at its timeout); so does one when the lab is stopping. */
  exec(argv: string[], opts: { timeoutMs?: number; stdin?: Buffer; signal?: AbortSignal } = {}): Promise<ExecResult> {
    return this.ssh.exec(argv, { ...opts, signal: anySignal(opts.signal ?? labSignal, this.vm.exitSignal) });
  }

  upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    return this.ssh.upload(localPath, remotePath, mode);
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.ssh.download(remotePath, localPath);
  }

  get sshSession(): SshSession {
    return this.ssh;
  }

  async stop(): Promise<void> {
    this.ssh.close();
    await this.vm.stop();
  }

  /** `await using guest = await startGuest(…)`: stopped when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The library entry point the scenarios use. */
export function startGuest(bundleDir: string, opts: GuestOptions): Promise<Guest> {
  return Guest.start(bundleDir, opts);
}
