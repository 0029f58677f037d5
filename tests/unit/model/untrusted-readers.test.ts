import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBundleManifest } from '../../../lab/model/manifest.ts';
import { readCellRecord } from '../../../lab/model/scenario-result.ts';
import { sampleManifest, tempDirs } from '../../helpers.ts';

/** A cell's result.json as readCellRecord needs it, with one field changed. */
function cell(change: (r: { variants: Record<string, unknown>[]; depends: Record<string, unknown> }) => void): unknown {
  const r = {
    scenario: 'if-nameindex',
    target: 'fake-target',
    verdict: 'CONFIRMED',
    rate: { repeats: 1 },
    params: {},
    variants: [
      { variant: 'unpatched', role: 'unpatched', describe: 'd', outcome: 'FAIL', symptom: 's' },
      { variant: 'patched', role: 'patched', describe: 'd', outcome: 'PASS', symptom: 's' },
    ],
    depends: { bundleDir: '/store/bundle/k', bundleKey: 'k', scenarioDefinition: { file: 'f', sha256: 'a'.repeat(64) }, scenarioProbes: [{ variant: 'patched', linkage: 'static', dir: '/store/probes/p' }] },
  };
  change(r);
  return r;
}

async function read(doc: unknown): Promise<unknown> {
  const { root } = await tempDirs();
  const file = path.join(root, 'result.json');
  await fs.writeFile(file, JSON.stringify(doc));
  return readCellRecord(file);
}

describe("a cell's result.json is untrusted: a name a path is made of is one segment of a known form", () => {
  it('reads a sound cell', async () => {
    await expect(read(cell(() => undefined))).resolves.toMatchObject({ scenarioProbes: [{ variant: 'patched' }] });
  });

  it('refuses a variant that climbs out, names a folder or is not a variant name, naming the file and field', async () => {
    for (const bad of ['../../../tmp/elsewhere', '..', 'a/b', '.hidden', '-rf', 'UPPER']) {
      await expect(read(cell((r) => { r.depends['scenarioProbes'] = [{ variant: bad, linkage: 'static', dir: '/store/probes/p' }]; })), bad).rejects.toThrow(/result\.json: depends\.scenarioProbes\[0\]\.variant must be one path segment matching/);
      await expect(read(cell((r) => { r.variants[1]!['variant'] = bad; })), bad).rejects.toThrow(/result\.json: variants\[1\]\.variant must be one path segment matching/);
    }
  });

  it('refuses a relative bundleDir or probe dir (they are checked against the store, which is absolute)', async () => {
    await expect(read(cell((r) => { r.depends['bundleDir'] = 'bundle/k'; }))).rejects.toThrow(/depends\.bundleDir must be a string matching/);
    await expect(read(cell((r) => { r.depends['scenarioProbes'] = [{ variant: 'patched', linkage: 'static', dir: '../p' }]; }))).rejects.toThrow(/depends\.scenarioProbes\[0\]\.dir must be a string matching/);
  });
});

describe("a bundle's manifest.json: the kernel image and dtb are paths inside the bundle", () => {
  it('refuses one that climbs out or is absolute, naming the field', () => {
    const m = sampleManifest();
    for (const bad of ['../../../../tmp/elsewhere', 'images/../../x', '/etc/passwd', 'images//zImage', './images/zImage', 'images/']) {
      expect(() => parseBundleManifest('manifest.json', { ...m, kernel: { ...m.kernel, image: bad } }), bad).toThrow(/manifest\.json: kernel\.image must be a relative path inside its folder/);
      expect(() => parseBundleManifest('manifest.json', { ...m, kernel: { ...m.kernel, dtb: bad } }), bad).toThrow(/manifest\.json: kernel\.dtb must be a relative path inside its folder/);
    }
    expect(parseBundleManifest('manifest.json', { ...m, kernel: { ...m.kernel, dtb: 'images/versatile-pb.dtb' } }).kernel.dtb).toBe('images/versatile-pb.dtb');
  });
});
