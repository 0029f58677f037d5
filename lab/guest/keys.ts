import fs from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import { LabError } from '../util/errors.ts';
import { exists, writeFileAtomic } from '../util/fs.ts';
import type { LabDirs } from '../util/paths.ts';

export interface LabKey {
  privateKey: string;
  /** Base64 body of the ssh-ed25519 public key (what /init puts in authorized_keys). */
  publicBase64: string;
  privatePath: string;
}

/**
 * The lab's own SSH key, generated on first use and kept with the cache. Only
 * the private key is stored (atomically, so racing processes agree on one key);
 * the public half is always derived from it.
 */
export async function labKey(dirs: LabDirs): Promise<LabKey> {
  const privatePath = path.join(dirs.cache, 'keys', 'id_ed25519');
  if (!(await exists(privatePath))) {
    await fs.mkdir(path.dirname(privatePath), { recursive: true, mode: 0o700 });
    await writeFileAtomic(privatePath, ssh2.utils.generateKeyPairSync('ed25519', { comment: 'reprolab' }).private, 0o600);
  }
  const privateKey = await fs.readFile(privatePath, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    throw new LabError(`${privatePath}: not a usable SSH key (${parsed.message})`, { fix: `delete ${privatePath}; the lab makes a new one` });
  }
  return { privateKey, publicBase64: parsed.getPublicSSH().toString('base64'), privatePath };
}
