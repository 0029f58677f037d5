import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { writeReports } from '../../../lab/matrix/matrix.ts';
import type { MatrixResult } from '../../../lab/model/matrix-result.ts';
import { matrixHtml } from '../../../lab/report/html.ts';
import { matrixJUnit } from '../../../lab/report/junit.ts';
import { tempDirs } from '../../helpers.ts';
import { sampleMatrix } from '../model/matrix-fixture.ts';

const SVG_REL = 'arm-a/sweep-getifaddrs-mechanism/sweep.svg';
const PLOT = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>the plot</title></svg>\n';

/** XML 1.0's Char production: what a JUnit consumer's parser accepts at all. */
const XML_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** A run directory with its sweep plot, and a file beside it that is not the run's. */
async function runDir(): Promise<{ root: string; run: string; secret: string }> {
  const { root } = await tempDirs();
  const run = path.join(root, 'run');
  await fs.mkdir(path.dirname(path.join(run, SVG_REL)), { recursive: true });
  await fs.writeFile(path.join(run, SVG_REL), PLOT);
  const secret = path.join(root, 'elsewhere', 'secret.svg');
  await fs.mkdir(path.dirname(secret));
  await fs.writeFile(secret, '<svg>SECRET-CONTENT</svg>');
  return { root, run, secret };
}

function withSvg(m: MatrixResult, svg: string): MatrixResult {
  m.sweeps[0]!.svg = svg;
  return m;
}

/** Every string in the document with markup appended (enum fields included: a renderer must not trust them either). */
function poisoned<T>(v: T): T {
  if (typeof v === 'string') return `${v}<script>alert(1)</script>` as T;
  if (Array.isArray(v)) return v.map(poisoned) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, poisoned(x)])) as T;
  return v;
}

describe('sweep plots are read only from inside their run directory', () => {
  it('refuses an svg path outside the run (a shard saying "svg": "/etc/passwd")', async () => {
    const { run, secret } = await runDir();
    for (const svg of [secret, '/etc/passwd', path.join(run, '..', 'elsewhere', 'secret.svg')]) {
      const files = await writeReports(withSvg(sampleMatrix(run), svg), run);
      const html = await fs.readFile(files.html, 'utf8');
      expect(html).not.toContain('SECRET-CONTENT');
      expect(html).not.toContain('root:x:0');
      expect(html).toContain('outside the run directory');
    }
  });

  it('refuses a symlink inside the run that leads out of it', async () => {
    const { run, secret } = await runDir();
    const link = path.join(run, 'arm-a', 'sweep-getifaddrs-mechanism', 'link.svg');
    await fs.symlink(secret, link);
    const files = await writeReports(withSvg(sampleMatrix(run), link), run);
    const html = await fs.readFile(files.html, 'utf8');
    expect(html).not.toContain('SECRET-CONTENT');
    expect(html).toContain('outside the run directory');
  });

  it('finds a plot of a run directory that was copied elsewhere (a CI artifact), below the local copy', async () => {
    const { root, run } = await runDir();
    const recorded = sampleMatrix('/ci/builds/shard-1');
    const out = path.join(root, 'out');
    const files = await writeReports(recorded, out, [{ result: recorded, runDir: run }]);
    const html = await fs.readFile(files.html, 'utf8');
    expect(html).toContain('data:image/svg+xml;base64,');
    expect(html).toContain(Buffer.from(PLOT).toString('base64'));
  });

  it('never inlines a plot as markup: a script in an svg does not run in the report', async () => {
    const { run } = await runDir();
    await fs.writeFile(path.join(run, SVG_REL), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const files = await writeReports(sampleMatrix(run), run);
    expect(await fs.readFile(files.html, 'utf8')).not.toMatch(/<script/i);
  });
});

describe('every string is escaped by construction', () => {
  it('markup in any field of a matrix.json, patchedFailures included, stays text in report.html', () => {
    const clean = sampleMatrix();
    const m = poisoned(clean);
    // The statuses pick what is rendered at all: kept, so every part of the page is drawn.
    m.cells.forEach((c, i) => (c.status = clean.cells[i]!.status));
    m.sweeps.forEach((s, i) => (s.status = clean.sweeps[i]!.status));
    m.targets.forEach((t, i) => (t.status = clean.targets[i]!.status));
    (m.sweeps[0] as { patchedFailures: unknown[] }).patchedFailures = ['<script>alert(2)</script>', 3];
    const html = matrixHtml(m, { htmlDir: '/runs/r', svgs: new Map() });
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
  });

  it('markup in any field stays text in junit.xml, which still parses', () => {
    const clean = sampleMatrix();
    const m = poisoned(clean);
    m.cells.forEach((c, i) => (c.status = clean.cells[i]!.status));
    const xml = matrixJUnit(m);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toContain('<script');
  });
});

describe('guest text that XML 1.0 forbids', () => {
  it('U+FFFE, U+FFFF, a lone surrogate and control characters leave junit.xml well-formed and say what they were', () => {
    const m = sampleMatrix();
    const guest = 'errno=EBUSY \uFFFE\uFFFF \u001b[2J \u0000 \uD800 \u0085 ok';
    m.cells[0]!.summary = guest;
    m.cells[0]!.variants[0]!.symptom = guest;
    m.cells[1]!.summary = guest;
    const xml = matrixJUnit(m);
    expect(xml).toMatch(XML_CHARS);
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(xml) as { testsuites: { testsuite: { testcase: { 'system-out'?: string }[] }[] } };
    const out = parsed.testsuites.testsuite[0]!.testcase[0]!['system-out']!;
    expect(out).toContain('errno=EBUSY \\u{fffe}\\u{ffff} \\x1b[2J \\x00 \\u{d800} \\x85 ok');
  });

  it('and in report.html', () => {
    const m = sampleMatrix();
    m.cells[0]!.variants[0]!.symptom = 'a\uFFFFb\u001bc';
    const html = matrixHtml(m, { htmlDir: '/runs/r', svgs: new Map() });
    expect(html).toMatch(XML_CHARS);
    expect(html).toContain('a\\u{ffff}b\\x1bc');
  });
});
