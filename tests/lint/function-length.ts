/**
 * The function-length rule (issue 25): no function in lab/ over MAX_LINES lines,
 * counted from its first line to its closing brace. Run by tests/run.sh beside the
 * dependency rule; prints each offender as file:line name length and exits 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export const MAX_LINES = 80;

export interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

/** A function's name as a reader would look for it: its own, or the variable or property it is assigned to. */
function nameOf(node: ts.Node): string {
  const own = (node as { name?: ts.Node }).name;
  if (own) return own.getText();
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) return parent.name.getText();
  return '(anonymous)';
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node);
}

/** Every function of one source text longer than `max` lines. */
export function longFunctions(file: string, text: string, max = MAX_LINES): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunction(node)) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (last - first + 1 > max) found.push({ file, line: first + 1, name: nameOf(node), lines: last - first + 1 });
    }
    node.forEachChild(visit);
  };
  visit(source);
  return found;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

// Run as a script (also through a symlinked checkout, whose URL Node builds from the real path).
if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  const offenders = tsFiles('lab').flatMap((f) => longFunctions(f, fs.readFileSync(f, 'utf8')));
  for (const o of offenders) console.error(`${o.file}:${o.line} ${o.name} is ${o.lines} lines (at most ${MAX_LINES}): split it`);
  if (offenders.length) process.exit(1);
  console.log(`function length: every function in lab/ is at most ${MAX_LINES} lines`);
}
