import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerInvariantGauges } from '../../src/modules/ops/invariant-gauges.ts';
import { createOrderWorker } from '../../src/modules/orders/create-worker.ts';
import { createPaymentWorker } from '../../src/modules/payments/create-worker.ts';
import { useTestApp } from '../helpers/app.ts';
import { ROOT } from '../helpers/process.ts';

/**
 * The monitoring kit (ops/): alert rules checked and unit-tested by
 * promtool (Debian's prometheus package), the scrape config checked by it,
 * and every metric the rules and the dashboard name found in a real scrape
 * of armazem with its workers.
 */
const ops = (...p: string[]) => join(ROOT, 'ops', ...p);
const promtool = (...args: string[]) =>
  spawnSync('promtool', args, { cwd: ops('prometheus'), encoding: 'utf8', timeout: 60_000 });

const rules = parse(readFileSync(ops('prometheus/alerts.yml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};
const dashboard = JSON.parse(readFileSync(ops('grafana/dashboards/armazem.json'), 'utf8')) as {
  uid: string;
  panels: Array<{
    type: string;
    title: string;
    datasource?: { uid: string };
    targets?: Array<{ expr: string }>;
  }>;
};

const PROMQL_WORDS = new Set(
  'sum max min avg count rate irate increase histogram_quantile by without on ignoring and or unless bool offset'.split(
    ' ',
  ),
);
/** The metric names an expression reads: what is left once labels, ranges, strings and PromQL words are gone. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/\b[a-z_][a-z0-9_]*\b/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w));
}

const ctx = useTestApp();

describe('alert rules (promtool)', () => {
  it('pass `promtool check rules`', () => {
    const r = promtool('check', 'rules', 'alerts.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 7 rules found/);
  });

  it('pass their unit tests: each alert fires on its series and stays silent below its threshold', () => {
    const r = promtool('test', 'rules', 'alerts.test.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
    const tested = new Set(
      [...readFileSync(ops('prometheus/alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map(
        (m) => m[1],
      ),
    );
    for (const { alert } of rules.groups.flatMap((g) => g.rules)) expect(tested, alert).toContain(alert);
  });

  it('cover what operators must hear about: instance down, payment queue age, circuit open, 5xx ratio, stock and credit invariants', () => {
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(
      expect.arrayContaining([
        'ArmazemInstanceDown',
        'ArmazemPaymentQueueStuck',
        'ArmazemCircuitOpen',
        'ArmazemHigh5xxRatio',
        'ArmazemStockInvariantBroken',
        'ArmazemCreditInvariantBroken',
      ]),
    );
  });

  it('the Prometheus config passes `promtool check config` and loads the rules', () => {
    const r = promtool('check', 'config', 'prometheus.yml');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 7 rules found/);
  });
});

describe('metrics named by the rules and the dashboard', () => {
  it('all exist in a real scrape of armazem with its order and payment workers', async () => {
    createOrderWorker(ctx.t.deps);
    createPaymentWorker(ctx.t.deps);
    registerInvariantGauges(ctx.t.deps);
    await ctx.t.app.inject({ method: 'GET', url: '/products' });
    const text = await ctx.t.deps.metrics.registry.metrics();
    const exposed = new Set(['up']);
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exposed.add(name as string);
      if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exposed.add(`${name}${s}`);
    }
    const exprs = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ];
    const used = new Set(exprs.flatMap(metricsIn));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exposed, `${name} is not exposed`).toContain(name);
  });
});

describe('Grafana dashboard (provisioned)', () => {
  it('covers requests, errors, latency, cache, queues, processors and circuits, the pool and the event loop', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of [
      'http_request_duration_seconds_count',
      'http_request_duration_seconds_bucket',
      'catalog_cache_requests_total',
      'order_queue_depth',
      'payment_queue_oldest_age_seconds',
      'payments_processor_calls_total',
      'payment_circuit_state',
      'db_pool_connections',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(exprs).toContain(m);
  });

  it('reads the provisioned datasource, and the provisioning points at the folder compose mounts', () => {
    const datasources = parse(readFileSync(ops('grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    const uid = datasources.datasources[0].uid;
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    const providers = parse(readFileSync(ops('grafana/provisioning/dashboards/armazem.yml'), 'utf8'));
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    const grafana = compose.services.grafana;
    expect(grafana.profiles).toEqual(['monitoring']);
    expect(grafana.volumes).toContain(`./ops/grafana/dashboards:${providers.providers[0].options.path}:ro`);
    expect(grafana.volumes).toContain('./ops/grafana/provisioning:/etc/grafana/provisioning:ro');
    const prometheus = compose.services.prometheus;
    expect(prometheus.volumes).toContain('./ops/prometheus:/etc/prometheus:ro');
    expect(datasources.datasources[0].url).toBe('http://prometheus:9090');
  });

  it("Prometheus scrapes the compose services' metrics ports: api, worker and bot", () => {
    const config = parse(readFileSync(ops('prometheus/prometheus.yml'), 'utf8'));
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    for (const job of config.scrape_configs) {
      for (const sd of job.dns_sd_configs) {
        for (const name of sd.names) {
          const service = compose.services[name];
          expect(service, name).toBeDefined();
          const port = String(sd.port);
          const servesThere =
            port === '3000' ||
            service.environment?.WORKER_METRICS_PORT === port ||
            service.environment?.BOT_METRICS_PORT === port;
          expect(servesThere, `${name}:${port}`).toBe(true);
          expect(service.networks).toContain('backend');
        }
      }
    }
  });
});
