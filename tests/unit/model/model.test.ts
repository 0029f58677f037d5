import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBundleManifest, writeBundleManifest } from '../../../lab/model/manifest.ts';
import { loadMatrixResult } from '../../../lab/model/matrix-result.ts';
import { sampleMatrix } from './matrix-fixture.ts';
import type { Target } from '../../../lab/model/target.ts';
import { loadImportedTargets, writeImportedTarget } from '../../../lab/catalog/targets.ts';
import { sampleManifest, tempDirs } from '../../helpers.ts';

async function manifestFile(doc: unknown): Promise<string> {
  const { root } = await tempDirs();
  await fs.writeFile(path.join(root, 'manifest.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
  return root;
}

describe('the bundle manifest has one reader that names the file and the field', () => {
  it('reads back what the writer wrote, an imported 64 KiB-page product included', async () => {
    const { root } = await tempDirs();
    await writeBundleManifest(root, sampleManifest('t1'));
    expect(await readBundleManifest(root)).toEqual(sampleManifest('t1'));
    const product = { ...sampleManifest('br'), kernel: { ...sampleManifest().kernel, line: 'imported', pageSizeKiB: 64 }, libc: { ...sampleManifest().libc, kind: 'musl' } };
    await writeBundleManifest(root, product);
    expect(await readBundleManifest(root)).toEqual(product);
  });

  it('refuses an older schema, a missing field, a wrong type, an unknown field and broken JSON', async () => {
    const m = sampleManifest();
    const cases: [unknown, RegExp][] = [
      [{ ...m, schema: 0 }, /manifest\.json: schema must be one of 1 \(got 0\)/],
      [{ ...m, rootfs: { ...m.rootfs, hostKey: undefined } }, /manifest\.json: rootfs\.hostKey must be a non-empty string \(missing\)/],
      [{ ...m, kernel: { ...m.kernel, pageSizeKiB: 8 } }, /manifest\.json: kernel\.pageSizeKiB must be one of 4, 16, 64 \(got 8\)/],
      [{ ...m, libc: { kind: 'uclibc', variants: [{ ...m.libc.variants[0], probes: 'ifaddrs-probe' }] } }, /manifest\.json: libc\.variants\[0\]\.probes must be a list of strings/],
      [{ ...m, extra: 1 }, /manifest\.json: extra must be absent \(unknown field/],
      ['{"schema": 1,', /manifest\.json: not valid JSON/],
    ];
    for (const [doc, message] of cases) {
      await expect(readBundleManifest(await manifestFile(doc))).rejects.toThrow(message);
    }
  });

  it('the writer refuses to write what the reader would refuse', async () => {
    const { root } = await tempDirs();
    await expect(writeBundleManifest(root, { ...sampleManifest(), arch: 'x86' as 'arm' })).rejects.toThrow(/arch must be one of arm, mipsel/);
    await expect(fs.access(path.join(root, 'manifest.json'))).rejects.toThrow();
  });
});

describe('matrix.json has one reader', () => {
  it('names the file and the field of a corrupt result', async () => {
    const { root } = await tempDirs();
    const file = path.join(root, 'matrix.json');
    const corrupt = sampleMatrix();
    (corrupt.cells[0] as { verdict: string }).verdict = 'MAYBE';
    await fs.writeFile(file, JSON.stringify(corrupt));
    await expect(loadMatrixResult(file)).rejects.toThrow(/matrix\.json: cells\[0\]\.verdict must be one of CONFIRMED/);
  });
});

describe('imported target files have one reader and one writer', () => {
  it('reads back what the writer wrote, and names the field of a bad file', async () => {
    const { root } = await tempDirs();
    const file = path.join(root, 'imported', 'br-x.json');
    const target: Target = {
      name: 'br-x',
      description: 'an imported product',
      arch: 'arm',
      qemu: sampleManifest().qemu,
      kernel: { line: 'imported', board: 'versatilepb', pageSizeKiB: 4, initramfs: 'external', cmdline: 'console=ttyAMA0' },
      libc: { kind: 'uclibc-ng', variants: ['product'] },
      default: false,
      file,
      imported: { from: '/br/output', bundleDir: '/store/import-bundle/k' },
    };
    await writeImportedTarget(target);
    expect(await loadImportedTargets(path.dirname(file))).toEqual([target]);
    const text = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.writeFile(file, JSON.stringify({ ...text, kernel: { ...text.kernel, pageSizeKiB: '4' } }));
    await expect(loadImportedTargets(path.dirname(file))).rejects.toThrow(/br-x\.json: kernel\.pageSizeKiB must be one of 4, 16, 64 \(got "4"\)/);
    await fs.writeFile(file, JSON.stringify({ ...text, imported: undefined }));
    await expect(loadImportedTargets(path.dirname(file))).rejects.toThrow(/br-x\.json: imported must be an object \(missing\)/);
  });
});
