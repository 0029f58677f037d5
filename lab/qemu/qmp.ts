import { EventEmitter } from 'node:events';
import net from 'node:net';
import { LabError } from '../util/errors.ts';
import { abortReason, labSignal, sleep } from '../util/lifetime.ts';
import { timeout } from '../util/timeouts.ts';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  command: string;
}

/**
 * A small QMP client: greeting and capabilities negotiation, commands with
 * timeouts, and events delivered both to listeners and to waiters that can
 * start waiting before the action that triggers the event.
 */
export class QmpClient extends EventEmitter {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  /** Why the client closed the connection itself (a malformed message). */
  private protocolError: string | undefined;
  /** Every event received, for waiters that arrive late and for the evidence log. */
  readonly events: QmpEvent[] = [];

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
  }

  /**
   * Connects, reads the greeting and leaves capabilities negotiation mode.
   * `signal` ends the wait early (QEMU exited, the lab is stopping) with its reason.
   */
  static async connect(socketPath: string, timeoutMs = timeout('qmpConnect'), signal: AbortSignal = labSignal): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    let socket: net.Socket | undefined;
    let lastError: unknown;
    while (!socket && Date.now() < deadline) {
      if (signal.aborted) throw new LabError(`QMP: gave up connecting to ${socketPath}: ${abortReason(signal).message}`);
      socket = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.createConnection(socketPath);
        s.once('connect', () => resolve(s));
        s.once('error', (err) => {
          lastError = err;
          s.destroy();
          resolve(undefined);
        });
      });
      if (!socket) await sleep(50, signal).catch(() => undefined);
    }
    if (!socket) throw new LabError(`QMP: cannot connect to ${socketPath} within ${timeoutMs} ms: ${String(lastError)}`);
    const client = new QmpClient(socket);
    try {
      await client.greeting(Math.max(1000, deadline - Date.now()));
      await client.execute('qmp_capabilities');
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  private greetingWaiter: ((v: unknown) => void) | undefined;

  private greeting(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.off('close', onClose);
        reject(new LabError(why));
      };
      const onClose = () => fail(`QMP: connection closed before the greeting${this.protocolError ? ` (${this.protocolError})` : ''}`);
      const timer = setTimeout(() => fail('QMP: no greeting from QEMU'), timeoutMs);
      this.once('close', onClose);
      this.greetingWaiter = () => {
        clearTimeout(timer);
        this.off('close', onClose);
        resolve();
      };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Not QMP any more (a broken peer): fail every wait now rather than throw from the socket's handler.
        this.protocolError = `QMP sent a line that is not JSON: ${line.slice(0, 200)}`;
        this.close();
        return;
      }
      this.onMessage(msg);
    }
  }

  private onMessage(msg: Record<string, unknown>): void {
    if ('QMP' in msg) {
      this.greetingWaiter?.(msg);
      this.greetingWaiter = undefined;
      return;
    }
    if ('event' in msg) {
      const ev = msg as unknown as QmpEvent;
      this.events.push(ev);
      this.emit('event', ev);
      return;
    }
    const id = String(msg.id);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(new LabError(`QMP ${p.command} failed: ${e.class ?? 'Error'}: ${e.desc ?? 'unknown'}`));
    } else {
      p.resolve(msg.return);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new LabError(`QMP ${p.command}: ${this.protocolError ?? 'connection closed (QEMU exited?)'}`));
    }
    this.pending.clear();
    this.emit('close');
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = timeout('qmpCommand')): Promise<T> {
    if (this.closed) return Promise.reject(new LabError(`QMP ${command}: connection is closed`));
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LabError(`QMP ${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, command });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /**
   * Resolves with the first event named `name` that matches `predicate`,
   * counting events received since `since` (an index into `events`), so a
   * caller can note the index, trigger the action, and then wait.
   */
  waitForEvent(name: string, predicate: (ev: QmpEvent) => boolean = () => true, timeoutMs = timeout('qmpEvent'), since = this.events.length, signal: AbortSignal = labSignal): Promise<QmpEvent> {
    const earlier = this.events.slice(since).find((e) => e.event === name && predicate(e));
    if (earlier) return Promise.resolve(earlier);
    if (this.closed) return Promise.reject(new LabError(`QMP: connection is closed; no ${name} event will come`));
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onEvent = (ev: QmpEvent) => {
        if (ev.event === name && predicate(ev)) {
          cleanup();
          resolve(ev);
        }
      };
      const onClose = () => {
        cleanup();
        reject(new LabError(`QMP: connection closed while waiting for ${name}${this.protocolError ? ` (${this.protocolError})` : ''}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new LabError(`QMP: no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = () => {
        cleanup();
        reject(abortReason(signal));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
      };
      this.on('event', onEvent);
      this.on('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.socket.destroy();
    this.onClose();
  }
}
