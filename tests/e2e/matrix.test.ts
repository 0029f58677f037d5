/**
 * End-to-end: the nightly matrix through the real CLI. Every scenario on every
 * available target gives the verdict its expectation file records; the JSON,
 * JUnit (parsed) and HTML (rendered in headless Chromium) reports agree; shards
 * merge into the result of one run; a doctored previous run is a regression
 * with exit 3; a guest killed mid-cell is retried once on a fresh boot.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { cellId } from '../../lab/matrix/plan.ts';
import { loadMatrixResult, type MatrixResult } from '../../lab/model/matrix-result.ts';
import { missingSources } from '../../lab/report/missing-sources.ts';
import { builtinScenarioNames } from '../../lab/scenarios/registry.ts';
import { repoRoot } from '../../lab/util/paths.ts';
import { skipReasonFor, targets } from './lab.ts';

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'reprolab-e2e-matrix-'));
const defaults = targets.filter((t) => t.default);
const available = defaults.filter((t) => !skipReasonFor(t.name));
const glibc = available.filter((t) => t.kernel.line === '6.1').map((t) => t.name);
/**
 * B5 at its default 2000 dumps per reader (on malta 3.10 they take about 0.25 s: 500 took 60 ms,
 * two or three 20 ms churn rounds, too few to prove the churn every time), with a CI time budget.
 */
const CI_KNOBS = ['--iterations', '2000', '--budget-ms', '30000'];

function lab(args: string[]): ResultPromise<{ reject: false; all: true; env: Record<string, string> }> {
  return execa(path.join(repoRoot, 'reprolab'), args, { reject: false, all: true, env: { CI: 'true' } });
}

