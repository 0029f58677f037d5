import path from 'node:path';
import { type BundleManifest } from '../model/manifest.ts';

export interface QemuLaunch {
  /** The bundle's directory; a repro pack passes '.' so every path is relative to the pack. */
  bundleDir: string;
  manifest: BundleManifest;
  /** Host port (on 127.0.0.1) forwarded to the guest's SSH server (none in a repro pack: it drives the serial console). */
  sshPort?: number;
  /** The QMP socket (none in a repro pack: it does no hotplug). */
  qmpSocket?: string;
  /** Base64 body of the lab's ssh-ed25519 public key, handed to /init on the command line. */
  sshKey?: string;
  /** Extra kernel command line (e.g. a broken init= for tests). */
  extraCmdline?: string[];
}

/** NIC models that are PCI devices: they look for an option ROM (iPXE) the guests never use. */
const PCI_NICS = new Set(['pcnet', 'e1000', 'rtl8139', 'ne2k_pci', 'virtio-net-pci']);

/** The qemu-system-* argument array for a bundle: never a shell string. */
export function qemuCommand(l: QemuLaunch): { binary: string; args: string[] } {
  const m = l.manifest;
  const img = (rel: string) => path.join(l.bundleDir, rel);
  const cmdline = [m.cmdline, 'panic=1', ...(l.sshKey ? [`reprolab.sshkey=${l.sshKey}`] : []), ...(l.extraCmdline ?? [])].join(' ');
  const args = [
    '-M', m.qemu.machine,
    '-cpu', m.qemu.cpu,
    '-m', String(m.qemu.memoryMiB),
    '-kernel', img(m.kernel.image),
    ...(m.kernel.dtb ? ['-dtb', img(m.kernel.dtb)] : []),
    ...(m.kernel.initramfs === 'external' ? ['-initrd', img('images/rootfs.cpio')] : []),
    '-append', cmdline,
    // The guest runs code the lab did not write (a user's probe, a product, a pack's kernel at a vendor):
    // restrict=on cuts it off from the host (10.0.2.2) and the outside; the SSH forward, bound to loopback, still works.
    '-nic', `user,model=${m.qemu.nic},restrict=on${l.sshPort ? `,hostfwd=tcp:127.0.0.1:${l.sshPort}-:22` : ''}`,
    ...(PCI_NICS.has(m.qemu.nic) ? ['-global', `${m.qemu.nic}.romfile=`] : []),
    '-device', `${m.qemu.usb},id=usbhc`,
    // Entropy for the guest's SSH server, so it answers at once.
    '-device', 'virtio-rng-pci',
    ...(l.qmpSocket ? ['-qmp', `unix:${l.qmpSocket},server=on,wait=off`] : []),
    '-audiodev', 'none,id=noaudio',
    '-vga', 'none',
    '-display', 'none',
    '-monitor', 'none',
    '-serial', 'stdio',
    '-no-reboot',
  ];
  return { binary: m.qemu.binary, args };
}
