import { parseAllDocuments } from 'yaml';
import { UsageError } from '../../util/errors.ts';

/**
 * One YAML document from a file the lab did not write (a job handed back, a server's results): any
 * syntax error, a second document, or an alias expansion past the parser's bound is refused, naming
 * the file. Warnings (LAVA's `!` tags on numbers) stay quiet.
 */
export function untrustedYaml(file: string, text: string, fix: string): unknown {
  try {
    const docs = parseAllDocuments(text, { logLevel: 'error' });
    if (!Array.isArray(docs) || docs.length !== 1) throw new Error(`${Array.isArray(docs) ? docs.length : 0} YAML documents, expected one`);
    const [doc] = docs;
    if (doc!.errors.length) throw new Error(doc!.errors[0]!.message.split('\n')[0]);
    return doc!.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, { fix });
  }
}
