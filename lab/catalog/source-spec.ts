import fs from 'node:fs/promises';
import { Fields, parseJson } from '../model/fields.ts';

/** An upstream release archive, pinned by digest. */
export interface ArchiveSource {
  kind: 'archive';
  package: string;
  archive: string;
  sha256: string;
  url: string;
}

/** A file that a Debian package installs (e.g. /usr/src/linux-source-6.1.tar.xz). */
export interface DebianFileSource {
  kind: 'debian-file';
  package: string;
  debianPackage: string;
  path: string;
}

export type SourceSpec = ArchiveSource | DebianFileSource;

export function parseSourceSpec(fields: Fields): SourceSpec {
  const kind = fields.oneOf('kind', ['archive', 'debian-file'] as const);
  if (kind === 'archive') {
    fields.only(['kind', 'package', 'archive', 'sha256', 'url']);
    return {
      kind,
      package: fields.string('package', /^[A-Za-z0-9._-]+$/),
      archive: fields.string('archive', /\.tar\.(xz|gz|bz2)$/),
      sha256: fields.string('sha256', /^[0-9a-f]{64}$/),
      url: fields.string('url', /^https?:\/\//),
    };
  }
  fields.only(['kind', 'package', 'debianPackage', 'path']);
  return {
    kind,
    package: fields.string('package', /^[A-Za-z0-9._-]+$/),
    debianPackage: fields.string('debianPackage'),
    path: fields.string('path', /^\//),
  };
}

export async function loadSourceSpec(file: string): Promise<SourceSpec> {
  return parseSourceSpec(new Fields(file, parseJson(file, await fs.readFile(file, 'utf8'))));
}
