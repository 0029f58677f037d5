import { EventEmitter } from 'node:events';
import fs from 'node:fs';

/** Lines kept in memory for readers that look back (a USB burst reads from its marker on). */
const KEEP_LINES = 200_000;

/**
 * The one follower of a VM's serial console log. QEMU writes the file (a plain
 * descriptor, so a kept VM loses nothing); this reads what was appended, once,
 * and hands every complete line to every reader: readiness, panic detection and
 * USB enumeration. A read error (the log removed under it) is kept, never thrown
 * from the timer.
 */
export class ConsoleStream extends EventEmitter {
  readonly lines: string[] = [];
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  /** The first failure to read the log (e.g. it was deleted), for error messages. */
  readError: string | undefined;

  constructor(
    readonly file: string,
    /** Where this VM's part of the log begins (earlier attempts wrote before it). */
    private offset: number = fs.statSync(file).size,
  ) {
    super();
  }

  /** Polls the file every `ms` (20 ms: readiness is seen promptly; an unchanged file is cheap to check). */
  start(ms = 20): this {
    this.timer ??= setInterval(() => this.poll(), ms);
    return this;
  }

  stop(): void {
    this.poll();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads what was appended since the last poll and emits its complete lines. */
  poll(): void {
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, 'r');
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      this.pending += buf.toString('utf8');
    } catch (err) {
      this.readError ??= `reading ${this.file}: ${(err as Error).message}`;
      return;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      this.lines.push(line);
      this.emit('line', line);
    }
    if (this.lines.length > KEEP_LINES) this.lines.splice(0, this.lines.length - KEEP_LINES);
  }

  /** This VM's console text so far. */
  text(): string {
    return this.lines.join('\n');
  }

  /** The console from the last line containing `marker` on ('' if it has not appeared). */
  textSince(marker: string): string {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const at = this.lines[i]!.indexOf(marker);
      if (at >= 0) return [this.lines[i]!.slice(at), ...this.lines.slice(i + 1)].join('\n');
    }
    return '';
  }
}
