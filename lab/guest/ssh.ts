import fs from 'node:fs/promises';
import ssh2 from 'ssh2';
import { LabError } from '../util/errors.ts';
import { abortReason, labSignal } from '../util/lifetime.ts';
import { timeout } from '../util/timeouts.ts';
import { shellQuote } from '../util/shell-quote.ts';


/** An argument array as one remote command line; the only way commands reach the guest. */
export function commandLine(argv: string[]): string {
  if (argv.length === 0) throw new LabError('empty command');
  return argv.map(shellQuote).join(' ');
}

export interface ExecResult {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** Raw stdout, for binary downloads. */
  stdoutBuffer: Buffer;
}

export interface ConnectOptions {
  port: number;
  privateKey: string;
  /** "ssh-ed25519 AAAA…": the image's pinned host key; anything else is refused. */
  hostKey: string;
  timeoutMs: number;
}

const PID_MARK = 'REPROLAB-PID ';

/**
 * What one guest command may print (stdout and stderr together) before it is stopped. The lab's
 * largest legitimate outputs (truth reads of a few hundred sockets, a probe's result line, an
 * evidence file) are well under 1 MiB; a runaway probe must not take the lab's memory with it.
 */
export const GUEST_OUTPUT_CAP = 16 * 1024 * 1024;
/** How much of the beginning and the end of a stopped command's output its error shows. */
const EXCERPT = 2000;

/** The head and tail of a runaway command's output, and how much lay between them. */
function excerpt(name: string, chunks: Buffer[]): string {
  const all = Buffer.concat(chunks);
  if (all.length <= 2 * EXCERPT) return `${name}: ${all.toString('utf8')}`;
  return `${name} begins: ${all.subarray(0, EXCERPT).toString('utf8')}\n… ${all.length - 2 * EXCERPT} bytes dropped …\n${name} ends: ${all.subarray(-EXCERPT).toString('utf8')}`;
}
const TAG_VAR = 'REPROLAB_CMD';

/** The shell's pid line that every command prints first on stderr, and the rest. */
function stripPidMark(stderr: string): { pid?: number; text: string } {
  const m = /^REPROLAB-PID (\d+)\n/.exec(stderr);
  return m ? { pid: Number(m[1]), text: stderr.slice(m[0].length) } : { text: stderr };
}

export class SshSession {
  /** The connection's last error (e.g. the VM went away); exec reports it. */
  private lastError: Error | undefined;
  private commands = 0;

  private constructor(private readonly client: ssh2.Client) {
    // ssh2 emits 'error' more than once (handshake loss, then close); an
    // unheard one would crash the lab, so every client always has a listener.
    client.on('error', (err: Error) => {
      this.lastError = err;
    });
  }

