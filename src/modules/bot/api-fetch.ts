import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What grammY's client passes to its `fetch` (its base config, the signal, and a JSON payload). */
interface BotApiInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal | null;
  agent?: HttpAgent | HttpsAgent;
}

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

const aborted = (signal: AbortSignal): unknown =>
  signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

/**
 * The Bot API client's transport: node:http(s) on keep-alive sockets, for
 * grammY's `client.fetch`. grammY reads only `.json()` of what fetch returns,
 * and every call the bot makes is a JSON POST; node-fetch (grammY's default)
 * wraps each one in WHATWG Request, Headers and body streams, which cost the
 * bot twice the CPU and GC work of the call itself (docs/decisions.md). A
 * body that is not a string (a multipart upload, which the bot never makes)
 * goes to the global fetch.
 */
export const botApiFetch = ((url: string | URL, init: BotApiInit = {}) => {
  if (typeof init.body !== 'string') return fetch(url, init as RequestInit);
  const body = init.body;
  const { signal } = init;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal));
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(
      target,
      {
        method: init.method ?? 'POST',
        agent: init.agent ?? (secure ? agents.https : agents.http),
        headers: { ...init.headers, 'content-length': Buffer.byteLength(body) },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        });
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            json: async () => JSON.parse(text),
            text: async () => text,
          });
        });
      },
    );
    const onAbort = () => {
      const reason = aborted(signal as AbortSignal);
      req.destroy(reason as Error);
      reject(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    req.end(body);
  });
}) as unknown as typeof fetch;
