import type { IncomingMessage } from 'node:http';

/** The request headers the listener's reads and lanes look at (http/hot-reads.ts). */
export interface ListenerHeaders {
  contentType?: string;
  contentLength?: string;
  transferEncoding?: string;
  requestId?: string;
}

/**
 * Those headers from `rawHeaders`, in one pass. `req.headers` builds an
 * object of every header the first time it is read, which a request the
 * listener answers never needs (docs/decisions.md). Duplicates as Node
 * treats them: the first content-type and content-length count, and
 * repeated x-request-id or transfer-encoding values are joined.
 */
export function listenerHeaders(req: IncomingMessage): ListenerHeaders {
  const raw = req.rawHeaders;
  const h: ListenerHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    // Lower-cased only when the length could match: most headers are skipped on their length.
    switch (name.length) {
      case 12: {
        const lower = name.toLowerCase();
        if (lower === 'content-type') h.contentType ??= value;
        else if (lower === 'x-request-id')
          h.requestId = h.requestId === undefined ? value : `${h.requestId}, ${value}`;
        break;
      }
      case 14:
        if (name.toLowerCase() === 'content-length') h.contentLength ??= value;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding')
          h.transferEncoding = h.transferEncoding === undefined ? value : `${h.transferEncoding}, ${value}`;
        break;
    }
  }
  return h;
}
