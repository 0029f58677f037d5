import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { type BundleManifest } from '../model/manifest.ts';
import { LabError } from '../util/errors.ts';
import { anySignal, labSignal, onAbnormalExit, sleep } from '../util/lifetime.ts';
import { tailOf } from '../util/process.ts';
import { qemuCommand } from './command.ts';
import { classifyConsoleLine, type ConsoleSignal } from './console.ts';
import { ConsoleStream } from './console-stream.ts';
import { freeLoopbackPort } from './ports.ts';
import { QmpClient } from './qmp.ts';
import { timeout } from '../util/timeouts.ts';

export interface VmOptions {
  /** Where the serial console is written (kept after the VM stops). */
  consoleLog: string;
  sshKey: string;
  readyTimeoutMs?: number;
  extraCmdline?: string[];
  /** Leave QEMU running after the lab exits (reprolab --keep): no parent-death signal. */
  keep?: boolean;
}

/** A running QEMU: its pid, ports, QMP connection and console. */
export class Vm {
  private signal: ConsoleSignal | undefined;
  private readonly waiters = new Set<() => void>();
  private exitInfo: string | undefined;
  private forgetCleanup: () => void;
  private readonly exitController = new AbortController();
  /** Aborted when QEMU exits: waits on this VM end then instead of at their timeouts. */
  readonly exitSignal: AbortSignal = this.exitController.signal;
  /** Connected once QEMU has created its QMP socket (before start() returns). */
  qmp!: QmpClient;

  private constructor(
    readonly pid: number,
    readonly sshPort: number,
    readonly consoleLog: string,
    readonly command: { binary: string; args: string[] },
    private readonly child: ResultPromise,
    private readonly runDir: string,
    /** The console as lines: readiness, panic detection and USB enumeration all read this one stream. */
    readonly console: ConsoleStream,
  ) {
    // Ctrl-C, SIGTERM or a crash of the lab: this VM must not outlive it.
    this.forgetCleanup = onAbnormalExit(() => this.killNow());
  }

  static async start(bundleDir: string, manifest: BundleManifest, opts: VmOptions): Promise<Vm> {
    await fsp.mkdir(path.dirname(opts.consoleLog), { recursive: true });
    await fsp.appendFile(opts.consoleLog, '');
    // Two VMs can pick the same free port; QEMU then fails to forward and exits: retry on a new port.
    for (let attempt = 1; ; attempt++) {
      // Each attempt has its own directory: a failed attempt's stop() removes its own.
      const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'reprolab-vm-'));
      const sshPort = await freeLoopbackPort();
      const qmpSocket = path.join(runDir, 'qmp.sock');
      const command = qemuCommand({ bundleDir, manifest, sshPort, qmpSocket, sshKey: opts.sshKey, ...(opts.extraCmdline ? { extraCmdline: opts.extraCmdline } : {}) });
      fs.appendFileSync(opts.consoleLog, `# ${[command.binary, ...command.args].join(' ')}\n`);
      const console = new ConsoleStream(opts.consoleLog);
      // setpriv --pdeathsig: the kernel kills QEMU even if the lab itself is SIGKILLed.
      // The console goes straight to the log file, so a kept VM has no pipe to lose.
      const argv = opts.keep ? [command.binary, ...command.args] : ['setpriv', '--pdeathsig', 'KILL', '--', command.binary, ...command.args];
      // A plain file descriptor: the kernel, not a Node stream, carries the console.
      const consoleFile = fs.createWriteStream('', { fd: fs.openSync(opts.consoleLog, 'a') });
      const child = execa(argv[0]!, argv.slice(1), {
        stdin: 'ignore',
        stdout: consoleFile,
        stderr: consoleFile,
        reject: false,
        cleanup: !opts.keep,
        detached: !!opts.keep,
      });
      consoleFile.destroy();
      const pid = child.pid;
      if (pid === undefined) throw new LabError(`${command.binary} did not start`, { fix: 'reprolab doctor' });
      const vm = new Vm(pid, sshPort, opts.consoleLog, command, child, runDir, console);
      vm.watch();
      try {
        // QEMU that exits at start never answers on QMP: stop waiting when it does.
        vm.qmp = await QmpClient.connect(qmpSocket, timeout('qmpConnect'), anySignal(labSignal, vm.exitSignal));
        return vm;
      } catch (err) {
        // QEMU that dies at start closes the QMP socket first: report its own words.
        await vm.exitWithin(timeout('vmStartExit'));
        const died = !vm.running;
        await vm.stop();
        // Only this attempt's console lines: an earlier attempt's failure must not trigger a retry.
        if (died && /Could not set up host forwarding rule/.test(console.text()) && attempt < 5) continue;
        if (died) {
          throw new LabError(`${command.binary} exited at start (${vm.exitInfo}):\n${tailOf(opts.consoleLog, 8)}`, { logPath: opts.consoleLog, cause: err });
        }
        throw err;
      }
    }
  }

  /** Reads the console line by line (one follower for every reader) and notes QEMU's exit. */
  private watch(): void {
    this.console.on('line', (line: string) => this.onLine(line));
    this.console.start();
    void this.child.then((r) => {
      this.console.stop();
      this.exitInfo = r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
      this.exitController.abort(new LabError(`QEMU exited (${this.exitInfo})`));
      this.notify();
    });
  }

  private onLine(line: string): void {
    if (this.signal) return;
    const s = classifyConsoleLine(line);
    if (s) {
      this.signal = s;
      this.notify();
    }
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  private exited(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.exitInfo !== undefined) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits up to `ms` for QEMU to exit (at once if it has). */
  private exitWithin(ms: number): Promise<void> {
    return sleep(ms, this.exitSignal).catch(() => undefined);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Resolves on the /init readiness line; rejects on a panic, an oops, QEMU exiting or the timeout, with the console tail. */
  waitReady(timeoutMs: number): Promise<{ kernel: string; target: string }> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        cleanup();
        // Give the console a moment to flush the lines around the failure.
        setTimeout(() => reject(new LabError(`guest did not become ready: ${why}\n${tailOf(this.consoleLog, 30)}`, { logPath: this.consoleLog })), 300);
      };
      const check = () => {
        if (this.signal?.kind === 'ready') {
          cleanup();
          resolve({ kernel: this.signal.kernel, target: this.signal.target });
        } else if (this.signal?.kind === 'fatal') fail(this.signal.reason);
        else if (this.exitInfo !== undefined) fail(`QEMU exited (${this.exitInfo}) before the readiness marker`);
      };
      const timer = setTimeout(() => fail(`no REPROLAB-READY line within ${(timeoutMs / 1000).toFixed(0)} s`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** For --keep: this VM outlives the lab on purpose (no kill on exit, no parent-death signal). */
  detach(): void {
    this.forgetCleanup();
    this.console.stop();
    this.child.unref();
    this.qmp?.close();
  }

  private killNow(): void {
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }

  /** Asks QEMU to quit over QMP, then SIGTERM, then SIGKILL; resolves when the process is gone. */
  async stop(): Promise<void> {
    if (this.running && this.qmp) {
      await this.qmp.execute('quit', undefined, timeout('vmStopStep')).catch(() => undefined);
      await this.exitWithin(timeout('vmStopStep'));
    }
    if (this.running) {
      this.child.kill('SIGTERM');
      await this.exitWithin(timeout('vmStopStep'));
    }
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.exited();
    }
    this.qmp?.close();
    this.forgetCleanup();
    await fsp.rm(this.runDir, { recursive: true, force: true });
  }

  /** `await using vm = await Vm.start(…)`: stopped when the scope ends, however it ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