async function chromium(args: string[]): Promise<string> {
  const r = await execa('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args], { reject: false, timeout: 120_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

const verdicts = (r: MatrixResult, keep: (id: string) => boolean = () => true) =>
  r.cells.filter((c) => keep(cellId(c))).map((c) => [cellId(c), c.status, c.verdict ?? null]);

const fullDir = path.join(root, 'full');
/** A scenario of a user's own, in a directory outside the repository, as a user keeps one (docs/scenarios.md: "A scenario of your own"). */
const userScenarios = path.join(root, 'my-scenarios');
await fs.cp(path.join(repoRoot, 'tests', 'e2e', 'scenarios'), userScenarios, { recursive: true });
const scenarioCount = builtinScenarioNames().length + 1;

describe('reprolab matrix', () => {
  it("every scenario (the built-in ones and a user's own) on every available target gives its expected verdict; JSON, JUnit and HTML say the same", { timeout: 80 * 60_000 }, async () => {
    const r = await lab(['--scenario-dir', userScenarios, 'matrix', '--targets', defaults.map((t) => t.name).join(','), '-j', '2', '--out', fullDir, '--no-compare', ...CI_KNOBS]);
    console.log(r.all.split('\n').filter((l) => !l.startsWith('›')).slice(-30).join('\n'));
    expect(r.exitCode, r.all.slice(-3000)).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`report: ${path.join(fullDir, 'report.html')}`);

    const full = await loadMatrixResult(path.join(fullDir, 'matrix.json'));
    expect(full.cells).toHaveLength(defaults.length * scenarioCount);
    // The user's scenario ran beside the built-in ones, judged against its own expect.json.
    expect(full.cells.filter((c) => c.scenario === 'if-nameindex' && c.status === 'ran').map((c) => c.target).sort()).toEqual(available.map((t) => t.name).sort());
    for (const c of full.cells) {
      if (skipReasonFor(c.target)) {
        expect(c.status).toBe('skipped');
        expect(c.summary).toBe(skipReasonFor(c.target));
        continue;
      }
      expect(c.verdict, `${cellId(c)}: ${c.summary}`).toBe(c.expected);
      expect(c.summary.length).toBeGreaterThan(0);
      for (const v of c.variants) for (const e of v.evidence ?? []) await fs.access(e);
      await fs.access(c.resultFile!);
      await fs.access(c.consoleLog!);
      expect(c.qemu).toContain(targets.find((t) => t.name === c.target)!.qemu.binary);
      expect(c.uname).toMatch(/^Linux /);
      expect(c.digests!.kernelConfig).toMatch(/^[0-9a-f]{64}$/);
      expect(c.digests!.rootfs).toMatch(/^[0-9a-f]{64}$/);
    }
    for (const t of full.targets) {
      if (skipReasonFor(t.target)) {
        // One short line per target; the fix is said once, in missingSources.
        expect(t.reason).toBe(skipReasonFor(t.target));
        expect(t.missingSources?.length).toBeGreaterThan(0);
      }
      // One boot serves every cell of a target unless a retry needed a fresh one.
      else expect(t.boots).toBe(1 + full.cells.filter((c) => c.target === t.target && c.retried).length);
    }
    // The USB stall rate is counted for every target whose uevent cell ran (this run at least).
    for (const t of available) expect(full.usbStalls?.find((u) => u.target === t.name)?.bursts, t.name).toBeGreaterThanOrEqual(1);
    expect(full.sweeps.filter((s) => s.status === 'ran')).toHaveLength(available.length);
    for (const s of full.sweeps) if (s.status === 'ran') await fs.access(s.svg!);

    const xml = await fs.readFile(path.join(fullDir, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testsuite' || name === 'testcase' }).parse(xml) as {
      testsuites: { tests: string; failures: string; errors: string; skipped: string; testsuite: { name: string; testcase: { name: string; skipped?: unknown }[] }[] };
    };
    expect(junit.testsuites).toMatchObject({ tests: String(full.cells.length), failures: '0', errors: '0', skipped: String(full.cells.filter((c) => c.status === 'skipped').length) });
    expect(junit.testsuites.testsuite.map((s) => s.name)).toEqual(defaults.map((t) => t.name));
    expect(junit.testsuites.testsuite[0]!.testcase).toHaveLength(scenarioCount);

    // The page as a browser shows it: the grid has a verdict in every judged cell.
    const html = path.join(fullDir, 'report.html');
    const dom = await chromium(['--dump-dom', `file://${html}`]);
    expect(dom).toContain('id="verdict-grid"');
    expect(dom).toContain('id="usb-stalls"');
    const shown = [...dom.matchAll(/data-verdict="([A-Z_]+)"/g)].map((m) => m[1]);
    expect(shown.sort()).toEqual(full.cells.filter((c) => c.status === 'ran').map((c) => c.verdict).sort());
    // Plots are data: images (a shard's SVG never becomes markup of the page).
    expect(dom.match(/src="data:image\/svg\+xml;base64,/g)?.length ?? 0).toBeGreaterThanOrEqual(available.length);
    // Each missing archive is said once in the page, with the command that fetches it; the grid fits 1280 px.
    for (const m of missingSources(full)) expect(dom.split(m.fix).length - 1, m.archive).toBe(1);
    if (missingSources(full).length) expect(dom).toContain('reprolab sources fetch');
    expect(dom).not.toContain('skipped: skipped:');
    const probe = path.join(fullDir, 'report-width.html');
    const page = await fs.readFile(html, 'utf8');
    await fs.writeFile(probe, page.replace('</body>', "<script>document.body.dataset.gridWidth = String(document.getElementById('verdict-grid').getBoundingClientRect().right)</script></body>"));
    const measured = await chromium(['--window-size=1280,1000', '--dump-dom', `file://${probe}`]);
    const right = Number(/data-grid-width="([\d.]+)"/.exec(measured)?.[1]);
    expect(right, 'the right edge of the verdict grid in a 1280 px window').toBeLessThanOrEqual(1280);
    const png = path.join(fullDir, 'report.png');
    await chromium(['--window-size=1280,2000', `--screenshot=${png}`, `file://${html}`]);
    const head = (await fs.readFile(png)).subarray(0, 8);
    expect(head.toString('hex')).toBe('89504e470d0a1a0a');
    expect((await fs.stat(png)).size).toBeGreaterThan(20_000);
    console.log(`report screenshot: ${png}`);
  });

  it('two shards, run side by side, merge into the same result as one run', { timeout: 30 * 60_000 }, async () => {
    const scenarios = ['getifaddrs-mechanism', 'dump-read', 'dump-buffer'];
    const common = ['matrix', '--targets', glibc.join(','), '--scenarios', scenarios.join(','), '-j', '1', '--no-sweeps', '--no-compare', ...CI_KNOBS];
    const shards = await Promise.all([1, 2].map((i) => lab([...common, '--shard', `${i}/2`, '--out', path.join(root, `shard-${i}`)])));
    for (const s of shards) expect(s.exitCode, s.all.slice(-3000)).toBe(0);
    const parts = await Promise.all([1, 2].map((i) => loadMatrixResult(path.join(root, `shard-${i}`, 'matrix.json'))));
    expect(parts[0]!.cells.length + parts[1]!.cells.length).toBe(glibc.length * scenarios.length);
    expect(parts[0]!.cells.filter((c) => parts[1]!.cells.some((d) => cellId(d) === cellId(c)))).toEqual([]);

    const merged = await lab(['report', 'merge', ...[1, 2].map((i) => path.join(root, `shard-${i}`, 'matrix.json')), '--out', path.join(root, 'merged')]);
    expect(merged.exitCode, merged.all).toBe(0);
    const m = await loadMatrixResult(path.join(root, 'merged', 'matrix.json'));
    // The same result as one run: every cell of the plan, once, with the verdict one run must give (its expectation).
    expect(m.cells.map(cellId).sort()).toEqual(glibc.flatMap((t) => scenarios.map((s) => `${t}/${s}`)).sort());
    for (const c of m.cells) expect(c.verdict, `${cellId(c)}: ${c.summary}`).toBe(c.expected);
    const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(verdicts(m).sort(byId)).toEqual([...verdicts(parts[0]!), ...verdicts(parts[1]!)].sort(byId));
    expect(XMLValidator.validate(await fs.readFile(path.join(root, 'merged', 'junit.xml'), 'utf8'))).toBe(true);

    const half = await lab(['report', 'merge', path.join(root, 'shard-1', 'matrix.json'), '--out', path.join(root, 'half')]);
    // Shards that do not fit together are bad input: exit 2.
    expect(half.exitCode).toBe(2);
    expect(half.stderr).toMatch(/the shards do not cover the plan: \d+ cell\(s\) missing/);
  });

  it('a doctored previous run makes --compare report the regression first and exit 3', { timeout: 20 * 60_000 }, async () => {
    const target = glibc[0]!;
    // Its own previous run (no test depends on another's result), then a doctored copy of it.
    const before = path.join(root, 'before-doctoring');
    const first = await lab(['matrix', '--targets', target, '--scenarios', 'dump-read,dump-buffer', '--no-sweeps', '--no-compare', '--out', before]);
    expect(first.exitCode, first.all.slice(-3000)).toBe(0);
    const previousRun = path.join(before, 'matrix.json');
    const doctored = structuredClone(await loadMatrixResult(previousRun));
    const cell = doctored.cells.find((c) => c.target === target && c.scenario === 'dump-read')!;
    expect(cell.verdict).toBe('CONFIRMED');
    cell.verdict = 'NOT_REPRODUCED';
    const prev = path.join(root, 'doctored.json');
    await fs.writeFile(prev, JSON.stringify(doctored));

    const out = path.join(root, 'compared');
    const r = await lab(['matrix', '--targets', target, '--scenarios', 'dump-read,dump-buffer', '--no-sweeps', '--compare', prev, '--out', out]);
    expect(r.exitCode, r.all.slice(-3000)).toBe(3);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^compared with .*doctored\.json .*: 1 regression\(s\), 0 recovered, 0 new, 0 no longer run, 1 unchanged$/);
    expect(lines[1]).toMatch(new RegExp(`^ {2}REGRESSION +${target} dump-read: NOT_REPRODUCED → CONFIRMED`));
    const xml = await fs.readFile(path.join(out, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<failure type="REGRESSION" message="changed since the previous run: NOT_REPRODUCED → CONFIRMED">/);
    const dom = await chromium(['--dump-dom', `file://${path.join(out, 'report.html')}`]);
    expect(dom).toMatch(/Regressions: verdicts that changed \(1\)/);

    const diff = await lab(['report', 'diff', prev, previousRun]);
    expect(diff.exitCode).toBe(3);
    expect(diff.stdout).toMatch(/REGRESSION +.* dump-read: NOT_REPRODUCED → CONFIRMED/);
    const same = await lab(['report', 'diff', previousRun, previousRun]);
    expect(same.exitCode).toBe(0);
    const wrong = await lab(['report', 'diff', path.join(out, `${target}`, 'dump-read', 'result.json'), prev]);
    // Not a matrix.json: bad input, exit 2.
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/result\.json: "kind" must be "reprolab-matrix"/);
  });

  it('a guest that dies mid-cell is an infrastructure ERROR: retried once on a fresh boot, and the result says so', { timeout: 20 * 60_000 }, async () => {
    const target = glibc[0]!;
    const out = path.join(root, 'killed');
    const child = lab(['matrix', '--targets', target, '--scenarios', 'uevent', '--no-sweeps', '--no-compare', '--out', out]);
    // Wait until the cell is under way on boot 1, then kill that QEMU from outside.
    const cellDir = path.join(out, target, 'uevent');
    const deadline = Date.now() + 300_000;
    while (!(await fs.access(cellDir).then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error('the uevent cell never started');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const ps = await execa('ps', ['-eo', 'pid=,ppid=,comm=']);
    const procs = ps.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    const descendants = new Set([String(child.pid)]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, ppid] of procs) if (descendants.has(ppid!) && !descendants.has(pid!)) (descendants.add(pid!), (grew = true));
    }
    const qemu = procs.filter(([pid, , comm]) => descendants.has(pid!) && comm!.startsWith('qemu-system'));
    expect(qemu).toHaveLength(1);
    process.kill(Number(qemu[0]![0]), 'SIGKILL');
    const r = await child;
    expect(r.exitCode, r.all.slice(-3000)).toBe(0);
    const m = await loadMatrixResult(path.join(out, 'matrix.json'));
    const c = m.cells[0]!;
    expect(c.attempts.map((a) => a.verdict)).toEqual(['ERROR', c.expected]);
    expect(c.retried).toMatch(/^the first attempt ended in ERROR .*retried once on a fresh boot$/);
    expect(m.targets[0]!.boots).toBe(2);
    expect(r.stdout).toMatch(new RegExp(`retried ${target} uevent: the first attempt ended in ERROR`));
  });
});
