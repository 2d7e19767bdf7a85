import http from 'node:http';

/**
 * bench:payments' second reference: the design of the Rinha de Backend 2025's
 * fastest entries, in bare node:http — accept into memory and answer at once,
 * forward to the default processor from an in-process queue, keep what it
 * confirmed in memory, and answer the summary from memory (its own part plus
 * its peer's, asked over HTTP). Nothing durable: a killed process loses its
 * queue and its part of the summary. Run two behind the same nginx.
 * Env: PORT, PEER (the other instance's base URL), PROCESSOR_URL (the default
 * processor), CONCURRENCY (calls in flight, 32).
 */
const PORT = Number(process.env.PORT ?? 3871);
const PEER = process.env.PEER ?? '';
const PROCESSOR = new URL(process.env.PROCESSOR_URL ?? 'http://127.0.0.1:8001');
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
/** A refused or unanswered payment goes back to the queue and is tried again after this. */
const RETRY_MS = 50;
const TIMEOUT_MS = 1500;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const peerAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Waiting to be sent: the raw JSON bodies as they came. */
const queue: Array<{ correlationId: string; amount: number }> = [];
/** Confirmed by the processor: requestedAt (ms) and amount in cents, in parallel arrays. */
const doneAt: number[] = [];
const doneCents: number[] = [];
let inFlight = 0;

function send(res: http.ServerResponse, status: number, body = ''): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => resolve(text));
  });
}

/** One call to the default; resolves with the status, or 0 when it failed or timed out. */
function call(body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: PROCESSOR.hostname,
        port: PROCESSOR.port,
        method: 'POST',
        path: '/payments',
        agent,
        timeout: TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function pump(): void {
  while (inFlight < CONCURRENCY && queue.length > 0) {
    const p = queue.shift() as { correlationId: string; amount: number };
    inFlight++;
    const requestedAt = Date.now();
    void call(
      `{"correlationId":"${p.correlationId}","amount":${p.amount},"requestedAt":"${new Date(requestedAt).toISOString()}"}`,
    ).then((status) => {
      inFlight--;
      if (status === 200 || status === 422) {
        doneAt.push(requestedAt);
        doneCents.push(Math.round(p.amount * 100));
      } else {
        setTimeout(() => {
          queue.push(p);
          pump();
        }, RETRY_MS);
      }
      pump();
    });
  }
}

function localSummary(from: number, to: number): { totalRequests: number; cents: number } {
  let totalRequests = 0;
  let cents = 0;
  for (let i = 0; i < doneAt.length; i++) {
    const at = doneAt[i] as number;
    if (at >= from && at <= to) {
      totalRequests++;
      cents += doneCents[i] as number;
    }
  }
  return { totalRequests, cents };
}

function peerGet(path: string, method = 'GET'): Promise<string> {
  if (!PEER) return Promise.resolve('');
  const url = new URL(path, PEER);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: url.pathname + url.search, agent: peerAgent },
      (res) => {
        void readBody(res).then(resolve);
      },
    );
    req.on('error', () => resolve(''));
    req.end();
  });
}

http
  .createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && url === '/payments') {
      void readBody(req).then((text) => {
        try {
          const p = JSON.parse(text) as { correlationId: string; amount: number };
          send(res, 202);
          queue.push(p);
          pump();
        } catch {
          send(res, 400);
        }
      });
      return;
    }
    const q = new URL(url, 'http://x');
    const from = q.searchParams.get('from') ? Date.parse(q.searchParams.get('from') as string) : -Infinity;
    const to = q.searchParams.get('to') ? Date.parse(q.searchParams.get('to') as string) : Infinity;
    if (q.pathname === '/internal/summary') {
      const s = localSummary(from, to);
      return send(res, 200, JSON.stringify(s));
    }
    if (q.pathname === '/payments-summary') {
      void peerGet(`/internal/summary${q.search}`).then((peerText) => {
        const mine = localSummary(from, to);
        const peer = peerText ? (JSON.parse(peerText) as typeof mine) : { totalRequests: 0, cents: 0 };
        send(
          res,
          200,
          JSON.stringify({
            default: {
              totalRequests: mine.totalRequests + peer.totalRequests,
              totalAmount: (mine.cents + peer.cents) / 100,
            },
            fallback: { totalRequests: 0, totalAmount: 0 },
          }),
        );
      });
      return;
    }
    if (req.method === 'POST' && (q.pathname === '/purge-payments' || q.pathname === '/internal/purge')) {
      queue.length = 0;
      doneAt.length = 0;
      doneCents.length = 0;
      if (q.pathname === '/purge-payments') void peerGet('/internal/purge', 'POST');
      return send(res, 200, '{}');
    }
    if (q.pathname === '/') return send(res, 200, '{}');
    send(res, 404);
  })
  .listen(PORT, '127.0.0.1');
