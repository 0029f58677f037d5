import fs from 'node:fs';

/** The last non-empty line of a file, reading only its end (logs grow to megabytes). */
export function lastLine(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 4096);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean).pop();
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Calls `report` every `ms` with the newest line of whichever named log changed
 * last (steps run side by side: a kernel beside the libc chain, a userland beside
 * a libc variant), until the returned stop function is called.
 */
export function followLogs(logs: () => Iterable<[name: string, file: string]>, report: (name: string, line: string) => void, ms = 1000): () => void {
  const previous = new Map<string, string>();
  const timer = setInterval(() => {
    let newest: { name: string; line: string; mtime: number } | undefined;
    for (const [name, file] of logs()) {
      const line = lastLine(file);
      if (!line || line === previous.get(file)) continue;
      previous.set(file, line);
      const mtime = mtimeOf(file);
      if (!newest || mtime > newest.mtime) newest = { name, line, mtime };
    }
    if (newest) report(newest.name, newest.line.length > 100 ? `${newest.line.slice(0, 97)}...` : newest.line);
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

function mtimeOf(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
