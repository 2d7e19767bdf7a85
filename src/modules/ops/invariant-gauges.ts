import type { Metrics } from '../../platform/metrics.ts';
import type { CreditRepository } from '../credit/credit.repository.ts';
import type { OrderRepository } from '../orders/orders.repository.ts';

/**
 * The two invariants as gauges that must read 0 (alerted on in
 * ops/prometheus/alerts.yml). Each scrape runs the whole check, so only the
 * process that runs the workers registers them: one query per scrape, not
 * one per API instance.
 */
export function registerInvariantGauges(deps: {
  metrics: Metrics;
  orders: OrderRepository;
  credit: CreditRepository;
}): void {
  deps.metrics.gauge(
    'stock_invariant_mismatches',
    'Products whose received stock differs from stock + what reserved and paid orders hold (must be 0)',
    [],
    async () => [{ value: (await deps.orders.stockCheck()).mismatches.length }],
  );
  deps.metrics.gauge(
    'credit_invariant_mismatches',
    'Credit accounts whose balance differs from their transactions, is below -limit, or breaks the chain (must be 0)',
    [],
    async () => [{ value: (await deps.credit.check()).mismatches.length }],
  );
}
