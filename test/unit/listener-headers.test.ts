import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerHeaders } from '../../src/http/listener-headers.ts';

/**
 * The listener reads four headers from rawHeaders instead of req.headers:
 * for every request below, it must see what Node's own req.headers says.
 */
let server: http.Server;
let port: number;
const seen: Array<{ ours: ReturnType<typeof listenerHeaders>; node: IncomingMessage['headers'] }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    // Ours first: req.headers is built on its first read.
    const ours = listenerHeaders(req);
    seen.push({ ours, node: req.headers });
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

/** Sends one raw request (headers exactly as written) and waits for the answer. */
function raw(lines: string[], body = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`${lines.join('\r\n')}\r\nConnection: close\r\n\r\n${body}`),
    );
    socket.on('data', () => {});
    socket.on('end', resolve);
    socket.on('error', reject);
  });
}

describe('listenerHeaders', () => {
  it.each([
    [
      'plain POST',
      ['POST /x HTTP/1.1', 'Host: a', 'Content-Type: application/json', 'Content-Length: 2'],
      '{}',
    ],
    [
      'names in any case, with a request id',
      [
        'POST /x HTTP/1.1',
        'host: a',
        'CONTENT-TYPE: Application/JSON',
        'content-LENGTH: 2',
        'X-Request-ID: abc-1',
      ],
      '{}',
    ],
    [
      'a repeated content type: the first counts',
      [
        'POST /x HTTP/1.1',
        'Host: a',
        'Content-Type: text/plain',
        'Content-Type: application/json',
        'Content-Length: 0',
      ],
      '',
    ],
    [
      'a repeated request id: joined, as Node joins it',
      ['GET /x HTTP/1.1', 'Host: a', 'X-Request-Id: one', 'x-request-id: two'],
      '',
    ],
    [
      'chunked',
      ['POST /x HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Content-Type: application/json'],
      '0\r\n\r\n',
    ],
    ['a GET with none of them', ['GET /x HTTP/1.1', 'Host: a', 'Accept: */*', 'X-Requested-With: x'], ''],
  ])('%s: the same values as req.headers', async (_name, lines, body) => {
    seen.length = 0;
    await raw(lines, body);
    const [{ ours, node }] = seen as [(typeof seen)[number]];
    expect(ours).toEqual(
      Object.fromEntries(
        Object.entries({
          contentType: node['content-type'],
          contentLength: node['content-length'],
          transferEncoding: node['transfer-encoding'],
          requestId: node['x-request-id'],
        }).filter(([, v]) => v !== undefined),
      ),
    );
  });
});
