import fs from 'node:fs/promises';
import path from 'node:path';
import { readConfig } from './config-fragment.ts';

/** An imported product's kernel.config is the product's file: read no more than this. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Where every bundle (built or imported) keeps its kernel's resolved config, when it has one. */
export const KERNEL_CONFIG_IMAGE = path.join('images', 'kernel.config');

/** Whether an image's kernel sets the options a scenario needs: yes, no (and which), or cannot tell. */
export type KernelOptionsFit = { fits: 'yes' } | { fits: 'no'; unset: string[]; config: string } | { fits: 'unknown'; why: string };

/** Which of `needs` the bundle's kernel config does not set to y; "unknown" when the image has no readable config. */
export async function kernelOptionsFit(bundleDir: string, needs: readonly string[]): Promise<KernelOptionsFit> {
  if (needs.length === 0) return { fits: 'yes' };
  const config = path.join(bundleDir, KERNEL_CONFIG_IMAGE);
  const st = await fs.lstat(config).catch(() => undefined);
  if (!st?.isFile()) return { fits: 'unknown', why: `the image has no kernel config (${config})` };
  if (st.size > MAX_CONFIG_BYTES) return { fits: 'unknown', why: `${config} is ${st.size} bytes, more than a kernel config (${MAX_CONFIG_BYTES})` };
  const values = readConfig(await fs.readFile(config, 'utf8'));
  const unset = needs.filter((n) => values.get(n) !== 'y');
  return unset.length ? { fits: 'no', unset, config } : { fits: 'yes' };
}

/** One line: what the scenario needs and what this kernel lacks, naming its config file. */
export function unfitText(scenario: string, target: string, needs: readonly string[], fit: { unset: string[]; config: string }): string {
  return `${scenario} needs ${needs.map((n) => `${n}=y`).join(', ')} in the kernel; the kernel of ${target} does not set ${fit.unset.join(', ')} (${fit.config})`;
}

/** Why this image's kernel cannot run a scenario needing `needs` (one line); undefined when it can, or cannot tell. */
export async function kernelLacks(bundleDir: string, scenario: string, target: string, needs: readonly string[]): Promise<string | undefined> {
  const fit = await kernelOptionsFit(bundleDir, needs);
  return fit.fits === 'no' ? unfitText(scenario, target, needs, fit) : undefined;
}
