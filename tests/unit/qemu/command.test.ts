import { describe, expect, it } from 'vitest';
import { qemuCommand } from '../../../lab/qemu/command.ts';
import { sampleManifest } from '../../helpers.ts';

describe('the guest has no network beyond the lab port forward', () => {
  it('the user-mode NIC is restricted, with and without the SSH forward (a pack has none)', () => {
    for (const sshPort of [2222, undefined]) {
      const { args } = qemuCommand({ bundleDir: '.', manifest: sampleManifest(), ...(sshPort ? { sshPort } : {}) });
      const nic = args[args.indexOf('-nic') + 1]!;
      expect(nic.split(',')).toContain('restrict=on');
      // Every forward binds the host side to loopback only.
      for (const fwd of nic.split(',').filter((o) => o.startsWith('hostfwd='))) expect(fwd).toMatch(/^hostfwd=tcp:127\.0\.0\.1:\d+-:22$/);
      expect(args.filter((a) => a === '-nic' || a === '-netdev' || a === '-net')).toEqual(['-nic']);
    }
  });
});