  /** Connects to 127.0.0.1:port, retrying until the timeout (the server may still be starting). */
  static async connect(opts: ConnectOptions): Promise<SshSession> {
    const pinned = Buffer.from(opts.hostKey.trim().split(/\s+/)[1] ?? '', 'base64');
    const deadline = Date.now() + opts.timeoutMs;
    let last: Error | undefined;
    while (Date.now() < deadline) {
      let hostKeyMismatch = false;
      const client = new ssh2.Client();
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('ready', () => resolve());
          client.on('error', reject); // later errors after settling are ignored by the promise
          client.connect({
            host: '127.0.0.1',
            port: opts.port,
            username: 'root',
            privateKey: opts.privateKey,
            readyTimeout: Math.max(2000, Math.min(20_000, deadline - Date.now())),
            hostVerifier: (key: Buffer) => {
              hostKeyMismatch = !key.equals(pinned);
              return !hostKeyMismatch;
            },
          });
        });
        return new SshSession(client);
      } catch (err) {
        client.end();
        if (hostKeyMismatch) {
          throw new LabError(`guest SSH host key does not match the image's pinned key (${opts.hostKey.slice(0, 40)}…)`, {
            fix: 'the port may belong to another VM, or the bundle was rebuilt: start the guest from the same bundle',
          });
        }
        last = err as Error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new LabError(`no SSH answer on 127.0.0.1:${opts.port} within ${(opts.timeoutMs / 1000).toFixed(0)} s: ${last?.message ?? ''}`);
  }

  /**
   * Runs argv in the guest. A timeout (or the signal) is an error carrying what the command printed so
   * far, and the command is killed in the guest — with everything it started — before the error is
   * reported: closing the channel alone leaves it running (dropbear gives a command without a pty no hangup).
   */
  exec(argv: string[], opts: { timeoutMs?: number; stdin?: Buffer; signal?: AbortSignal; maxOutputBytes?: number } = {}): Promise<ExecResult> {
    const line = commandLine(argv);
    const cap = opts.maxOutputBytes ?? GUEST_OUTPUT_CAP;
    const timeoutMs = opts.timeoutMs ?? timeout('guestCommand');
    const signal = opts.signal ?? labSignal;
    // Ends with '.', so the tag of command 5 is not a prefix of command 50's.
    const tag = `${process.pid}-${++this.commands}.`;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      // The shell says its pid first; children inherit the tag, so the whole tree can be found.
      this.client.exec(`echo "${PID_MARK}$$" >&2; export ${TAG_VAR}=${tag}; ${line}`, (err, stream) => {
        if (err) return reject(new LabError(`ssh exec ${line}: ${err.message}${this.lastError ? ` (connection: ${this.lastError.message})` : ''}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let printed = 0;
        let settled = false;
        /** The first of close, timeout and abort wins; the others find it settled. */
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          return true;
        };
        const giveUp = (why: string) => {
          if (!settle()) return;
          const stderr = stripPidMark(Buffer.concat(errOut).toString());
          const error = new LabError(`${why}: ${line}\nstdout so far: ${Buffer.concat(out).toString().slice(-2000)}\nstderr so far: ${stderr.text.slice(-2000)}`);
          stream.close();
          void this.killInGuest(stderr.pid, tag).finally(() => reject(error));
        };
        const timer = setTimeout(() => giveUp(`guest command timed out after ${timeoutMs} ms`), timeoutMs);
        const onAbort = () => giveUp(`guest command stopped (${abortReason(signal).message})`);
        signal.addEventListener('abort', onAbort, { once: true });
        // Past the cap nothing more is kept: the command is stopped, and its error shows head and tail.
        const collect = (into: Buffer[]) => (d: Buffer) => {
          if (settled) return;
          into.push(d);
          printed += d.length;
          if (printed > cap) giveUpOverCap();
        };
        const giveUpOverCap = () => {
          if (!settle()) return;
          const stderr = stripPidMark(Buffer.concat(errOut).toString('utf8'));
          const error = new LabError(`guest command printed more than ${cap} bytes and was stopped (output capped): ${line}\n${excerpt('stdout', out)}\n${excerpt('stderr', [Buffer.from(stderr.text)])}`);
          // The lab lets go of the flood at once, not when the promise settles.
          out.length = errOut.length = 0;
          stream.close();
          void this.killInGuest(stderr.pid, tag).finally(() => reject(error));
        };
        stream.on('data', collect(out));
        stream.stderr.on('data', collect(errOut));
        stream.on('close', (code: number | null, sig?: string) => {
          if (!settle()) return;
          const stdoutBuffer = Buffer.concat(out);
          resolve({ exitCode: code, ...(sig ? { signal: sig } : {}), stdout: stdoutBuffer.toString('utf8'), stderr: stripPidMark(Buffer.concat(errOut).toString('utf8')).text, stdoutBuffer });
        });
        if (opts.stdin) stream.end(opts.stdin);
        else stream.end();
      });
    });
  }

  /** Kills a command's shell and every process carrying its tag (best effort, bounded). */
  private killInGuest(pid: number | undefined, tag: string): Promise<void> {
    const script = `${pid ? `kill -KILL ${pid} 2>/dev/null; ` : ''}for e in /proc/[0-9]*/environ; do grep -q "${TAG_VAR}=${tag}" "$e" 2>/dev/null && p=\${e%/environ} && kill -KILL \${p#/proc/} 2>/dev/null; done; true`;
    return new Promise((resolve) => {
      const bound = setTimeout(resolve, timeout('guestRead'));
      const done = () => {
        clearTimeout(bound);
        resolve();
      };
      try {
        // ssh2 throws "Not connected" synchronously once the VM's socket is going away: nothing left to kill then.
        this.client.exec(script, (err, stream) => {
          if (err) return done();
          stream.on('close', done);
          stream.resume();
          stream.stderr.resume();
          stream.end();
        });
      } catch {
        done();
      }
    });
  }

  /** dropbear has no SFTP server: files travel through `cat` (the path is an argument, never pasted into a script). */
  async upload(localPath: string, remotePath: string, mode = 0o644): Promise<void> {
    const data = await fs.readFile(localPath);
    const r = await this.exec(['sh', '-c', 'cat > "$1" && chmod "$2" "$1"', 'sh', remotePath, mode.toString(8)], { stdin: data, timeoutMs: timeout('guestTransfer') });
    if (r.exitCode !== 0) throw new LabError(`upload to ${remotePath} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    const r = await this.exec(['cat', remotePath], { timeoutMs: timeout('guestTransfer') });
    if (r.exitCode !== 0) throw new LabError(`download of ${remotePath} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    await fs.writeFile(localPath, r.stdoutBuffer);
  }

  /** An interactive shell with a pty (for `reprolab boot`). */
  shell(term: { rows: number; cols: number }): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.shell({ term: process.env.TERM ?? 'vt100', rows: term.rows, cols: term.cols }, (err, stream) =>
        err && /pseudo-terminal|pty/i.test(err.message)
          ? reject(new LabError(`the guest refused an interactive shell: ${err.message}`, { fix: "the guest's kernel or SSH server cannot allocate a pty; run commands without one: ssh … root@127.0.0.1 CMD (boot --keep prints the ssh command)" }))
          : err
            ? reject(err)
            : resolve(stream),
      );
    });
  }

  close(): void {
    this.client.end();
  }
}
