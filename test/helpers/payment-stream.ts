import { randomUUID } from 'node:crypto';

export interface Sent {
  id: string;
  /** The HTTP status; 0 when no answer came (refused, cut, or over the client's timeout). */
  status: number;
  ms: number;
  /** No answer within the client's timeout: the request hung. */
  timedOut: boolean;
}

/**
 * A stream of payments as the contest's virtual users send them: `lanes`
 * clients, each posting `{correlationId, amount}` and pausing `pauseMs`,
 * round-robin over `bases` (instances, or a balancer), for `ms`. Each request
 * gives up after `timeoutMs`, as a client would.
 */
export async function streamPayments(opts: {
  bases: () => string[];
  ms: number;
  lanes?: number;
  pauseMs?: number;
  amount?: number;
  timeoutMs?: number;
}): Promise<Sent[]> {
  const { ms, lanes = 4, pauseMs = 20, amount = 19.9, timeoutMs = 5000 } = opts;
  const sent: Sent[] = [];
  const until = Date.now() + ms;
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (Date.now() < until) {
        const bases = opts.bases();
        const base = bases[next++ % bases.length];
        const id = randomUUID();
        const started = performance.now();
        const status = await fetch(`${base}/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ correlationId: id, amount }),
          signal: AbortSignal.timeout(timeoutMs),
        }).then(
          async (r) => {
            await r.arrayBuffer();
            return r.status;
          },
          (err: Error) => (err.name === 'TimeoutError' ? -1 : 0),
        );
        sent.push({
          id,
          status: Math.max(status, 0),
          ms: performance.now() - started,
          timedOut: status === -1,
        });
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    }),
  );
  return sent;
}

/** The stream's tally: what was accepted (2xx), what was refused, whether anything hung. */
export function tally(sent: Sent[]) {
  const accepted = sent.filter((s) => s.status >= 200 && s.status < 300);
  return {
    sent: sent.length,
    accepted: accepted.map((s) => s.id),
    refused: sent.length - accepted.length,
    statuses: [...new Set(sent.map((s) => s.status))].sort(),
    hung: sent.filter((s) => s.timedOut).length,
    slowestMs: Math.round(Math.max(0, ...sent.map((s) => s.ms))),
  };
}
