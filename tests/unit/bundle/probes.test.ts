import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProbes } from '../../../lab/bundle/probes.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

/*
 * A user's probes/ folder is untrusted. What is wrong in it must be a LabError naming
 * the file: buildBundle turns exactly that into the scenario's own ERROR (the image and
 * the built-in scenarios go on); any other error fails every cell of the target.
 */
describe("a bad file in a user's probes/ fails that scenario, naming the file", () => {
  for (const [what, make] of [
    ['a dangling symlink', (f: string) => fs.symlink('/nonexistent/probe.c', f)],
    ['a folder named like a source', (f: string) => fs.mkdir(f)],
  ] as const) {
    it(what, async () => {
      const { root, dirs } = await tempDirs();
      const src = path.join(root, 'my-scenario', 'probes');
      await fs.mkdir(src, { recursive: true });
      await fs.writeFile(path.join(src, 'good.c'), 'int main(void) { return 0; }\n');
      await make(path.join(src, 'bad.c'));
      const err = await buildProbes({ variant: 'unpatched', recipe: { kind: 'glibc', prefix: 'arm-linux-gnueabi-' } as never, libcKey: 'k', toolchain: 't', dirs, logFile: path.join(root, 'log'), srcDir: src }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabError);
      expect((err as LabError).message).toContain(path.join(src, 'bad.c'));
    });
  }
});
