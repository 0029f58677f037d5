import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelOptionsFit, unfitText } from '../../../lab/bundle/kernel-options.ts';
import { tempDirs } from '../../helpers.ts';

async function bundleWith(config?: string | { symlinkTo: string }): Promise<string> {
  const { root } = await tempDirs();
  await fs.mkdir(path.join(root, 'images'));
  const file = path.join(root, 'images', 'kernel.config');
  if (typeof config === 'string') await fs.writeFile(file, config);
  else if (config) await fs.symlink(config.symlinkTo, file);
  return root;
}

const NEEDS = ['CONFIG_FAILSLAB', 'CONFIG_FAULT_INJECTION_DEBUG_FS'];

describe("whether an image's kernel sets a scenario's options", () => {
  it('yes when every option is =y; no, naming each one that is unset, a module or absent', async () => {
    expect(await kernelOptionsFit(await bundleWith('CONFIG_FAILSLAB=y\nCONFIG_FAULT_INJECTION_DEBUG_FS=y\n'), NEEDS)).toEqual({ fits: 'yes' });
    const dir = await bundleWith('# CONFIG_FAILSLAB is not set\nCONFIG_FAULT_INJECTION_DEBUG_FS=m\n');
    const fit = await kernelOptionsFit(dir, NEEDS);
    expect(fit).toEqual({ fits: 'no', unset: NEEDS, config: path.join(dir, 'images', 'kernel.config') });
    expect(await kernelOptionsFit(await bundleWith('CONFIG_FAULT_INJECTION_DEBUG_FS=y\n'), NEEDS)).toMatchObject({ fits: 'no', unset: ['CONFIG_FAILSLAB'] });
    // A later line wins, as in Kconfig; a line that only mentions the name sets nothing.
    expect(await kernelOptionsFit(await bundleWith('CONFIG_FAILSLAB=y\n# CONFIG_FAILSLAB is not set\n# CONFIG_FAULT_INJECTION_DEBUG_FS=y\n'), NEEDS)).toMatchObject({ fits: 'no', unset: NEEDS });
  });

  it('nothing needed fits any image; no readable config (absent, a symlink, too large) cannot tell', async () => {
    expect(await kernelOptionsFit('/nonexistent', [])).toEqual({ fits: 'yes' });
    expect(await kernelOptionsFit(await bundleWith(), NEEDS)).toMatchObject({ fits: 'unknown', why: expect.stringMatching(/^the image has no kernel config \(.*images\/kernel\.config\)$/) });
    expect(await kernelOptionsFit(await bundleWith({ symlinkTo: '/etc/passwd' }), NEEDS)).toMatchObject({ fits: 'unknown' });
    expect(await kernelOptionsFit(await bundleWith('#'.repeat(4 * 1024 * 1024 + 1)), NEEDS)).toMatchObject({ fits: 'unknown', why: expect.stringMatching(/is 4194305 bytes, more than a kernel config/) });
  });

  it('says what the scenario needs and what the kernel lacks in one line', () => {
    expect(unfitText('dump-hang-enobufs', 'product-x', NEEDS, { unset: ['CONFIG_FAILSLAB'], config: '/b/images/kernel.config' })).toBe(
      'dump-hang-enobufs needs CONFIG_FAILSLAB=y, CONFIG_FAULT_INJECTION_DEBUG_FS=y in the kernel; the kernel of product-x does not set CONFIG_FAILSLAB (/b/images/kernel.config)',
    );
  });
});
