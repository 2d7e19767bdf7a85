import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Renders a kustomization the way `kubectl kustomize` does, for the fields
 * armazem's manifests use: resources (files and directories), namespace,
 * labels, images, replicas and strategic-merge patches (maps merged, lists
 * of named items merged by name). The kustomize binary is not installable
 * here (only npm and Debian), so a field outside this list fails the render
 * instead of being ignored.
 */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'images',
  'replicas',
  'patches',
]);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume']);

const readYaml = (file: string) =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean) as K8sObject[];

export function kustomize(dir: string): K8sObject[] {
  const k = readYaml(join(dir, 'kustomization.yaml'))[0] as unknown as Record<string, unknown> & {
    resources?: string[];
    namespace?: string;
    labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean }>;
    images?: Array<{ name: string; newName?: string; newTag?: string }>;
    replicas?: Array<{ name: string; count: number }>;
    patches?: Array<{ path: string }>;
  };
  for (const key of Object.keys(k))
    if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field ${key} is not rendered here`);
  let objects: K8sObject[] = (k.resources ?? []).flatMap((r) => {
    const path = join(dir, r);
    return statSync(path).isDirectory() ? kustomize(path) : readYaml(path);
  });
  for (const { path } of k.patches ?? []) {
    for (const patch of readYaml(join(dir, path))) {
      const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (!target) throw new Error(`${dir}/${path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects = objects.map((o) => (o === target ? (merge(o, patch) as K8sObject) : o));
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const target = objects.find((o) => o.metadata.name === name && 'spec' in o);
    if (!target) throw new Error(`${dir}: no workload ${name} for replicas`);
    (target.spec as { replicas: number }).replicas = count;
  }
  for (const image of k.images ?? []) for (const o of objects) retag(o, image);
  for (const { pairs } of k.labels ?? [])
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...pairs };
  if (k.namespace)
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  return objects;
}

function merge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const named = (xs: unknown[]) => xs.every((x) => typeof x === 'object' && x !== null && 'name' in x);
    if (!named(base) || !named(patch)) return patch;
    const out = [...base] as Array<{ name: string }>;
    for (const p of patch as Array<{ name: string }>) {
      const i = out.findIndex((b) => b.name === p.name);
      if (i >= 0) out[i] = merge(out[i], p) as { name: string };
      else out.push(p);
    }
    return out;
  }
  if (isMap(base) && isMap(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch))
      out[key] = key in base ? merge(base[key], value) : value;
    return out;
  }
  return patch;
}

const isMap = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** images: every container whose image is `name` (with or without a tag) gets the new name and tag. */
function retag(node: unknown, image: { name: string; newName?: string; newTag?: string }): void {
  if (Array.isArray(node)) {
    for (const n of node) retag(n, image);
    return;
  }
  if (!isMap(node)) return;
  if (typeof node.image === 'string' && 'name' in node) {
    const [name, tag] = node.image.split(':') as [string, string | undefined];
    if (name === image.name)
      node.image = `${image.newName ?? name}${(image.newTag ?? tag) ? `:${image.newTag ?? tag}` : ''}`;
  }
  for (const value of Object.values(node)) retag(value, image);
}
