// Serves a fixed 200 "ok" through the engine (or, with --raw, through a bare net server that
// writes a fixed response) so wrk can compare the two: node bench/engine_return200.ts [--raw] [port]

import net from 'node:net';
import { Connection } from '../src/http/engine/connection.ts';
import type { ConnectionInfo, EngineLimits, RequestHandler } from '../src/http/engine/types.ts';

const raw = process.argv.includes('--raw');
const port = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 8080);

const limits: EngineLimits = {
  clientHeaderTimeout: 60_000,
  clientBodyTimeout: 60_000,
  keepaliveTimeout: 75_000,
  keepaliveRequests: 1000,
  clientHeaderBufferSize: 1024,
  largeHeaderBuffers: 4,
  largeHeaderBufferSize: 8192,
  lingeringTimeout: 5000,
};

const headers = ['Server', 'nginx', 'Content-Type', 'text/plain'];
const handler: RequestHandler = {
  request: (_req, _body, res) => res.send(200, headers, 'ok'),
  badRequest: (status, _reason, res) => res.send(status === 494 ? 400 : status, headers, 'bad'),
};

const fixed = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n' +
    'Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok',
);

let serial = 0;
const server = net.createServer((socket) => {
  if (raw) {
    socket.on('data', (chunk) => {
      let n = 0;
      for (let i = chunk.indexOf('\r\n\r\n'); i >= 0; i = chunk.indexOf('\r\n\r\n', i + 4)) n++;
      for (let i = 0; i < n; i++) socket.write(fixed);
    });
    socket.on('error', () => socket.destroy());
    return;
  }
  const info: ConnectionInfo = {
    id: ++serial,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    tls: false,
    servername: undefined,
    requests: 0,
  };
  new Connection(socket, limits, handler, info);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on 127.0.0.1:${port} (${raw ? 'raw net' : 'engine'})\n`);
});
