import fs from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { labDirs, type LabDirs } from '../lab/util/paths.ts';
import type { BundleManifest } from '../lab/model/manifest.ts';
import type { VariantPlan } from '../lab/scenarios/types.ts';
import type { FabricReport } from '../lab/fabric/fabric.ts';
import type { UsbGuest, UsbQmp } from '../lab/fabric/usb-burst.ts';

/** A throwaway cache root for tests that must not touch the real one. */
export async function tempDirs(): Promise<{ root: string; dirs: LabDirs }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-test-'));
  return { root, dirs: labDirs({ cacheDir: root }, {}) };
}

/** A fake QMP peer speaking the protocol's framing: greeting, capabilities, commands, events. */
export async function fakeQemu(handle: (cmd: { execute: string; id: string; arguments?: unknown }, send: (o: object) => void) => void) {
  const { root } = await tempDirs();
  const sock = path.join(root, 'qmp.sock');
  const server = net.createServer((c) => {
    const send = (o: object) => c.write(`${JSON.stringify(o)}\n`);
    send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] } });
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string; id: string };
        buf = buf.slice(nl + 1);
        if (cmd.execute === 'qmp_capabilities') send({ return: {}, id: cmd.id });
        else handle(cmd, send);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, close: () => server.close() };
}


/** A complete, valid bundle manifest (as the lab's own writer would write it) for unit tests that need one. */
export function sampleManifest(target = 'fake-target'): BundleManifest {
  const sha = (c: string) => c.repeat(64);
  return {
    schema: 1,
    target,
    key: 'k1',
    arch: 'arm',
    qemu: { binary: 'qemu-system-arm', machine: 'versatilepb', cpu: 'arm926', memoryMiB: 256, nic: 'smc91c111', usb: 'pci-ohci,num-ports=15' },
    cmdline: 'console=ttyAMA0',
    recipeVersion: 1,
    toolchain: 'gcc 12',
    kernel: {
      line: '3.10',
      version: '3.10.108',
      release: '3.10.108',
      source: { package: 'linux-3.10.108', origin: 'archive', path: '/x/linux-3.10.108.tar.xz', sha256: sha('a') },
      patches: [],
      configSha256: sha('c'),
      image: 'images/zImage',
      initramfs: 'external',
      pageSizeKiB: 4,
    },
    libc: { kind: 'uclibc', variants: [{ variant: 'unpatched', libc: 'uClibc 0.9.33.2', patches: [], sysroot: '/s', cc: 'host/bin/cc', probes: ['ifaddrs-probe'] }] },
    userland: { packages: [] },
    rootfs: { image: 'images/rootfs.cpio', sha256: sha('b'), sizeBytes: 1, hostKey: 'ssh-ed25519 AAAA' },
  };
}

/** A uClibc image's two libc variants as the lab plans them, each with its dynamically linked probes. */
export const LIBC_VARIANTS: VariantPlan[] = (['unpatched', 'patched'] as const).map((role) => ({
  variant: role,
  role,
  probeDir: `/opt/reprolab/probes/${role}`,
  describe: `${role} uClibc`,
  shared: { probeDir: `/opt/reprolab/probes/${role}/shared`, libDir: `/opt/reprolab/libc/${role}/lib`, imagePrograms: true },
}));

/** QMP for a fake guest whose test never reaches it: any use fails, saying so. */
export const unusedQmp: UsbQmp = {
  events: [],
  execute: () => Promise.reject(new Error('this fake guest has no QMP')),
  waitForEvent: () => Promise.reject(new Error('this fake guest has no QMP')),
};

/** The console of a fake guest whose test never reads it: any read fails, saying so. */
export const unusedConsole: UsbGuest['vm']['console'] = {
  textSince: () => {
    throw new Error('this fake guest has no console');
  },
};

/** The fabric report of a guest where nothing was built and no truth was read (for judges that do not look at it). */
export function emptyFabricReport(): FabricReport {
  return { net: { links: [], addrs: [], sysfs: [], mismatch: [], firstLinkChunkBytes: 0, linkChunks: 0, counts: { links: 0, inet: 0, inet6: 0 } } };
}
