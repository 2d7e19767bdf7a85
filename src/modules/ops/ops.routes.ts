import { Type } from 'typebox';
import type { Config } from '../../config.ts';
import type { AppInstance } from '../../http/app-instance.ts';
import { ProblemResponses } from '../../http/problem-schema.ts';
import type { Database } from '../../platform/database.ts';
import type { KeyValueStore } from '../../platform/kv.ts';
import type { Metrics } from '../../platform/metrics.ts';
import type { CatalogCache } from '../catalog/catalog.cache.ts';
import type { CatalogRepository } from '../catalog/catalog.repository.ts';
import { type Lifecycle, readinessCheck, withTimeout } from './readiness.ts';

export interface OpsDeps {
  metrics: Metrics;
  config: Config;
  version: string;
  db: Database;
  kv: KeyValueStore;
  catalog: { repository: CatalogRepository; cache: CatalogCache };
  lifecycle: Lifecycle;
}

/** Health checks must answer even when a dependency hangs. */
const PROBE_TIMEOUT_MS = 1000;

interface Probe {
  up: boolean;
  latencyMs: number;
  error?: string;
}

async function probe(fn: () => Promise<unknown>): Promise<Probe> {
  const t0 = performance.now();
  try {
    await withTimeout(fn(), PROBE_TIMEOUT_MS);
    return { up: true, latencyMs: round(performance.now() - t0) };
  } catch (err) {
    return { up: false, latencyMs: round(performance.now() - t0), error: (err as Error).message };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

const DependencyStatus = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  description: Type.String(),
  version: Type.Union([Type.String(), Type.Null()]),
  latencyMs: Type.Number(),
  error: Type.Optional(Type.String()),
  details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
});

const ReadinessBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready'), Type.Literal('draining')]),
  database: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  migrations: Type.Union([Type.Literal('applied'), Type.Literal('pending'), Type.Literal('unknown')]),
});

const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  database: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  cache: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]),
  timestamp: Type.String({ format: 'date-time' }),
});

