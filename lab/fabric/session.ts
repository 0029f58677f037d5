import path from 'node:path';
import type { Guest } from '../guest/guest.ts';
import type { Vm } from '../qemu/vm.ts';
import type { LabDirs } from '../util/paths.ts';
import { buildFabric, type Fabric, type FabricGuest, type FabricSpec } from './fabric.ts';

/**
 * Where a session's guest is:
 * - off: no guest (never booted, or stopped);
 * - booted: a guest that answers, no fabric;
 * - fabric: a guest with the session's fabric in place;
 * - broken: the guest's VM stopped on its own (the next use stops what is left and boots afresh).
 * A guest the lab stops trusting (a failed cleanup, a repeated ERROR, a fabric that failed) is retired:
 * stopped at once, so the session is off.
 */
export type SessionState = 'off' | 'booted' | 'fabric' | 'broken';

/** What a session needs of its guest: whether its VM still runs, and stop. */
export interface SessionGuest {
  readonly vm: Pick<Vm, 'running'>;
  stop(): Promise<void>;
}

/** How a session boots a guest (the lab: startGuest; tests give their own). */
export type StartGuest<G> = (bundleDir: string, opts: { dirs: LabDirs; logDir: string }) => Promise<G>;

export interface SessionOptions<G> {
  bundleDir: string;
  dirs: LabDirs;
  /** Boot n's console log goes to <runDir>/boot-<n>/. */
  runDir: string;
  /** "booting (boot n)" goes here, unless a call names its own progress. */
  progress?: (line: string) => void;
  /** What the session boots with. */
  start: StartGuest<G>;
}

/**
 * One guest for a run of work (a target's matrix cells, a bisection's steps), with
 * its state named and changed in one place: the matrix, run, sweep, validate-patch
 * and bisect boot, keep and replace their guest through this.
 */
export class GuestSession<G extends SessionGuest = Guest> implements AsyncDisposable {
  private current: G | undefined;
  private fabricInPlace: Fabric | undefined;
  /** Boots so far (the next boot's log folder is boot-<boots + 1>). */
  boots = 0;

  constructor(private readonly o: SessionOptions<G>) {}

  get state(): SessionState {
    if (this.current && !this.current.vm.running) return 'broken';
    if (!this.current) return 'off';
    return this.fabricInPlace ? 'fabric' : 'booted';
  }

  /** The log folder of the latest boot (or of the next one, before any). */
  get bootDir(): string {
    return path.join(this.o.runDir, `boot-${Math.max(1, this.boots)}`);
  }

  /** A running guest: the current one, or (off, broken) a fresh boot. A boot that fails leaves the session off and throws. */
  async guest(progress = this.o.progress): Promise<G> {
    if (this.state === 'booted' || this.state === 'fabric') return this.current!;
    await this.stop();
    this.boots++;
    progress?.(`booting (boot ${this.boots})`);
    this.current = await this.o.start(this.o.bundleDir, { dirs: this.o.dirs, logDir: this.bootDir });
    return this.current;
  }

  /**
   * A running guest with `spec`'s fabric, built once per boot; a fabric that fails leaves no guest behind it.
   * Only on a session whose guests can carry a fabric (the `this` type says so).
   */
  async withFabric(this: GuestSession<G & FabricGuest>, spec: FabricSpec): Promise<{ guest: G & FabricGuest; fabric: Fabric }> {
    const guest = await this.guest();
    try {
      this.fabricInPlace ??= await buildFabric(guest, spec);
    } catch (err) {
      await this.retire('its fabric could not be built');
      throw err;
    }
    return { guest, fabric: this.fabricInPlace };
  }

  /** The lab no longer trusts this guest (a failed cleanup, a repeated ERROR): stopped now, said on progress, a fresh boot on next use. */
  async retire(reason: string): Promise<void> {
    if (!this.current) return;
    this.o.progress?.(`stopping the guest (boot ${this.boots}): ${reason}`);
    await this.stop();
  }

  /** Takes the fabric down (if the guest still runs) and stops the guest: off. Never throws. */
  async stop(): Promise<void> {
    const { current, fabricInPlace } = this;
    this.current = undefined;
    this.fabricInPlace = undefined;
    if (fabricInPlace && current?.vm.running) await fabricInPlace.teardown().catch(() => undefined);
    if (current) await current.stop().catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * The lab's one retry: run `attempt`; if `failed` says the lab could not judge it (an
 * ERROR), stop the guest and run it once more on a fresh boot. Returns both tries and
 * the reason for the second, so the caller records that it happened.
 */
export async function retryOnFreshBoot<T>(session: Pick<GuestSession, 'stop'>, attempt: (n: 1 | 2) => Promise<T>, failed: (t: T) => string | undefined, onRetry?: (why: string) => void): Promise<{ first: T; last: T; retried?: string }> {
  const first = await attempt(1);
  const why = failed(first);
  if (why === undefined) return { first, last: first };
  onRetry?.(why);
  await session.stop();
  return { first, last: await attempt(2), retried: why };
}
