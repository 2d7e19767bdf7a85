import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.ts';

/**
 * Bench reports people look at: one self-contained HTML file per run under
 * bench/reports/ (uPlot and the data inlined, nothing fetched), and a PNG of
 * it rendered by headless Chromium when it is installed. A bench calls
 * `writeReport(name, spec)` once with what it measured.
 */

/** One second of a run: requests answered in it and their latency percentiles (ms). */
export interface Point {
  t: number;
  rps: number;
  p50: number;
  p99: number;
}

/** Collects (time, latency) samples and sums them up per second since `start`. */
export class Timeline {
  private readonly samples: Array<[number, number]> = [];
  readonly start: number;

  constructor(start = performance.now()) {
    this.start = start;
  }

  record(latencyMs: number, at = performance.now()): void {
    this.samples.push([at, latencyMs]);
  }

  perSecond(): Point[] {
    return perSecond(this.samples.map(([at, ms]) => [(at - this.start) / 1000, ms]));
  }
}

/** Per-second throughput and percentiles from (seconds since start, latency ms) pairs. */
export function perSecond(samples: Array<[number, number]>): Point[] {
  const buckets = new Map<number, number[]>();
  for (const [s, ms] of samples) {
    const t = Math.floor(s);
    if (t < 0) continue;
    const b = buckets.get(t) ?? [];
    b.push(ms);
    buckets.set(t, b);
  }
  const last = Math.max(-1, ...buckets.keys());
  return Array.from({ length: last + 1 }, (_, t) => {
    const b = (buckets.get(t) ?? []).sort((x, y) => x - y);
    const at = (q: number) => b[Math.min(b.length - 1, Math.floor(q * b.length))] ?? 0;
    return { t, rps: b.length, p50: round(at(0.5)), p99: round(at(0.99)) };
  });
}

const round = (n: number) => Math.round(n * 100) / 100;

export interface TimelineChart {
  title: string;
  series: Array<{ name: string; points: Point[]; reference?: boolean }>;
  /** Vertical lines at these seconds (stage boundaries). */
  stages?: Array<{ at: number; label: string }>;
}

export interface BarGroup {
  title: string;
  unit: string;
  items: Array<{ name: string; value: number; reference?: boolean }>;
}

export interface ReportSpec {
  title: string;
  /** The command that produced it, with its settings. */
  command: string;
  notes?: string[];
  timelines?: TimelineChart[];
  bars?: BarGroup[];
  /** Invariants and targets: each shown as passed or failed. */
  checks?: Array<{ name: string; ok: boolean; detail?: string }>;
  table?: { columns: string[]; rows: Array<Array<string | number>> };
}

export const REPORTS_DIR = join(ROOT, 'bench', 'reports');

/** Writes bench/reports/<name>.html (and .png when Chromium is there); returns their paths. */
export function writeReport(name: string, spec: ReportSpec): { html: string; png: string | null } {
  mkdirSync(REPORTS_DIR, { recursive: true });
  const html = join(REPORTS_DIR, `${name}.html`);
  writeFileSync(html, renderHtml(spec));
  const png = screenshot(html, join(REPORTS_DIR, `${name}.png`), pageHeight(spec));
  console.log(`report: ${html}${png ? ` · ${png}` : ' (no PNG: chromium is not installed)'}`);
  return { html, png };
}

const UPLOT_DIR = join(ROOT, 'node_modules', 'uplot', 'dist');
const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
/** JSON inside <script>: `</script>` in a string must not end the element. */
const inlineJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

export function renderHtml(spec: ReportSpec): string {
  const js = readFileSync(join(UPLOT_DIR, 'uPlot.iife.min.js'), 'utf8');
  const css = readFileSync(join(UPLOT_DIR, 'uPlot.min.css'), 'utf8');
  const checks = (spec.checks ?? [])
    .map(
      (c) =>
        `<li class="${c.ok ? 'ok' : 'fail'}"><b>${c.ok ? 'PASS' : 'FAIL'}</b> ${esc(c.name)}${c.detail ? ` — ${esc(c.detail)}` : ''}</li>`,
    )
    .join('');
  const bars = (spec.bars ?? [])
    .map((g) => {
      const max = Math.max(...g.items.map((i) => i.value), 1e-9);
      const rows = g.items
        .map(
          (i) =>
            `<tr class="${i.reference ? 'ref' : ''}"><td>${esc(i.name)}</td><td class="bar"><span style="width:${((i.value / max) * 100).toFixed(1)}%"></span></td><td class="num">${i.value.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${esc(g.unit)}</td></tr>`,
        )
        .join('');
      return `<h2>${esc(g.title)}</h2><table class="bars">${rows}</table>`;
    })
    .join('');
  const table = spec.table
    ? `<h2>Figures</h2><table class="figures"><tr>${spec.table.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>${spec.table.rows
        .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
        .join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(spec.title)}</title>
<style>${css}
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1150px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}code{background:#f3f3f3;padding:1px 4px}
ul.checks{list-style:none;padding:0}ul.checks li{margin:2px 0}li.ok b{color:#17803d}li.fail b{color:#c0262d}
table.bars{border-collapse:collapse;width:100%}table.bars td{padding:2px 6px}table.bars td.bar{width:55%}
table.bars td.bar span{display:block;height:14px;background:#2f6fb3}table.bars tr.ref td.bar span{background:#9a9a9a}
td.num{text-align:right;white-space:nowrap}table.figures{border-collapse:collapse;font-size:12px}
table.figures td,table.figures th{border:1px solid #ddd;padding:3px 6px;text-align:right}
table.figures td:first-child,table.figures th:first-child{text-align:left}.chart{margin:8px 0 16px}
</style></head><body>
<h1>${esc(spec.title)}</h1>
<p><code>${esc(spec.command)}</code> · ${esc(new Date().toISOString())}</p>
${(spec.notes ?? []).map((n) => `<p>${esc(n)}</p>`).join('')}
${checks ? `<h2>Checks</h2><ul class="checks">${checks}</ul>` : ''}
<div id="charts"></div>
${bars}${table}
<script>${js}</script>
<script>const TIMELINES = ${inlineJson(spec.timelines ?? [])};
${CLIENT}</script>
</body></html>
`;
}

