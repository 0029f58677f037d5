import { writeFile } from 'node:fs/promises';
import { LabError } from '../util/errors.ts';
import { ending, runCommand } from '../util/process.ts';

/** A host requirement: a command that must exist, and the Debian package that provides it. */
export interface Requirement {
  what: string;
  check: () => Promise<boolean>;
  debianPackage: string;
}

async function hasCommand(cmd: string): Promise<boolean> {
  const r = await runCommand('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
  return r.exitCode === 0;
}

async function hasFile(file: string): Promise<boolean> {
  const r = await runCommand('test', ['-e', file]);
  return r.exitCode === 0;
}

/** apt's deb-src entry the lab adds: busybox and dropbear come from Debian's source packages. */
export const DEB_SRC_FILE = '/etc/apt/sources.list.d/reprolab-src.sources';
const DEB_SRC_ENTRY = [
  '# Added by reprolab doctor: source packages (apt-get source) for the uClibc images\' userland.',
  'Types: deb-src',
  'URIs: http://deb.debian.org/debian',
  'Suites: bookworm bookworm-updates',
  'Components: main',
  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
  '',
  // Security updates of busybox and dropbear are published here first.
  'Types: deb-src',
  'URIs: http://security.debian.org/debian-security',
  'Suites: bookworm-security',
  'Components: main',
  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
  '',
].join('\n');

/** Whether apt knows any deb-src line (ours or the machine's own). */
async function hasDebSrc(): Promise<boolean> {
  const r = await runCommand('sh', ['-c', 'grep -rqsE "^(deb-src|Types:.*deb-src)" /etc/apt/sources.list /etc/apt/sources.list.d/']);
  return r.exitCode === 0;
}

async function hasForeignArch(arch: string): Promise<boolean> {
  const r = await runCommand('dpkg', ['--print-foreign-architectures']);
  return r.stdout.split('\n').includes(arch);
}

const cmd = (command: string, debianPackage: string): Requirement => ({ what: command, check: () => hasCommand(command), debianPackage });

export const REQUIREMENTS: Requirement[] = [
  cmd('qemu-system-arm', 'qemu-system-arm'),
  cmd('qemu-system-mipsel', 'qemu-system-mips'),
  cmd('arm-linux-gnueabi-gcc', 'gcc-arm-linux-gnueabi'),
  cmd('mipsel-linux-gnu-gcc', 'gcc-mipsel-linux-gnu'),
  // Big-endian MIPS has no Debian userland: its images are built from source only.
  cmd('mips-linux-gnu-gcc', 'gcc-mips-linux-gnu'),
  cmd('qemu-system-mips', 'qemu-system-mips'),
  // Unpacks Debian source packages (busybox, dropbear for the uClibc images).
  cmd('dpkg-source', 'dpkg-dev'),
  { what: 'armel glibc for cross builds', check: () => hasFile('/usr/arm-linux-gnueabi/lib/libc.a'), debianPackage: 'libc6-dev-armel-cross' },
  { what: 'mipsel glibc for cross builds', check: () => hasFile('/usr/mipsel-linux-gnu/lib/libc.a'), debianPackage: 'libc6-dev-mipsel-cross' },
  { what: '/usr/src/linux-source-6.1.tar.xz', check: () => hasFile('/usr/src/linux-source-6.1.tar.xz'), debianPackage: 'linux-source-6.1' },
  cmd('make', 'make'),
  // The libc builds share compiled objects across variants and bisection steps (bundle/compiler-cache.ts).
  cmd('ccache', 'ccache'),
  cmd('gcc', 'gcc'),
  cmd('bc', 'bc'),
  cmd('flex', 'flex'),
  cmd('bison', 'bison'),
  cmd('cpio', 'cpio'),
  cmd('file', 'file'),
  cmd('xz', 'xz-utils'),
  cmd('patch', 'patch'),
  cmd('perl', 'perl'),
  cmd('rsync', 'rsync'),
  cmd('dpkg-deb', 'dpkg'),
  cmd('setpriv', 'util-linux'),
  cmd('strings', 'binutils'),
  { what: 'OpenSSL headers (kernel host tools)', check: () => hasFile('/usr/include/openssl/ssl.h'), debianPackage: 'libssl-dev' },
  { what: 'libelf headers (kernel host tools)', check: () => hasFile('/usr/include/libelf.h'), debianPackage: 'libelf-dev' },
];

/** Only the test suite needs these: it opens the HTML report in a real browser. */
export const TEST_REQUIREMENTS: Requirement[] = [
  cmd('chromium', 'chromium'),
  { what: 'a font for screenshots', check: () => hasFile('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'), debianPackage: 'fonts-dejavu-core' },
  // The KCIDB export is validated against KernelCI's schema as kcidb-io does it (tests/unit/report/kcidb-schema.test.ts).
  { what: 'python3 jsonschema (KCIDB schema check)', check: () => hasFile('/usr/lib/python3/dist-packages/jsonschema/__init__.py'), debianPackage: 'python3-jsonschema' },
];

/** `reprolab lava` needs the real dispatcher, and Jinja2 and YAML for its device dictionaries (images/lava/render-device.py). */
export const LAVA_REQUIREMENTS: Requirement[] = [
  cmd('lava-run', 'lava-dispatcher'),
  { what: 'python3 jinja2 (LAVA device dictionaries)', check: () => hasFile('/usr/lib/python3/dist-packages/jinja2/__init__.py'), debianPackage: 'python3-jinja2' },
  { what: 'python3 yaml (LAVA device dictionaries)', check: () => hasFile('/usr/lib/python3/dist-packages/yaml/__init__.py'), debianPackage: 'python3-yaml' },
  // A board's jobs deploy over TFTP, their ramdisk gets a u-boot header and the board's serial port is
  // reached through telnet (ser2net): the dispatcher checks all three when it validates a board job.
  { what: 'a TFTP server configured for the dispatcher (/etc/default/tftpd-hpa)', check: () => hasFile('/etc/default/tftpd-hpa'), debianPackage: 'tftpd-hpa' },
  cmd('mkimage', 'u-boot-tools'),
  cmd('telnet', 'telnet'),
];

/** Guest userland comes from Debian packages of these architectures. */
export const FOREIGN_ARCHES = ['armel', 'mipsel'];

export interface DoctorReport {
  missingPackages: string[];
  missingWhat: string[];
  missingArches: string[];
  /** No deb-src entry: `apt-get source` cannot fetch busybox and dropbear. */
  missingDebSrc: boolean;
}

/** tests: what the test suite needs too, which includes LAVA (its end-to-end tests run the real dispatcher). */
export async function diagnose(opts: { tests?: boolean; lava?: boolean } = {}): Promise<DoctorReport> {
  const wanted = [...REQUIREMENTS, ...(opts.tests ? TEST_REQUIREMENTS : []), ...(opts.tests || opts.lava ? LAVA_REQUIREMENTS : [])];
  const results = await Promise.all(wanted.map(async (r) => ({ r, ok: await r.check() })));
  const missing = results.filter((x) => !x.ok).map((x) => x.r);
  const arches = await Promise.all(FOREIGN_ARCHES.map(async (a) => ({ a, ok: await hasForeignArch(a) })));
  return {
    missingPackages: [...new Set(missing.map((m) => m.debianPackage))],
    missingWhat: missing.map((m) => m.what),
    missingArches: arches.filter((x) => !x.ok).map((x) => x.a),
    missingDebSrc: !(await hasDebSrc()),
  };
}

export function fixCommand(report: DoctorReport): string {
  const steps = [
    ...report.missingArches.map((a) => `dpkg --add-architecture ${a}`),
    ...(report.missingDebSrc ? [`add a deb-src entry (e.g. ${DEB_SRC_FILE})`] : []),
    'apt-get update',
    ...(report.missingPackages.length ? [`apt-get install -y --no-install-recommends ${report.missingPackages.join(' ')}`] : []),
  ];
  return steps.join(' && ');
}

export function healthy(report: DoctorReport): boolean {
  return report.missingPackages.length === 0 && report.missingArches.length === 0 && !report.missingDebSrc;
}

/** An install step on the user's terminal; its failure stops the install, naming the step. */
async function mustRun(file: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await runCommand(file, args, { inherit: true, env });
  if (r.exitCode !== 0) throw new LabError(`${file} ${args.join(' ')} failed (${ending(r)})`, { fix: 'see its output above' });
}

/** Installs what is missing (root only); apt-get update always runs first. */
export async function install(report: DoctorReport, log: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new LabError('reprolab doctor --install must run as root (it calls apt-get)', { fix: `sudo ${fixCommand(report)}` });
  }
  for (const arch of report.missingArches) {
    log(`dpkg --add-architecture ${arch}`);
    await mustRun('dpkg', ['--add-architecture', arch]);
  }
  if (report.missingDebSrc) {
    log(`writing ${DEB_SRC_FILE}`);
    await writeFile(DEB_SRC_FILE, DEB_SRC_ENTRY);
  }
  log('apt-get update');
  await mustRun('apt-get', ['update']);
  if (report.missingPackages.length) {
    log(`apt-get install ${report.missingPackages.join(' ')}`);
    await mustRun('apt-get', ['install', '-y', '--no-install-recommends', ...report.missingPackages], { DEBIAN_FRONTEND: 'noninteractive' });
  }
}
