import { createHash } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LabError, UsageError } from '../util/errors.ts';
import { syncPath, tempSibling } from '../util/fs.ts';
import { onAbnormalExit } from '../util/lifetime.ts';
import type { ArchiveSource } from '../catalog/source-spec.ts';
import { timeout } from '../util/timeouts.ts';

/** How a download behaves; tests shorten the waits, nothing else changes. */
export interface DownloadTuning {
  /** Give up on a response that sends no byte for this long (a stalled read, not a cap on the whole file). */
  stallMs: number;
  /** Tries per URL for transient failures (network, 5xx, stall, short body). */
  tries: number;
  /** Wait before try n+1 is backoffMs * 2^(n-1). */
  backoffMs: number;
}

export const DEFAULT_TUNING: DownloadTuning = { get stallMs() { return timeout('downloadStall'); }, tries: 3, backoffMs: 2_000 };

export interface DownloadProgress {
  archive: string;
  url: string;
  bytes: number;
  total?: number;
  startedAt: number;
  done?: boolean;
}

export interface DownloadRequest {
  /** Mirror base URLs, tried in order before the upstream URL (Buildroot's BR2_PRIMARY_SITE model). */
  mirrors: string[];
  tuning?: Partial<DownloadTuning>;
  progress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** One failed try, for the report when every URL failed. */
interface Attempt {
  url: string;
  cause: string;
  /** Which try of the URL (absent for a failure that is not retried). */
  try?: number;
}

/** "URL: cause (tries 1-3 of 3)": the same cause on consecutive tries of a URL is said once. */
function summarizeAttempts(attempts: Attempt[], tries: number): string {
  const out: { url: string; cause: string; tries: number[] }[] = [];
  for (const a of attempts) {
    const last = out.at(-1);
    if (last && last.url === a.url && last.cause === a.cause && a.try !== undefined) last.tries.push(a.try);
    else out.push({ url: a.url, cause: a.cause, tries: a.try !== undefined ? [a.try] : [] });
  }
  const which = (t: number[]) => (!t.length ? '' : t.length === 1 ? ` (try ${t[0]}/${tries})` : ` (tries ${t[0]}-${t.at(-1)} of ${tries})`);
  return out.map((o) => `${o.url}: ${o.cause}${which(o.tries)}`).join('; ');
}

/** A failure that moving on to the next URL may cure, but trying this one again will not (404, a wrong file). */
class Permanent extends Error {}

/** The URLs for an archive: each mirror's <base>/<archive>, then upstream. */
export function candidateUrls(spec: ArchiveSource, mirrors: string[]): string[] {
  const fromMirrors = mirrors.map((m) => `${m.replace(/\/+$/, '')}/${spec.archive}`);
  return [...new Set([...fromMirrors, spec.url])];
}

/**
 * Fetches a pinned archive into `file`: mirrors first, then upstream; transient
 * failures retried with backoff; the digest checked before the file enters the
 * cache (a temporary sibling is renamed only when it matches, and removed
 * otherwise). Throws a LabError naming every URL tried and why it failed.
 */
export async function downloadArchive(spec: ArchiveSource, file: string, req: DownloadRequest): Promise<{ url: string; bytes: number }> {
  const tuning = { ...DEFAULT_TUNING, ...req.tuning };
  await fs.mkdir(path.dirname(file), { recursive: true });
  const attempts: Attempt[] = [];
  for (const url of candidateUrls(spec, req.mirrors)) {
    for (let n = 1; n <= tuning.tries; n++) {
      if (req.signal?.aborted) throw new LabError(`download of ${spec.archive} cancelled`);
      const tmp = tempSibling(file);
      // Ctrl-C mid-download: the partial file goes too (the finally below never runs after process.exit).
      const forget = onAbnormalExit(() => fsSync.rmSync(tmp, { force: true }));
      try {
        const bytes = await fetchTo(spec, url, tmp, tuning, req);
        await fs.rename(tmp, file);
        await syncPath(path.dirname(file));
        return { url, bytes };
      } catch (err) {
        const cause = err instanceof Error ? err.message : String(err);
        attempts.push({ url, cause, ...(err instanceof Permanent ? {} : { try: n }) });
        if (err instanceof Permanent) break;
        if (n < tuning.tries) await sleep(tuning.backoffMs * 2 ** (n - 1), req.signal);
      } finally {
        await fs.rm(tmp, { force: true });
        forget();
      }
    }
  }
  throw new LabError(`could not download ${spec.archive}: ${summarizeAttempts(attempts, tuning.tries)}`, {
    fix: `put ${spec.archive} (sha256 ${spec.sha256}) in the download cache by hand, add a mirror that has it (--mirror URL or REPROLAB_MIRRORS), or use an override directory`,
  });
}

async function fetchTo(spec: ArchiveSource, url: string, tmp: string, tuning: DownloadTuning, req: DownloadRequest): Promise<number> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(new Error('cancelled'));
  req.signal?.addEventListener('abort', onAbort, { once: true });
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  // The watchdog is re-armed by every chunk: a slow but moving download of 70 MB is fine, a silent one is not.
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      ctl.abort(new Error('stalled'));
    }, tuning.stallMs);
  };
  const out = await fs.open(tmp, 'w');
  try {
    arm();
    const res = await fetch(url, { signal: ctl.signal });
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined); // free the connection
      if (res.status === 404 || res.status === 410) throw new Permanent(`HTTP ${res.status} (not on this server)`);
      throw new Error(`HTTP ${res.status} ${res.statusText}`);
    }
    const totalHeader = Number(res.headers.get('content-length'));
    const total = Number.isFinite(totalHeader) && totalHeader > 0 ? totalHeader : undefined;
    const hash = createHash('sha256');
    const startedAt = Date.now();
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      arm();
      hash.update(chunk);
      await out.write(chunk);
      bytes += chunk.length;
      req.progress?.({ archive: spec.archive, url, bytes, ...(total ? { total } : {}), startedAt });
    }
    if (total !== undefined && bytes !== total) throw new Error(`the body ended after ${bytes} of ${total} bytes`);
    const digest = hash.digest('hex');
    if (digest !== spec.sha256) throw new Permanent(`sha256 ${digest} does not match the pinned ${spec.sha256} (${bytes} bytes)`);
    await out.sync(); // the cache trusts a file by its name: the data is on disk before the rename gives it that name
    req.progress?.({ archive: spec.archive, url, bytes, ...(total ? { total } : {}), startedAt, done: true });
    return bytes;
  } catch (err) {
    if (stalled) throw new Error(`no data for ${tuning.stallMs < 1000 ? `${tuning.stallMs} ms` : `${Math.round(tuning.stallMs / 1000)} s`} (stalled)`);
    if (err instanceof Error && !(err instanceof Permanent) && err.cause instanceof Error) throw new Error(`${err.message}: ${err.cause.message}`);
    throw err;
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    await out.close();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Progress for people: on a terminal one line rewritten in place (bytes, rate),
 * elsewhere (CI) one line when a download finishes.
 */
/** "linux-3.10.108.tar.xz: 12.3 MB of 73.5 MB at 3.1 MB/s from URL" */
export function describeProgress(p: DownloadProgress): string {
  const secs = Math.max(0.001, (Date.now() - p.startedAt) / 1000);
  return `${p.archive}: ${mb(p.bytes)}${p.total ? ` of ${mb(p.total)}` : ''} at ${mb(p.bytes / secs)}/s from ${p.url}${p.done ? ` in ${secs.toFixed(1)} s` : ''}`;
}

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (p: DownloadProgress) => void {
  let last = 0;
  return (p) => {
    const text = describeProgress(p);
    if (p.done) {
      stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}downloaded ${text}\n`);
    } else if (stream.isTTY && Date.now() - last > 250) {
      last = Date.now();
      stream.write(`\r\x1b[K${text}`);
    }
  };
}

/** Mirrors from the flag(s) and REPROLAB_MIRRORS (space- or comma-separated), in that order; a bad one is named with where it came from. */
export function mirrorList(flags: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.REPROLAB_MIRRORS ?? '').split(/[\s,]+/).filter(Boolean);
  const check = (m: string, from: string) => {
    if (!/^https?:\/\/[^/]/.test(m)) throw new UsageError(`${from} ${m}: expected an http:// or https:// URL`, { fix: 'e.g. --mirror http://mirror.example/reprolab or REPROLAB_MIRRORS="URL1 URL2"' });
  };
  for (const m of flags) check(m, '--mirror');
  for (const m of fromEnv) check(m, 'REPROLAB_MIRRORS');
  return [...flags, ...fromEnv];
}
