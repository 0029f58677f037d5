import { createPrivateKey, createPublicKey } from 'node:crypto';

/**
 * An Ed25519 SSH host key in dropbear's own file format, derived from a seed
 * so that an image's host key is a pure function of its inputs and can be
 * pinned in the bundle manifest.
 */
export interface HostKey {
  /** Contents of /etc/dropbear/dropbear_ed25519_host_key. */
  dropbear: Buffer;
  /** "ssh-ed25519 AAAA…" as a known_hosts line would carry it. */
  publicLine: string;
}

function sshString(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

export function hostKeyFromSeed(seed: Buffer): HostKey {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  const pub = Buffer.from(jwk.x as string, 'base64url');
  const type = Buffer.from('ssh-ed25519');
  // dropbear: string "ssh-ed25519", string (32-byte private seed || 32-byte public key)
  const dropbear = Buffer.concat([sshString(type), sshString(Buffer.concat([seed, pub]))]);
  const wire = Buffer.concat([sshString(type), sshString(pub)]);
  return { dropbear, publicLine: `ssh-ed25519 ${wire.toString('base64')}` };
}
