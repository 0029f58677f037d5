import { UsageError } from './errors.ts';

/**
 * Every wait the lab bounds, in one table (milliseconds at multiplier 1, as
 * measured on 2 TCG cores). A loaded CI runner scales them all together with
 * --timeout-multiplier or REPROLAB_TIMEOUT_MULTIPLIER (as Buildroot's run-tests
 * has); the multiplier is recorded in every result. Measurement budgets (B5's
 * --budget-ms) and scenario delays are not timeouts and do not scale.
 */
export const TIMEOUTS = {
  /** Console → REPROLAB-READY: the slowest boot measured (malta16k 6.1) is about 40 s. */
  guestReady: 120_000,
  /** REPROLAB-READY → an SSH session (dropbear starts right after the marker). */
  sshConnect: 60_000,
  /** The first command on a new session. */
  sshFirstCommand: 30_000,
  /** A guest command without its own bound. */
  guestCommand: 60_000,
  /** Files through `cat` (dropbear has no SFTP). */
  guestTransfer: 120_000,
  /** One probe run (a dump of 500 sockets on malta 3.10 takes seconds). */
  probe: 120_000,
  /** Short reads of the guest's state (the burst marker, dmesg). */
  guestRead: 15_000,
  /** Reads of the uevent counter and of /proc/net outside a burst. */
  guestStateRead: 30_000,
  /** B5: the host's watchdog on a dump-hang probe, beyond its own time budget. */
  hangWatchdogSlack: 60_000,
  /** Creating or removing 64 interfaces in one script. */
  fabricScript: 120_000,
  /** New links until their IPv6 link-local addresses stop changing. */
  addressSettle: 15_000,
  /** QEMU start → QMP greeting. */
  qmpConnect: 15_000,
  /** One QMP command. */
  qmpCommand: 10_000,
  /** A QMP event (the default for waits without their own). */
  qmpEvent: 10_000,
  /** device_del → DEVICE_DELETED (the guest must let go of the device first). */
  usbDeviceDeleted: 30_000,
  /** A hold until the guest enumerated every device of a wave. */
  usbEnumeration: 60_000,
  /** No further device enumerated for this long: the hub stalled. */
  usbEnumerationStall: 20_000,
  /** After a burst: until the console and the uevent counter are still. */
  usbSettle: 30_000,
  /** Each rung of the stop ladder (QMP quit, SIGTERM). */
  vmStopStep: 3_000,
  /** After QMP did not come up: how long QEMU gets to exit and say why. */
  vmStartExit: 2_000,
  /** A LAVA job's boot action: QEMU start to the shell prompt under the dispatcher (malta 3.10 about 20 s). */
  lavaBoot: 240_000,
  /** A LAVA job's test action: one scenario's guest.sh, judged (getifaddrs on malta16k about 30 s). */
  lavaTest: 600_000,
  /** lava-run --validate of one job: it also asks every artifact URL whether it is there, retrying. */
  lavaValidate: 120_000,
  /** The local dispatcher beyond the job's own timeout: LAVA ends a job itself, this is the lab's backstop. */
  lavaRunSlack: 120_000,
  /** A download that delivers no data for this long is abandoned. */
  downloadStall: 60_000,
} as const;

export type TimeoutName = keyof typeof TIMEOUTS;

const ENV = 'REPROLAB_TIMEOUT_MULTIPLIER';
let multiplier: number | undefined;

/** Parses a multiplier; `source` names the flag or variable in the error. */
export function parseMultiplier(text: string, source: string): number {
  const m = Number(text);
  if (!Number.isFinite(m) || m <= 0 || m > 100) throw new UsageError(`${source} ${text}: expected a number above 0 and at most 100 (e.g. 2 on a loaded runner)`);
  return m;
}

export function setTimeoutMultiplier(m: number): void {
  multiplier = m;
}

/** The multiplier in force: the flag if given, else the environment, else 1. */
export function timeoutMultiplier(env: NodeJS.ProcessEnv = process.env): number {
  if (multiplier !== undefined) return multiplier;
  const text = env[ENV];
  multiplier = text === undefined || text === '' ? 1 : parseMultiplier(text, ENV);
  return multiplier;
}

/** A bound from the table, scaled. */
export function timeout(name: TimeoutName): number {
  return Math.round(TIMEOUTS[name] * timeoutMultiplier());
}
