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

/** Calls `report` every `ms` with the log's newest line, until the returned stop function is called. */
export function followLog(file: () => string | undefined, report: (line: string) => void, ms = 1000): () => void {
  let previous = '';
  const timer = setInterval(() => {
    const f = file();
    const line = f ? lastLine(f) : undefined;
    if (line && line !== previous) {
      previous = line;
      report(line.length > 100 ? `${line.slice(0, 97)}...` : line);
    }
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}
