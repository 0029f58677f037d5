/**
 * The mirror rule (issue 25): unit tests live in tests/unit/<folder>/ where <folder> is
 * the lab/ folder of the code they test, so the test of a module is found where its
 * module is. Run by tests/run.sh; prints each misplaced file and exits 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Files under `unitDir` that break the rule, with why. */
export function misplacedTests(unitDir: string, labFolders: string[]): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(unitDir, { withFileTypes: true })) {
    const p = path.join(unitDir, e.name);
    if (!e.isDirectory()) {
      if (e.name.endsWith('.ts')) out.push(`${p}: not in a folder (move it to tests/unit/<the lab/ folder it tests>/)`);
      continue;
    }
    if (!labFolders.includes(e.name)) out.push(`${p}/: lab/ has no folder ${e.name} (one of: ${labFolders.join(', ')})`);
  }
  return out;
}

// Run as a script (also through a symlinked checkout, whose URL Node builds from the real path).
if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  const labFolders = fs.readdirSync('lab', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const bad = misplacedTests(path.join('tests', 'unit'), labFolders);
  for (const b of bad) console.error(b);
  if (bad.length) process.exit(1);
  console.log('unit tests: tests/unit/<folder>/ mirrors lab/<folder>/');
}