export function opsRoutes(app: AppInstance, deps: OpsDeps): void {
  const { config, db, kv, catalog } = deps;
  const startedAt = Date.now();

  const checkDatabase = () => probe(() => db.pool.query('SELECT 1'));
  const checkCache = () =>
    probe(() => (kv.available() ? kv.ping() : Promise.reject(new Error('not connected'))));

  app.get(
    '/',
    {
      schema: {
        tags: ['operations'],
        summary: 'API information',
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.String(),
            description: Type.String(),
            instance: Type.String(),
            links: Type.Record(Type.String(), Type.String()),
          }),
        },
      },
    },
    async () => ({
      name: 'armazem',
      version: deps.version,
      description: 'Commerce backend: catalog, customers, orders, payments, store credit.',
      instance: config.INSTANCE_ID,
      links: {
        products: '/products',
        health: '/health',
        livez: '/livez',
        readyz: '/readyz',
        services: '/services',
        stats: '/stats',
        ping: '/ping',
        openapi: '/openapi.json',
        docs: '/docs',
      },
    }),
  );

  app.get(
    '/health',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Liveness and readiness: 200 when healthy or degraded, 503 when the database is unreachable',
        response: { 200: HealthBody, 503: HealthBody },
      },
    },
    async (_request, reply) => {
      const [database, cache] = await Promise.all([checkDatabase(), checkCache()]);
      const cacheState = !catalog.cache.enabled ? 'disabled' : cache.up ? 'up' : 'down';
      const status = !database.up ? 'unhealthy' : cacheState === 'down' ? 'degraded' : 'healthy';
      return reply.code(database.up ? 200 : 503).send({
        status,
        database: database.up ? 'up' : 'down',
        cache: cacheState,
        timestamp: new Date().toISOString(),
      });
    },
  );

  // For orchestrators: liveness never looks at dependencies (a database
  // outage must not restart every process); readiness does.
  app.get(
    '/livez',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Liveness: 200 while the process serves requests',
        response: { 200: Type.Object({ status: Type.Literal('live') }) },
      },
    },
    async () => ({ status: 'live' as const }),
  );

  const readiness = readinessCheck(db.pool, deps.lifecycle);
  app.addHook('preClose', async () => {
    deps.lifecycle.draining = true;
  });
  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary:
          'Readiness: 200 when the database answers with every migration applied and the process is not stopping',
        response: { 200: ReadinessBody, 503: ReadinessBody },
      },
    },
    async (_request, reply) => {
      const state = await readiness();
      return reply.code(state.status === 'ready' ? 200 : 503).send(state);
    },
  );

  app.get(
    '/services',
    {
      schema: {
        tags: ['operations'],
        summary: 'Detailed status of each dependency',
        response: { 200: Type.Object({ instance: Type.String(), services: Type.Array(DependencyStatus) }) },
      },
    },
    async () => {
      const [database, cache] = await Promise.all([checkDatabase(), checkCache()]);
      const dbVersion = database.up
        ? await withTimeout(
            db.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v"),
            PROBE_TIMEOUT_MS,
          )
            .then((r) => r.rows[0]?.v ?? null)
            .catch(() => null)
        : null;
      const kvDetails = cache.up ? await withTimeout(kv.details(), PROBE_TIMEOUT_MS).catch(() => ({})) : {};
      const { version: kvVersion, ...kvRest } = kvDetails as Record<string, string | number>;
      return {
        instance: config.INSTANCE_ID,
        services: [
          {
            name: 'database',
            kind: db.kind,
            status: database.up ? ('up' as const) : ('down' as const),
            description: db.description,
            version: dbVersion,
            latencyMs: database.latencyMs,
            ...(database.error ? { error: database.error } : {}),
            details: {
              poolTotal: db.pool.totalCount,
              poolIdle: db.pool.idleCount,
              poolWaiting: db.pool.waitingCount,
              poolMax: db.pool.options.max ?? 0,
            },
          },
          {
            name: 'cache',
            kind: kv.kind,
            status: cache.up ? ('up' as const) : ('down' as const),
            description: kv.description,
            version: kvVersion === undefined ? null : String(kvVersion),
            latencyMs: cache.latencyMs,
            ...(cache.error ? { error: cache.error } : {}),
            details: kvRest,
          },
        ],
      };
    },
  );

  app.get(
    '/stats',
    {
      schema: {
        tags: ['operations'],
        summary: 'Cache and database figures',
        response: {
          200: Type.Object({
            cache: Type.Object({
              enabled: Type.Boolean(),
              available: Type.Boolean(),
              ttlSeconds: Type.Integer(),
              hits: Type.Union([Type.Integer(), Type.Null()]),
              misses: Type.Union([Type.Integer(), Type.Null()]),
              hitRatio: Type.Union([Type.Number(), Type.Null()]),
              near: Type.Union(
                [
                  Type.Object({
                    entries: Type.Integer(),
                    bytes: Type.Integer(),
                    live: Type.Boolean({
                      description: 'served: Redis reports every change to this instance',
                    }),
                  }),
                  Type.Null(),
                ],
                {
                  description:
                    "this instance's own copies in front of Redis; null when off, or before its first catalog read",
                },
              ),
            }),
            database: Type.Object({
              products: Type.Integer(),
              poolTotal: Type.Integer(),
              poolIdle: Type.Integer(),
              poolWaiting: Type.Integer(),
            }),
          }),
          ...ProblemResponses,
        },
      },
    },
    async () => {
      const cacheStats = await catalog.cache
        .stats()
        .catch(() => ({ hits: null, misses: null, hitRatio: null }));
      return {
        cache: {
          enabled: catalog.cache.enabled,
          available: catalog.cache.available(),
          ttlSeconds: config.CACHE_TTL_SECONDS,
          ...cacheStats,
          near: catalog.cache.nearStats(),
        },
        database: {
          products: await catalog.repository.count(),
          poolTotal: db.pool.totalCount,
          poolIdle: db.pool.idleCount,
          poolWaiting: db.pool.waitingCount,
        },
      };
    },
  );

  app.get(
    '/metrics',
    { logLevel: 'warn', schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: false } },
    async (_request, reply) =>
      reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get(
    '/ping',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Which instance answered',
        response: {
          200: Type.Object({
            instance: Type.String(),
            pid: Type.Integer(),
            uptime: Type.Number({ description: 'seconds' }),
          }),
        },
      },
    },
    async () => ({
      instance: config.INSTANCE_ID,
      pid: process.pid,
      uptime: round((Date.now() - startedAt) / 1000),
    }),
  );
}
