import type { Lane } from '../../http/hot-reads.ts';
import { jsonPostLane } from '../../http/lanes.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PaymentRepository } from './payments.repository.ts';
import { acceptPayment, PaymentInput } from './payments.routes.ts';

/**
 * `POST /payments` (the Rinha de Backend 2025 accept) in the server's
 * listener (http/lanes.ts), with the route's own schema and acceptPayment;
 * anything else, and any body the schema refuses, is answered by the route.
 */
export function paymentLanes(payments: PaymentRepository, log: Logger): Lane[] {
  return [
    jsonPostLane<true, PaymentInput>({
      route: '/payments',
      params: (url) => (url === '/payments' ? true : undefined),
      body: PaymentInput,
      log,
      handle: async (_, input) => {
        await acceptPayment(payments, input);
        return { status: 202, contentType: 'text/plain; charset=utf-8', body: '' };
      },
    }),
  ];
}
