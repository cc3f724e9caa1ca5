// Graceful shutdown (SIGQUIT, `-s quit`) as nginx does it: listeners close, idle keep-alive
// connections close at once, a request in progress gets its whole response, then the process exits.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { type Backend, httpBackend } from '../helpers/backend.ts';
import { type Instance, startZonesync } from '../helpers/instance.ts';

let slow: Backend | undefined;
after(async () => {
  await slow?.close();
});

async function start(): Promise<Instance> {
  slow ??= await httpBackend('slow', (_req, res) => {
    setTimeout(() => res.end('slow-ok'), 400);
  });
  return startZonesync({
    conf: `
events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    location /slow { proxy_pass http://127.0.0.1:${slow.port}; }
    location / { return 200 "fast"; }
  }
}`,
  });
}

/** Connects and sends `request`; resolves with all bytes read once the server closes. */
function readUntilClose(port: number, request: string): { sent: Promise<void>; closed: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  socket.on('data', (d) => {
    data += d.toString('latin1');
  });
  const sent = new Promise<void>((resolve) =>
    socket.on('connect', () => socket.write(request, () => resolve())),
  );
  const closed = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
  return { sent, closed };
}

const exited = (z: Instance) =>
  new Promise<number | null>((resolve) => {
    if (z.proc.exitCode !== null) resolve(z.proc.exitCode);
    else z.proc.on('exit', (code) => resolve(code));
  });

test('SIGQUIT: a request in progress gets its whole response, then the process exits', async () => {
  const z = await start();
  const exit = exited(z);
  const inFlight = readUntilClose(z.port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
  await inFlight.sent;
  await new Promise((r) => setTimeout(r, 100));
  z.signal('SIGQUIT');
  const response = await inFlight.closed;
  assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(response, /\r\nConnection: close\r\n/, 'no keep-alive once shutting down');
  assert.match(response, /\r\n\r\n7\r\nslow-ok\r\n0\r\n\r\n$/, 'the whole chunked body');
  assert.equal(await exit, 0);
  assert.match(z.errorLog(), /\[notice\] \d+#0: gracefully shutting down/);
});

test('SIGQUIT: an idle keep-alive connection is closed at once, after its answered response', async () => {
  const z = await start();
  const exit = exited(z);
  const idle = readUntilClose(z.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await idle.sent;
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  z.signal('SIGQUIT');
  const response = await idle.closed;
  assert.match(response, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\nConnection: keep-alive\r\n\r\nfast$/);
  assert.ok(Date.now() - t0 < 2000, 'closed without waiting for keepalive_timeout');
  assert.equal(await exit, 0);
});
