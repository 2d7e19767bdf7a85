import http from 'node:http';

// The reference: the least a Node HTTP server can do for a JSON response.
const body = JSON.stringify({ id: 1, name: 'reference', price: '19.90', stock: 10, category: 'bench' });
http
  .createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  })
  .listen(Number(process.env.PORT ?? 3999), '127.0.0.1');
