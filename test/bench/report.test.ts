import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { perSecond, renderHtml, runChromium, Timeline } from '../../bench/lib/report.ts';

/**
 * A bench report as a person opens it: rendered by headless Chromium
 * (Debian's package), which runs the page's uPlot; the page then looks for
 * each measured series' colour on its canvas and says how many charts drew.
 */
const dir = mkdtempSync(join(tmpdir(), 'armazem-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(start: number, seconds: number, perSec: number, ms: number): Timeline {
  const t = new Timeline(start);
  for (let i = 0; i < seconds * perSec; i++) t.record(ms + (i % 7), start + (i / perSec) * 1000);
  return t;
}

const bodyAttributes = (dom: string) => {
  const body = /<body([^>]*)>/.exec(dom)?.[1] ?? '';
  return Object.fromEntries([...body.matchAll(/data-([a-z-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
};

describe('bench report (bench/lib/report.ts)', () => {
  it('sums samples per second: throughput and latency percentiles', () => {
    const points = load(0, 3, 100, 10).perSecond();
    expect(points).toHaveLength(3);
    expect(points[0]).toEqual({ t: 0, rps: 100, p50: 13, p99: 16 });
    expect(
      perSecond([
        [0.5, 1],
        [2.2, 3],
      ]).map((p) => p.rps),
    ).toEqual([1, 0, 1]);
  });

  it('renders self-contained HTML whose charts draw in headless Chromium, stage lines and reference included', () => {
    const html = renderHtml({
      title: 'bench:test — a report',
      command: 'npm run bench:test',
      checks: [{ name: 'stock invariant', ok: true, detail: '0 mismatches' }],
      timelines: [
        {
          title: 'payments ramp',
          series: [
            { name: 'reference', points: load(0, 20, 50, 2).perSecond(), reference: true },
            { name: 'armazem', points: load(0, 20, 40, 6).perSecond() },
          ],
          stages: [{ at: 10, label: 'default fails' }],
        },
        // A series without a single sample cannot draw: the page must say so.
        { title: 'empty', series: [{ name: 'nothing measured', points: [] }] },
      ],
      bars: [{ title: 'req/s', unit: 'req/s', items: [{ name: 'armazem', value: 40 }] }],
    });
    // Nothing is fetched: the library and the data are in the file.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).toContain('uPlot');
    const file = join(dir, 'report.html');
    writeFileSync(file, html);

    const dom = runChromium(['--dump-dom'], file);
    expect(dom.ok, dom.stderr.slice(-2000)).toBe(true);
    expect(bodyAttributes(dom.stdout)).toEqual({ 'charts-expected': '4', 'charts-drawn': '2' });
    expect(dom.stdout).toContain('PASS');

    const png = join(dir, 'report.png');
    const shot = runChromium([`--screenshot=${png}`, '--window-size=1200,1400', '--hide-scrollbars'], file);
    expect(shot.ok, shot.stderr.slice(-2000)).toBe(true);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1200);
  }, 60_000);
});
