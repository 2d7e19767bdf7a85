import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.ts';
import { type K8sObject, kustomize } from '../helpers/kustomize.ts';
import { ROOT } from '../helpers/process.ts';

/**
 * deploy/kubernetes: a kustomize base and its overlays, rendered and each
 * object validated against the Kubernetes API's JSON schemas
 * (kubernetes-models, generated from the API's OpenAPI document), then
 * checked for what armazem needs of them.
 */
const K8S = join(ROOT, 'deploy/kubernetes');
const variants = ['base', 'overlays/staging', 'overlays/production'];

type Container = {
  name: string;
  image: string;
  args: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
};
type PodSpec = { containers: Container[] };
type Workload = K8sObject & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

async function validateAgainstSchema(o: K8sObject): Promise<void> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const module = await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`);
  new module[o.kind](o).validate();
}

const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
const env = (objects: K8sObject[]) => ({
  ...(find(objects, 'ConfigMap', 'armazem-config') as unknown as { data: Record<string, string> }).data,
  ...(find(objects, 'Secret', 'armazem-secrets') as unknown as { stringData: Record<string, string> })
    .stringData,
});
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(variants)('deploy/kubernetes/%s', (variant) => {
  const objects = kustomize(join(K8S, variant));

  it('renders, and every object is valid against the Kubernetes API schemas', async () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      expect.arrayContaining([
        'ConfigMap/armazem-config',
        'Deployment/armazem-api',
        'Deployment/armazem-bot',
        'Deployment/armazem-worker',
        'HorizontalPodAutoscaler/armazem-api',
        'Job/armazem-migrate',
        'PodDisruptionBudget/armazem-api',
        'Secret/armazem-secrets',
        'Service/armazem-api',
      ]),
    );
    for (const o of objects)
      await expect(validateAgainstSchema(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
  });

  it('configures armazem only with variables src/config.ts knows, and config.ts accepts them', () => {
    const vars = env(objects);
    for (const name of Object.keys(vars)) expect(CONFIG_VARIABLES, name).toContain(name);
    expect(() => loadConfig(vars)).not.toThrow();
    expect(vars.MIGRATE_ON_START).toBe('false');
  });

  it('probes the API on /livez and /readyz, the worker and the bot on their ops ports; every container has requests', () => {
    const vars = env(objects);
    const api = find(objects, 'Deployment', 'armazem-api') as Workload;
    const worker = find(objects, 'Deployment', 'armazem-worker') as Workload;
    const [apiC] = api.spec.template.spec.containers as [Container];
    const [workerC] = worker.spec.template.spec.containers as [Container];
    const portOf = (c: Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
    expect(apiC.livenessProbe?.httpGet.path).toBe('/livez');
    expect(apiC.readinessProbe?.httpGet.path).toBe('/readyz');
    expect(String(portOf(apiC, apiC.readinessProbe?.httpGet.port as string))).toBe(vars.PORT);
    expect(workerC.readinessProbe?.httpGet.path).toBe('/readyz');
    expect(String(portOf(workerC, workerC.readinessProbe?.httpGet.port as string))).toBe(
      vars.WORKER_METRICS_PORT,
    );
    const pods = objects.flatMap((o) =>
      o.kind === 'Deployment' || o.kind === 'Job' ? [(o as Workload).spec.template.spec] : [],
    );
    for (const c of pods.flatMap((p) => p.containers)) {
      expect(c.resources?.requests?.cpu, c.name).toBeDefined();
      expect(c.resources?.requests?.memory, c.name).toBeDefined();
      expect(c.resources?.limits?.memory, c.name).toBeDefined();
      // Each role's entry point exists (dist/entrypoints/x.js is built from src/entrypoints/x.ts).
      const entry = (c.args[0] as string).replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(join(ROOT, entry)), entry).toBe(true);
      expect(c.envFrom?.map((e) => e.configMapRef?.name ?? e.secretRef?.name)).toEqual([
        'armazem-config',
        'armazem-secrets',
      ]);
    }
    expect(
      (find(objects, 'Job', 'armazem-migrate') as Workload).spec.template.spec.containers[0]?.args,
    ).toEqual(['dist/entrypoints/migrate.js']);
  });

  it('points the Service, the HPA and the PDBs at the pods they are for', () => {
    const api = find(objects, 'Deployment', 'armazem-api') as Workload;
    const worker = find(objects, 'Deployment', 'armazem-worker') as Workload;
    const podLabels = api.spec.template.metadata.labels;
    expect(matches(api.spec.selector.matchLabels, podLabels)).toBe(true);
    const service = find(objects, 'Service', 'armazem-api') as unknown as {
      spec: { selector: Record<string, string> };
    };
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    expect(matches(service.spec.selector, worker.spec.template.metadata.labels)).toBe(false);
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'armazem-api') as unknown as {
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'armazem-api' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    for (const [name, pods] of [
      ['armazem-api', podLabels],
      ['armazem-worker', worker.spec.template.metadata.labels],
    ] as const) {
      const pdb = find(objects, 'PodDisruptionBudget', name) as unknown as {
        spec: { selector: { matchLabels: Record<string, string> } };
      };
      expect(matches(pdb.spec.selector.matchLabels, pods), name).toBe(true);
    }
  });
});

describe('overlays', () => {
  it('production: its namespace on every object, the released image everywhere, larger HPA bounds, base fields kept', () => {
    const objects = kustomize(join(K8S, 'overlays/production'));
    for (const o of objects) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('armazem');
    const images = objects.flatMap((o) =>
      o.kind === 'Deployment' || o.kind === 'Job'
        ? (o as Workload).spec.template.spec.containers.map((c) => c.image)
        : [],
    );
    expect(new Set(images)).toEqual(new Set(['registry.example.com/armazem:0.1.0']));
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'armazem-api') as unknown as {
      spec: { minReplicas: number; maxReplicas: number; metrics: unknown[] };
    };
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
    expect(hpa.spec.metrics).toHaveLength(1);
    expect((find(objects, 'Deployment', 'armazem-worker') as Workload).spec.replicas).toBe(2);
    expect(env(objects)).toMatchObject({
      DB_POOL_MAX: '20',
      NODE_ENV: 'production',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    });
  });
});
