/**
 * `reprolab repro pack` reads a cell it did not just write: result.json and the bundle's manifest.json
 * may be tampered with. A field that would point a read or a write outside its root is one clear line
 * (file, field, fix), exit 2, no stack trace, and nothing is written outside the pack's work directory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCell, packCli, removeCells, writeCell, type Cell } from './repro-fixture.ts';

afterAll(removeCells);

/** Enough ".." to reach / from any working directory, then an absolute path. */
const climb = (to: string) => `${'../'.repeat(24)}${to.slice(1)}`;

async function refused(c: Cell, message: RegExp): Promise<void> {
  const r = await packCli(c, path.join(c.root, 'out.tar.gz'));
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at |ExecaError/);
  // Progress lines aside, one line says what is wrong.
  expect(r.stderr.split('\n').filter((l) => l.startsWith('reprolab:')), r.stderr).toHaveLength(1);
  await expect(fs.access(path.join(c.root, 'out.tar.gz'))).rejects.toThrow();
}

describe('repro pack refuses a tampered cell', { timeout: 60_000 }, () => {
  it('packs the sound cell (the fixture is good)', async () => {
    const c = await makeCell();
    const r = await packCli(c, path.join(c.root, 'out.tar.gz'));
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it("a scenario probe's variant that climbs out of the work directory writes nothing there", async () => {
    const c = await makeCell();
    const elsewhere = path.join(c.root, 'elsewhere');
    (c.result.depends['scenarioProbes'] as { variant: string }[])[0]!.variant = climb(elsewhere);
    await writeCell(c);
    await refused(c, /result\.json: depends\.scenarioProbes\[0\]\.variant must be one path segment/);
    await expect(fs.access(elsewhere)).rejects.toThrow();
  });

  it("a bundle manifest's kernel.image that climbs out is refused: nothing outside is read into the pack or written", async () => {
    const c = await makeCell();
    const victim = path.join(c.root, 'victim');
    await fs.writeFile(victim, 'keep me\n');
    c.manifest.kernel['image'] = climb(victim);
    await writeCell(c);
    await refused(c, /manifest\.json: kernel\.image must be a relative path inside its folder.*build it again/);
    expect(await fs.readFile(victim, 'utf8')).toBe('keep me\n');
  });

  it('an image built before the probes printed flat result lines is refused: its pack could only judge ERROR', async () => {
    const c = await makeCell();
    c.manifest.recipeVersion = 3;
    await writeCell(c);
    await refused(c, /its image was built by an older reprolab \(recipe 3\) whose probes print no flat result lines.*run the cell again/);
  });

  it("a kernel.image that names a folder of the bundle is refused in one line, not a stack trace", async () => {
    const c = await makeCell();
    c.manifest.kernel['image'] = 'images';
    await writeCell(c);
    await refused(c, /manifest\.json: images is not a file inside the bundle/);
  });

  it("a bundleDir outside the lab's store, or a link in the store to outside it, is refused", async () => {
    const c = await makeCell();
    const outside = path.join(c.root, 'outside-bundle');
    await fs.cp(c.bundleDir, outside, { recursive: true });
    c.result.depends['bundleDir'] = outside;
    await writeCell(c);
    await refused(c, /result\.json: depends\.bundleDir must be a bundle in the lab's store/);
    const link = path.join(c.store, 'bundle', 'link');
    await fs.symlink(outside, link);
    c.result.depends['bundleDir'] = link;
    await writeCell(c);
    await refused(c, /result\.json: depends\.bundleDir must be a bundle in the lab's store/);
  });

  it("a scenario probe dir outside the store (someone's keys), or holding a link, is refused", async () => {
    const c = await makeCell();
    const secrets = path.join(c.root, 'secrets');
    await fs.mkdir(secrets);
    await fs.writeFile(path.join(secrets, 'id_ed25519'), 'a private key\n');
    const probes = c.result.depends['scenarioProbes'] as { dir: string }[];
    const dir = probes[0]!.dir;
    probes[0]!.dir = secrets;
    await writeCell(c);
    await refused(c, /result\.json: depends\.scenarioProbes\[0\]\.dir must be a probe build in the lab's store/);
    probes[0]!.dir = dir;
    await writeCell(c);
    await fs.symlink('/etc/passwd', path.join(dir, 'leak'));
    await refused(c, /depends\.scenarioProbes\[0\]\.dir: .*leak is a symbolic link/);
  });

  it('a variant name that is not one segment is refused before anything is copied', async () => {
    const c = await makeCell();
    (c.result['variants'] as { variant: string }[])[0]!.variant = '../../x';
    await writeCell(c);
    await refused(c, /result\.json: variants\[0\]\.variant must be one path segment/);
  });
});
