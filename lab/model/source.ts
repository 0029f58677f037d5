/** What a build actually used for one package, recorded in the bundle manifest. */
export interface ResolvedSource {
  package: string;
  /** override: a directory tree; archive: a pinned upstream archive; debian-file: a file from a Debian package; debian-source: a Debian source package's .dsc. */
  origin: 'override' | 'archive' | 'debian-file' | 'debian-source';
  path: string;
  /** sha256 of the archive or file; for a directory, sha256 over its files (see sha256Tree). */
  sha256: string;
  /** For archives: whether the file's digest matched the pin (always true when used). */
  pinned?: string;
}
