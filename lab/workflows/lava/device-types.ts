import fs from 'node:fs/promises';
import path from 'node:path';
import { exists, writeFileAtomic } from '../../util/fs.ts';
import { LabError, UsageError } from '../../util/errors.ts';
import { capture, ending, runCommand } from '../../util/process.ts';
import { repoRoot } from '../../util/paths.ts';

/** Where lava-server's device-type templates sit inside its .deb. */
const TYPES_IN_DEB = path.join('usr', 'share', 'lava-server', 'device-types');

/** The dispatcher the lab drives: lava-run from Debian's lava-dispatcher, and its version. */
export async function dispatcherVersion(): Promise<string> {
  const r = await runCommand('dpkg-query', ['-W', '-f', '${Version}', 'lava-dispatcher']);
  const which = await runCommand('sh', ['-c', 'command -v lava-run']);
  if (r.exitCode !== 0 || !r.stdout.trim() || which.exitCode !== 0) {
    throw new UsageError('the LAVA dispatcher (lava-run) is not installed', { fix: 'install it: reprolab doctor --lava --install (Debian\'s lava-dispatcher)' });
  }
  return r.stdout.trim();
}

/**
 * The device-type templates of the dispatcher's own version (qemu.jinja2, base.jinja2, the boards).
 * They ship in Debian's lava-server, which need not be installed: its .deb is downloaded once and
 * unpacked into the cache, then renamed into place whole (an interrupted unpack leaves nothing used).
 */
export async function deviceTypesDir(cache: string, version: string, say: (l: string) => void = () => undefined): Promise<string> {
  const root = path.join(cache, 'lava', `lava-server-${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`);
  const types = path.join(root, TYPES_IN_DEB);
  if (await exists(path.join(types, 'qemu.jinja2'))) return types;
  const tmp = `${root}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    say(`downloading lava-server ${version} for its device-type templates`);
    const dl = await runCommand('apt-get', ['download', `lava-server=${version}`], { cwd: tmp });
    const deb = (await fs.readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (dl.exitCode !== 0 || !deb) {
      throw new LabError(`apt-get download lava-server=${version} failed (${ending(dl)}): ${dl.stderr.trim().split('\n').slice(-2).join(' | ')}`, { fix: 'run apt-get update (Debian\'s repositories must be reachable), then try again' });
    }
    await capture('dpkg-deb', ['-x', path.join(tmp, deb), path.join(tmp, 'x')]);
    if (!(await exists(path.join(tmp, 'x', TYPES_IN_DEB, 'qemu.jinja2')))) throw new LabError(`${deb} holds no ${TYPES_IN_DEB}/qemu.jinja2`);
    await fs.rm(root, { recursive: true, force: true });
    await fs.rename(path.join(tmp, 'x'), root);
    return types;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** A device type the templates know, or a usage error listing where to look. */
export async function checkDeviceType(types: string, name: string, where = '--device-type'): Promise<void> {
  if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(name) || !(await exists(path.join(types, `${name}.jinja2`)))) {
    throw new UsageError(`${where} ${name}: LAVA has no such device type`, { fix: `pick one of the templates in ${types} (e.g. qemu, beaglebone-black)` });
  }
}

/**
 * A device dictionary as a lab writes it for one device. qemu: the target's memory (the dictionary wins
 * over the job context). A board: placeholder connection and power commands, enough for the dispatcher
 * to validate a job against the type; a farm's own dictionary has the real ones.
 */
export function deviceDictionary(deviceType: string, memoryMiB: number): string {
  const lines = [`{% extends '${deviceType}.jinja2' %}`];
  if (deviceType === 'qemu') lines.push("{% set mac_addr = '52:54:00:12:34:59' %}", `{% set memory = ${memoryMiB} %}`);
  else lines.push("{% set connection_command = 'telnet localhost 7000' %}", "{% set hard_reset_command = 'true' %}", "{% set power_off_command = 'true' %}", "{% set power_on_command = 'true' %}");
  return `${lines.join('\n')}\n`;
}

/** Renders `dictionary` with the job's context as a server would (images/lava/render-device.py) into `out`. */
export async function renderDevice(o: { dictionary: string; types: string; job: string; out: string }): Promise<void> {
  const dir = path.dirname(o.out);
  const name = `${path.basename(o.out, '.yaml')}.jinja2`;
  await writeFileAtomic(path.join(dir, name), o.dictionary);
  const r = await runCommand('python3', [path.join(repoRoot, 'images', 'lava', 'render-device.py'), dir, o.types, name, o.job]);
  if (r.exitCode !== 0) throw new LabError(`rendering the LAVA device dictionary for ${o.job} failed (${ending(r)}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  await writeFileAtomic(o.out, r.stdout);
}
