import type { TestApp } from './app.ts';

/** How many observations a histogram holds, summed over apps (a batcher's statements, say). */
export async function histogramCount(apps: TestApp[], name: string): Promise<number> {
  let n = 0;
  for (const t of apps) {
    const metric = await t.deps.metrics.registry.getSingleMetric(name)?.get();
    const values = (metric?.values ?? []) as Array<{ metricName?: string; value: number }>;
    n += values.find((v) => v.metricName === `${name}_count`)?.value ?? 0;
  }
  return n;
}
