// Server selection, location matching, phases, keep-alive, pipelining, bodies and bad input,
// through a real bin/zonesync process.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Instance, parseResponse, startZonesync } from '../helpers/instance.ts';

let z: Instance;

before(async () => {
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  client_max_body_size 100;
  large_client_header_buffers 2 1k;
  server {
    listen 127.0.0.1:{{PORT}};
    server_name default.test;
    location / { return 200 "default:$host"; }
  }
  server {
    listen 127.0.0.1:{{PORT}};
    server_name exact.test *.wild.test www.trail.*;
    location / { return 200 "named:$server_name"; }
  }
  server {
    listen 127.0.0.1:{{PORT}};
    server_name ~^(?<sub>[a-z]+)\\.re\\.test$;
    location / { return 200 "regex"; }
  }
  server {
    listen 127.0.0.1:{{PORT1}} default_server;
    server_name _;
    location = / { return 200 "A"; }
    location / { return 200 "B"; }
    location /documents/ { return 200 "C"; }
    location ^~ /images/ { return 200 "D"; }
    location ~* \\.(gif|jpg|jpeg)$ { return 200 "E"; }
    location /outer/ {
      location ~ /outer/in/(\\d+)$ { return 200 "nested:$1"; }
      return 200 "outer";
    }
    location @named { return 200 "named"; }
    location /body { return 200 "len=$content_length"; }
  }
}`,
  });
});
after(() => z.stop());

const get = (host: string, path = '/', port = z.port) =>
  import('../helpers/instance.ts').then((h) => h.httpRequest(port, path, { host }));

test('server_name: exact, leading and trailing wildcards, regex, and the default server', async () => {
  assert.equal((await get('exact.test')).text, 'named:exact.test');
  assert.equal((await get('a.b.wild.test')).text, 'named:exact.test');
  assert.equal((await get('www.trail.org')).text, 'named:exact.test');
  assert.equal((await get('abc.re.test')).text, 'regex');
  assert.equal((await get('nobody.test')).text, 'default:nobody.test');
  assert.equal((await get('EXACT.test:8080')).text, 'named:exact.test');
});

test("location matching follows nginx's documented example (A to E)", async () => {
  const p = z.ports[1];
  const at = async (path: string) => (await get('x', path, p)).text;
  assert.equal(await at('/'), 'A');
  assert.equal(await at('/index.html'), 'B');
  assert.equal(await at('/documents/document.html'), 'C');
  assert.equal(await at('/images/1.gif'), 'D');
  assert.equal(await at('/documents/1.jpg'), 'E');
  assert.equal(await at('/outer/in/42'), 'nested:42');
  assert.equal(await at('/outer/x'), 'outer');
  assert.equal((await get('x', '/@named', p)).text, 'B'); // named locations are never matched by URI
});

test('keep-alive and pipelining: three requests in one write are answered in order', async () => {
  const req = (path: string, last = false) =>
    `GET ${path} HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
  const raw = await z.rawRequest(req('/') + req('/documents/a') + req('/images/b', true));
  let rest: Buffer = Buffer.from(raw, 'latin1');
  const bodies: string[] = [];
  const conns: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { res, rest: r } = parseResponse(rest);
    bodies.push(res.text);
    conns.push(res.headers.connection);
    rest = r;
  }
  assert.deepEqual(bodies, ['default:x', 'default:x', 'default:x']);
  assert.deepEqual(conns, ['keep-alive', 'keep-alive', 'close']);
});

test('partial heads survive other connections reading meanwhile (the engine shares one read buffer)', async () => {
  const p = z.ports[1];
  const open = async () => {
    const socket = net.connect(p, '127.0.0.1');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = once(socket, 'end').then(() => Buffer.concat(chunks).toString('latin1'));
    return { socket, closed };
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  const a = await open();
  const b = await open();
  // a: one whole request and half of the next; b then fills the buffer with other bytes
  a.socket.write('GET /documents/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /documents/2 HTTP/1.1\r\nHo');
  await settle();
  b.socket.write(
    'GET /images/3 HTTP/1.1\r\nHost: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\nConnection: close\r\n\r\n',
  );
  const bText = await b.closed;
  a.socket.write('st: x\r\nConnection: close\r\n\r\n');
  let rest: Buffer = Buffer.from(await a.closed, 'latin1');
  const bodies: string[] = [];
  while (rest.length > 0) {
    const r = parseResponse(rest);
    bodies.push(r.res.text);
    rest = r.rest;
  }
  assert.deepEqual(bodies, ['C', 'C']);
  assert.equal(parseResponse(Buffer.from(bText, 'latin1')).res.text, 'D');
});

test('chunked request bodies are read; client_max_body_size answers 413', async () => {
  const p = z.ports[1];
  const { httpRequest } = await import('../helpers/instance.ts');
  const chunked = await httpRequest(p, '/body', {
    method: 'POST',
    headers: { 'Transfer-Encoding': 'chunked' },
    body: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  });
  assert.equal(chunked.status, 200);
  const big = await httpRequest(p, '/body', { method: 'POST', body: 'x'.repeat(101) });
  assert.equal(big.status, 413);
  assert.match(big.text, /<title>413 Request Entity Too Large<\/title>/);
  assert.equal(big.headers.connection, 'close');
});

test('bad input gets nginx answers: 400, 414, 494 as 400, 505, and the connection closes', async () => {
  const cases: [string, RegExp][] = [
    ['GARBAGE\r\n\r\n', /^HTTP\/1\.1 400 Bad Request/],
    ['GET / HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400 Bad Request/], // HTTP/1.1 without Host
    ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', /^HTTP\/1\.1 400 /],
    [
      'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      /^HTTP\/1\.1 400 /,
    ],
    ['GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n', /^HTTP\/1\.1 400 /],
    [`GET /${'a'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 414 Request-URI Too Large/],
    [
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(2000)}\r\n\r\n`,
      /^HTTP\/1\.1 400 Bad Request[\s\S]*Request Header Or Cookie Too Large/,
    ],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 505 /],
  ];
  for (const [req, expect] of cases) {
    const raw = await z.rawRequest(req);
    assert.match(raw, expect, JSON.stringify(req.slice(0, 60)));
    assert.match(raw, /\r\nConnection: close\r\n/i, JSON.stringify(req.slice(0, 60)));
  }
  // The process survived all of it.
  assert.equal((await get('x')).status, 200);
});