/**
 * In the page: two uPlot charts per timeline (throughput; p50 and p99), the
 * reference dashed and grey on the same axes, stage boundaries as labelled
 * lines. Once drawn, each canvas is searched for its measured series' colours, and
 * <body data-charts-expected data-charts-drawn> says how many really drew.
 */
const CLIENT = `
const PALETTE = ['#2f6fb3', '#d9622b', '#3a9a4b', '#8e44ad', '#c0262d', '#16a2b8'];
const REF = '#8a8a8a';
const root = document.getElementById('charts');
const plots = [];
function stagesPlugin(stages) {
  return { hooks: { draw: [(u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = '#b08900'; ctx.fillStyle = '#7a5f00'; ctx.setLineDash([4, 4]);
    ctx.font = (11 * devicePixelRatio) + 'px sans-serif';
    for (const s of stages) {
      const x = u.valToPos(s.at, 'x', true);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
      ctx.fillText(s.label, x + 3, u.bbox.top + 12 * devicePixelRatio);
    }
    ctx.restore();
  }] } };
}
function chart(title, tl, fields) {
  const xs = [...new Set(tl.series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  const data = [xs];
  const series = [{ label: 's' }];
  let colour = 0;
  for (const s of tl.series) {
    const byT = new Map(s.points.map((p) => [p.t, p]));
    for (const f of fields) {
      data.push(xs.map((t) => (byT.has(t) ? byT.get(t)[f.key] : null)));
      const stroke = s.reference ? REF : PALETTE[colour % PALETTE.length];
      series.push({ label: s.name + (fields.length > 1 ? ' ' + f.label : ''), stroke, width: f.width,
        dash: s.reference ? [6, 4] : f.dash, spanGaps: false, points: { show: false } });
    }
    if (!s.reference) colour++;
  }
  const el = document.createElement('div');
  el.className = 'chart';
  root.appendChild(el);
  const u = new uPlot({ title, width: 1100, height: 280, series, scales: { x: { time: false } },
    axes: [{ label: 'seconds into the run' }, { label: fields[0].unit }],
    plugins: tl.stages && tl.stages.length ? [stagesPlugin(tl.stages)] : [] }, data, el);
  // What must show: each measured series that has data (a reference may lie under one of them).
  plots.push({ u, colours: series.slice(1).filter((s, i) => s.stroke !== REF && data[i + 1].some((v) => v !== null)).map((s) => s.stroke) });
}
for (const tl of TIMELINES) {
  const h = document.createElement('h2');
  h.textContent = tl.title;
  root.appendChild(h);
  chart(tl.title + ': throughput', tl, [{ key: 'rps', label: 'req/s', unit: 'requests/s', width: 2 }]);
  chart(tl.title + ': latency', tl, [
    { key: 'p99', label: 'p99', unit: 'ms', width: 2 },
    { key: 'p50', label: 'p50', unit: 'ms', width: 1, dash: [2, 2] },
  ]);
}
function rgb(hex) { const n = parseInt(hex.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255]; }
function drew(p) {
  const c = p.u.ctx.canvas;
  const px = p.u.ctx.getImageData(0, 0, c.width, c.height).data;
  return p.colours.every((hex) => {
    const [r, g, b] = rgb(hex);
    let hits = 0;
    for (let i = 0; i < px.length; i += 4)
      if (Math.abs(px[i] - r) < 8 && Math.abs(px[i + 1] - g) < 8 && Math.abs(px[i + 2] - b) < 8 && px[i + 3] > 200) hits++;
    return hits >= 20;
  });
}
document.body.dataset.chartsExpected = String(plots.length);
requestAnimationFrame(() => setTimeout(() => {
  document.body.dataset.chartsDrawn = String(plots.filter((p) => p.colours.length > 0 && drew(p)).length);
}, 0));
`;

/** Headless Chromium (Debian's package) as the issue and CI run it. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumPath(): string | null {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  return null;
}

/** Runs Chromium on a file with a private profile; returns its stdout. */
export function runChromium(args: string[], file: string): { ok: boolean; stdout: string; stderr: string } {
  const chromium = chromiumPath();
  if (!chromium) return { ok: false, stdout: '', stderr: 'chromium not installed' };
  const profile = mkdtempSync(join(tmpdir(), 'armazem-chromium-'));
  try {
    const r = spawnSync(
      chromium,
      [
        ...CHROMIUM_FLAGS,
        `--user-data-dir=${profile}`,
        '--virtual-time-budget=5000',
        ...args,
        `file://${file}`,
      ],
      { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const pageHeight = (spec: ReportSpec) =>
  300 +
  (spec.notes?.length ?? 0) * 40 +
  (spec.checks?.length ?? 0) * 24 +
  (spec.timelines ?? []).reduce((n, t) => n + 700 + t.series.length * 48, 0) +
  (spec.bars ?? []).reduce((n, g) => n + 70 + g.items.length * 26, 0) +
  (spec.table ? 80 + spec.table.rows.length * 26 : 0);

function screenshot(html: string, png: string, height: number): string | null {
  const r = runChromium([`--screenshot=${png}`, `--window-size=1200,${height}`, '--hide-scrollbars'], html);
  return r.ok && existsSync(png) ? png : null;
}
