// Malformed, oversized and slow requests: nginx's statuses, and the connection closes after.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoServer, exchange, startEchoServer } from './echo_server.ts';

let server: EchoServer;
before(async () => {
  server = await startEchoServer({
    clientHeaderBufferSize: 256,
    largeHeaderBuffers: 2,
    largeHeaderBufferSize: 512,
    clientHeaderTimeout: 300,
    keepaliveTimeout: 300,
    clientBodyTimeout: 300,
  });
});
after(() => server.close());

async function statusOf(
  request: string | Buffer,
): Promise<{ status: number; closed: boolean; text: string }> {
  const ex = await exchange(server.port, [request], { idleMs: 1000 });
  const text = ex.data.toString('latin1');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return { status: m ? Number(m[1]) : 0, closed: ex.closed, text };
}

const REJECTED: [string, string, number][] = [
  [
    'CL and TE together',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'duplicate Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na',
    400,
  ],
  ['invalid Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na', 400],
  ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n\r\n', 400],
  [
    'chunk size with bare LF',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n',
    400,
  ],
  [
    'overflowing chunk size',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n',
    400,
  ],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n', 400],
  ['bare CR in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n', 400],
  ['bare CR ending the head', 'GET / HTTP/1.1\r\nHost: x\r\n\rX', 400],
  ['space in a header name', 'GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n', 400],
  ['TE on HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['unknown TE', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
  [
    'duplicate TE',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
    400,
  ],
  ['missing Host on 1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['duplicate Host', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['invalid Host', 'GET / HTTP/1.1\r\nHost: a..b\r\n\r\n', 400],
  ['lowercase method', 'get / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['space inside the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['control byte in the target', 'GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['%00 in the path', 'GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['bad percent escape', 'GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['../ above the root', 'GET /a/../../b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
  ['HTTP/0.9 version string', 'GET / HTTP/0.9\r\nHost: x\r\n\r\n', 400],
  ['TRACE', 'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n', 405],
];

describe('engine: rejected requests', () => {
  for (const [name, request, status] of REJECTED) {
    it(`${name} -> ${status} and close`, async () => {
      const r = await statusOf(request);
      assert.equal(r.status, status, r.text);
      assert.match(r.text, /\r\nConnection: close\r\n/);
      assert.equal(r.closed, true);
    });
  }

  it('ignores header names with underscores or odd bytes, as nginx does by default', async () => {
    const r = await statusOf('GET / HTTP/1.1\r\nHost: x\r\nX_Under: 1\r\nX@At: 2\r\nNoColon\r\n\r\n');
    assert.equal(r.status, 200);
    assert.match(r.text, /"names":\["host","nocolon"\]/);
  });

  it('skips empty lines before the request line', async () => {
    const r = await statusOf('\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(r.status, 200);
  });

  it('answers a too long request line with 414', async () => {
    const r = await statusOf(`GET /${'a'.repeat(600)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(r.status, 414);
    assert.equal(r.closed, true);
  });

  it('answers a too long header line with 494 (sent as 400)', async () => {
    const r = await statusOf(`GET / HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(600)}\r\n\r\n`);
    assert.equal(r.status, 400);
    assert.equal(server.badRequests.at(-1)?.status, 494);
  });

  it('answers too many header bytes with 494', async () => {
    const lines = Array.from({ length: 8 }, (_, i) => `X-H${i}: ${'v'.repeat(200)}\r\n`).join('');
    const r = await statusOf(`GET / HTTP/1.1\r\nHost: x\r\n${lines}\r\n`);
    assert.equal(r.status, 400);
    assert.equal(server.badRequests.at(-1)?.status, 494);
  });

  it('accepts a head that fits the large buffers', async () => {
    const r = await statusOf(`GET / HTTP/1.1\r\nHost: x\r\nX-A: ${'v'.repeat(400)}\r\n\r\n`);
    assert.equal(r.status, 200);
  });

  it('closes silently on client_header_timeout and reports 408', async () => {
    const before = server.badRequests.length;
    const ex = await exchange(server.port, ['GET / HTTP/1.1\r\n'], { idleMs: 2000 });
    assert.equal(ex.closed, true);
    assert.equal(ex.data.length, 0);
    assert.ok(ex.elapsed >= 250 && ex.elapsed < 1500, `elapsed ${ex.elapsed}`);
    assert.deepEqual(server.badRequests.slice(before), [{ status: 408, reason: 'client timed out' }]);
  });

  it('closes an idle keepalive connection silently', async () => {
    const before = server.badRequests.length;
    const ex = await exchange(server.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { idleMs: 2000 });
    assert.equal(ex.closed, true);
    assert.match(ex.data.toString(), /^HTTP\/1\.1 200 OK/);
    assert.equal(server.badRequests.length, before);
  });

  it('closes on client_body_timeout without a response', async () => {
    const ex = await exchange(server.port, ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'], {
      idleMs: 2000,
    });
    assert.equal(ex.closed, true);
    assert.equal(ex.data.length, 0);
  });

  it('reports a client that closes mid-head as 400 without answering', async () => {
    const before = server.badRequests.length;
    const ex = await exchange(server.port, ['GET / HTTP/1.1\r\nHo'], { end: true, idleMs: 1000 });
    assert.equal(ex.data.length, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(server.badRequests.slice(before), [
      { status: 400, reason: 'client prematurely closed connection' },
    ]);
  });

  it('still answers a client that half-closes after its request', async () => {
    const ex = await exchange(server.port, ['GET /half HTTP/1.1\r\nHost: x\r\n\r\n'], { end: true });
    assert.match(ex.data.toString(), /"path":"\/half"/);
    assert.equal(ex.closed, true);
  });
});
