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

/**
 * A Debian source package (`apt-get source`), pinned by the sha256 of its .dsc:
 * the .dsc lists the sha256 of every file it is made of, so one pin covers them all.
 */
export interface DebianSourcePackage {
  kind: 'debian-source';
  package: string;
  /** Source package name, e.g. busybox. */
  debianSource: string;
  /** Exact Debian version, e.g. 1:1.35.0-4+deb12u1. */
  version: string;
  dsc: string;
  sha256: string;
}

export type SourceSpec = ArchiveSource | DebianFileSource | DebianSourcePackage;

export function parseSourceSpec(fields: Fields): SourceSpec {
  const kind = fields.oneOf('kind', ['archive', 'debian-file', 'debian-source'] as const);
  if (kind === 'debian-source') {
    fields.only(['kind', 'package', 'debianSource', 'version', 'dsc', 'sha256', 'comment']);
    return {
      kind,
      package: fields.string('package', /^[A-Za-z0-9._-]+$/),
      debianSource: fields.string('debianSource', /^[a-z0-9][a-z0-9.+-]+$/),
      version: fields.string('version', /^[0-9A-Za-z.+:~-]+$/),
      dsc: fields.string('dsc', /^[a-z0-9][a-z0-9.+~_-]+\.dsc$/),
      sha256: fields.string('sha256', /^[0-9a-f]{64}$/),
    };
  }
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
