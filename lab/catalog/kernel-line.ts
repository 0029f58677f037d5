import fs from 'node:fs/promises';
import path from 'node:path';
import { parseSourceSpec, type SourceSpec } from './source-spec.ts';
import { repoRoot } from '../util/paths.ts';
import { Fields, parseJson } from '../model/fields.ts';

export interface KernelBoard {
  baseConfig: string;
  fragment: string;
  /** Path of the bootable image inside the build directory. */
  image: string;
  makeTargets: string[];
  dtb?: string;
}

/** kernels/<line>/line.json: where the source comes from and how each board is configured. */
export interface KernelLineSpec {
  line: string;
  version: string;
  dir: string;
  source: SourceSpec;
  fragments: string[];
  patchesDir: string;
  boards: Record<string, KernelBoard>;
}

export async function loadKernelLine(line: string): Promise<KernelLineSpec> {
  const dir = path.join(repoRoot, 'kernels', line);
  const file = path.join(dir, 'line.json');
  const top = new Fields(path.relative(process.cwd(), file), parseJson(file, await fs.readFile(file, 'utf8')));
  top.only(['line', 'version', 'source', 'fragments', 'patches', 'boards']);
  const boardsField = top.object('boards');
  const boards: Record<string, KernelBoard> = {};
  for (const name of boardsField.keys()) {
    const b = boardsField.object(name);
    b.only(['baseConfig', 'fragment', 'image', 'makeTargets', 'dtb']);
    boards[name] = {
      baseConfig: b.string('baseConfig'),
      fragment: b.string('fragment'),
      image: b.string('image'),
      makeTargets: b.stringList('makeTargets'),
      ...(b.has('dtb') ? { dtb: b.string('dtb') } : {}),
    };
  }
  return {
    line: top.string('line'),
    version: top.string('version'),
    dir,
    source: parseSourceSpec(top.object('source')),
    fragments: top.stringList('fragments'),
    patchesDir: path.join(dir, top.optionalString('patches', 'patches')),
    boards,
  };
}
