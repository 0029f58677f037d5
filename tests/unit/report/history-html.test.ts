import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { analyseHistory } from '../../../lab/matrix/history-analysis.ts';
import { historyHtml } from '../../../lab/report/history-html.ts';
import { VERDICT_COLORS } from '../../../lab/report/html.ts';
import { tempDirs } from '../../helpers.ts';
import { nights } from '../matrix/history-fixture.ts';

/** Six nights: a cell that flips, a regression still active, one that ended, an ERROR that recovered, a night without one cell. */
const SIX = () =>
  nights([
    {},
    { verdicts: { 'arm-a/getifaddrs': 'NOT_REPRODUCED', 'arm-a/uevent': 'ERROR' }, retried: ['arm-a/uevent'] },
    { verdicts: { 'mips-b/getifaddrs': 'FIX_INEFFECTIVE' } },
    { verdicts: { 'arm-a/getifaddrs': 'NOT_REPRODUCED', 'mips-b/uevent': 'NOT_REPRODUCED' }, omit: ['mips-b/getifaddrs'] },
    { verdicts: { 'mips-b/uevent': 'NOT_REPRODUCED' } },
    { verdicts: { 'mips-b/uevent': 'NOT_REPRODUCED' } },
  ]);

const row = (page: string, id: string) => new RegExp(`<tr data-cell="${id}"[^]*?</tr>`).exec(page)?.[0] ?? '';
const marks = (html: string) => [...html.matchAll(/data-mark="([A-Z_]+)"/g)].map((m) => m[1]);
const section = (page: string, id: string, end = 'table') => new RegExp(`id="${id}"[^]*?</${end}>`).exec(page)?.[0] ?? '';

describe('history.html', () => {
  const h = analyseHistory('/runs', SIX());
  const page = historyHtml(h, { htmlDir: '/runs' });

  it('a grid of cells × runs: one mark per run, in the matrix report’s colours, with a tooltip', () => {
    for (const c of h.cells) expect(marks(row(page, `${c.target}/${c.scenario}`)), `${c.target}/${c.scenario}`).toEqual(c.series.map((p) => p.mark));
    expect(marks(row(page, 'mips-b/getifaddrs'))).toEqual(['CONFIRMED', 'CONFIRMED', 'FIX_INEFFECTIVE', 'NOT_RUN', 'CONFIRMED', 'CONFIRMED']);
    const fix = /<span class="mk x"[^>]*data-mark="FIX_INEFFECTIVE"[^>]*>/.exec(row(page, 'mips-b/getifaddrs'))?.[0] ?? '';
    expect(fix).toContain(`background:${VERDICT_COLORS['FIX_INEFFECTIVE']}`);
    expect(fix).toMatch(/title="#3 2026-11-03 01:00: FIX_INEFFECTIVE \(no expectation\)/);
    // The retried ERROR (its USB stack stalled twice): marked retried, outlined as not expected.
    expect(row(page, 'arm-a/uevent')).toMatch(/class="mk x rt" data-mark="ERROR"/);
  });

  it('the flaky cell carries its rate; the others do not', () => {
    expect(row(page, 'arm-a/getifaddrs')).toMatch(/class="flaky"[^>]*>flaky 80%</);
    expect(row(page, 'mips-b/uevent')).not.toContain('class="flaky"');
    expect(row(page, 'mips-b/uevent')).toContain('since #4');
  });

  it('regressions: the active one in the open with the run where it started, the ended ones with the run that ended them', () => {
    const active = section(page, 'regressions-active');
    expect(active).toContain('<b>mips-b</b> · uevent');
    expect(active).toMatch(/#4<\/span> <span class="note">2026-11-04 01:00/);
    expect(active).toContain('<span class="reg">yes</span>');
    const ended = section(page, 'regressions-ended');
    expect(ended).toContain('<b>arm-a</b> · getifaddrs');
    expect(ended).toMatch(/no — back in <span title="[^"]+">#5</);
    expect(ended).toContain('1 earlier: #2–#3');
  });

  it('the ERROR that recovered, and per target its retries, USB stalls and a duration plot', () => {
    expect(section(page, 'errors')).toMatch(/<b>arm-a<\/b> · uevent[^]*#3<\/span>[^]*CONFIRMED/);
    const targets = section(page, 'targets');
    expect(targets).toContain('1 retried');
    // arm-a's uevent: one burst a night, two on the retried night, both of which stalled.
    expect(targets).toMatch(/2 of 7 \(29%\)<div class="note">in run #2</);
    expect(targets.match(/<svg class="plot"/g)).toHaveLength(1 + h.targets.length);
  });

  it('self-contained: no script, no external resource', () => {
    expect(page).not.toMatch(/<script|<link|<img|<iframe|(src|href)="(https?:)?\/\//i);
  });

  it('markup in a matrix.json (names, summaries, reasons) and in an unreadable run’s reason stays text', () => {
    const runs = SIX();
    for (const r of runs) for (const c of r.result.cells) Object.assign(c, { summary: `${c.summary}<script>alert(1)</script>`, bug: '<img src=x>', retried: c.retried && `${c.retried}<script>` });
    const poisoned = historyHtml(analyseHistory('/runs<script>', runs, [{ name: 'x<script>', file: '/f', reason: 'bad <script>alert(2)</script>' }]), { htmlDir: '/runs' });
    expect(poisoned).not.toMatch(/<script|<img/i);
    expect(poisoned).toContain('bad &lt;script&gt;alert(2)&lt;/script&gt;');
  });
});

const hasChromium = await execa('chromium', ['--version'], { reject: false }).then((r) => r.exitCode === 0, () => false);

describe('history.html in a browser', () => {
  it.skipIf(!hasChromium)('30 runs with long names fit 1400 px: no horizontal scroll', { timeout: 120_000 }, async () => {
    const runs = nights(Array.from({ length: 30 }, (_, i) => (i % 3 ? {} : { verdicts: { 'arm-a/getifaddrs': 'NOT_REPRODUCED' as const } })));
    // Names as long as the lab's (mips-malta16k-3.10-uclibc, getifaddrs-mechanism) and longer.
    const long: Record<string, string> = { 'arm-a': 'mips-malta16k-3.10-uclibc-imported-board', 'mips-b': 'arm-versatile-6.1-glibc', getifaddrs: 'getifaddrs-mechanism-of-a-users-own' };
    for (const r of runs) for (const c of r.result.cells) Object.assign(c, { target: long[c.target] ?? c.target, scenario: long[c.scenario] ?? c.scenario });
    const { root } = await tempDirs();
    const probe = path.join(root, 'history.html');
    const html = historyHtml(analyseHistory(root, runs), { htmlDir: root });
    await fs.writeFile(probe, html.replace('</body>', '<script>document.body.dataset.w = document.documentElement.scrollWidth + " " + document.documentElement.clientWidth</script></body>'));
    const r = await execa('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1400,1000', '--dump-dom', `file://${probe}`], { reject: false, timeout: 100_000 });
    const [scroll, client] = (/data-w="(\d+) (\d+)"/.exec(r.stdout)?.slice(1) ?? []).map(Number);
    expect(client, r.stderr.slice(-500)).toBe(1400);
    expect(scroll).toBeLessThanOrEqual(client!);
    expect([...r.stdout.matchAll(/data-mark=/g)]).toHaveLength(30 * 4);
  });
});
