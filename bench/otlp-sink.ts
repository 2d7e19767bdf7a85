import { createServer } from 'node:http';

// An OTLP/HTTP endpoint that accepts and discards, for measuring what tracing costs the sender.
createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
}).listen(Number(process.env.PORT ?? 4318), '127.0.0.1');
