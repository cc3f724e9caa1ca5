// Well-formed traffic through the engine: keepalive, pipelining, HEAD, bodies, 100-continue.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseResponses } from '../../helpers/http_fuzz.ts';
import { type EchoServer, exchange, startEchoServer } from './echo_server.ts';

let server: EchoServer;
before(async () => {
  server = await startEchoServer({ keepaliveRequests: 5 });
});
after(() => server.close());

function json(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('latin1')) as Record<string, unknown>;
}

describe('engine: well-formed requests', () => {
  it('answers a simple GET with nginx header order and keeps the connection', async () => {
    const ex = await exchange(server.port, [
      'GET /a/./b//c/../d%41?x=1 HTTP/1.1\r\nHost: Example.COM.:8080\r\n\r\n',
    ]);
    assert.equal(ex.closed, false);
    const head = ex.data.toString('latin1').split('\r\n\r\n')[0]!.split('\r\n');
    assert.equal(head[0], 'HTTP/1.1 200 OK');
    assert.deepEqual(
      head.slice(1).map((l) => l.split(':')[0]),
      ['Server', 'Date', 'Content-Type', 'Content-Length', 'Connection'],
    );
    assert.equal(head[5], 'Connection: keep-alive');
    const [res] = parseResponses(ex.data, [false], false);
    const echo = json(res!.body);
    assert.equal(echo.path, '/a/b/dA');
    assert.equal(echo.target, '/a/./b//c/../d%41?x=1');
    assert.equal(echo.query, 'x=1');
    assert.equal(echo.host, 'example.com');
  });

  it('answers three pipelined requests in order, in one go', async () => {
    const reqs = ['/1', '/2', '/3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    const ex = await exchange(server.port, [reqs]);
    const res = parseResponses(ex.data, [false, false, false], false);
    assert.deepEqual(
      res.map((r) => json(r.body).path),
      ['/1', '/2', '/3'],
    );
  });

  it('closes after an HTTP/1.0 request without keep-alive', async () => {
    const ex = await exchange(server.port, ['GET / HTTP/1.0\r\n\r\n']);
    assert.equal(ex.closed, true);
    const [res] = parseResponses(ex.data, [false], true);
    assert.equal(res!.headers.get('connection'), 'close');
  });

  it('keeps an HTTP/1.0 connection alive when asked', async () => {
    const ex = await exchange(server.port, ['GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n']);
    assert.equal(ex.closed, false);
    assert.match(ex.data.toString(), /Connection: keep-alive/);
  });

  it('sends HEAD responses with Content-Length and no body', async () => {
    const ex = await exchange(server.port, [
      'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n',
    ]);
    const res = parseResponses(ex.data, [true, false], false);
    assert.equal(res.length, 2);
    assert.ok(Number(res[0]!.headers.get('content-length')) > 0);
    assert.equal(res[0]!.body.length, 0);
    assert.equal(json(res[1]!.body).path, '/next');
  });

  it('reads Content-Length and chunked bodies, then the next request', async () => {
    const req =
      'POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '3;a=b\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n' +
      'GET /after HTTP/1.1\r\nHost: x\r\n\r\n';
    const ex = await exchange(server.port, [req]);
    const res = parseResponses(ex.data, [false, false, false], false);
    assert.deepEqual(
      res.map((r) => json(r.body).body),
      ['hello', 'abcdefg', ''],
    );
  });

  it('decodes a chunked body split at every byte boundary', async () => {
    const req =
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n';
    const bytes = Buffer.from(req);
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) parts.push(bytes.subarray(i, i + 1));
    const ex = await exchange(server.port, parts, { gapMs: 1 });
    const [res] = parseResponses(ex.data, [false], false);
    assert.equal(json(res!.body).body, 'abc');
  });

  it('decodes a chunked body split into two parts at each position', async () => {
    const req = Buffer.from(
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    for (let cut = 1; cut < req.length; cut++) {
      const ex = await exchange(server.port, [req.subarray(0, cut), req.subarray(cut)], {
        gapMs: 2,
        until: (d) => d.includes('"body":"hello"'),
      });
      assert.match(ex.data.toString(), /"body":"hello"/, `cut at ${cut}`);
    }
  });

  it('discards an unread body before the next pipelined request', async () => {
    const req =
      'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz' + 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n';
    const ex = await exchange(server.port, [req]);
    const res = parseResponses(ex.data, [false, false], false);
    assert.deepEqual(
      res.map((r) => json(r.body).path),
      ['/a', '/b'],
    );
  });

  it('sends 100 Continue before reading the body', async () => {
    const ex = await exchange(
      server.port,
      ['POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n', 'ok'],
      { gapMs: 100 },
    );
    const text = ex.data.toString();
    assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text);
    assert.match(text, /"body":"ok"/);
  });

  it('says Connection: close on the keepalive_requests-th request and counts requests', async () => {
    const reqs = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(6);
    const ex = await exchange(server.port, [reqs]);
    assert.equal(ex.closed, true);
    const res = parseResponses(ex.data, Array(5).fill(false), true);
    assert.equal(res.length, 5);
    assert.deepEqual(
      res.map((r) => r.headers.get('connection')),
      ['keep-alive', 'keep-alive', 'keep-alive', 'keep-alive', 'close'],
    );
    assert.deepEqual(
      res.map((r) => json(r.body).requests),
      [1, 2, 3, 4, 5],
    );
  });

  it('rejects a body over the readAll limit with 413 and closes', async () => {
    const s = await startEchoServer({}, 4);
    try {
      const ex = await exchange(s.port, [
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789',
      ]);
      assert.match(ex.data.toString(), /^HTTP\/1\.1 413 Request Entity Too Large\r\n/);
      assert.match(ex.data.toString(), /Connection: close/);
      assert.equal(ex.closed, true);
      const ch = await exchange(s.port, [
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n0\r\n\r\n',
      ]);
      assert.match(ch.data.toString(), /^HTTP\/1\.1 413 /);
    } finally {
      await s.close();
    }
  });

  it('serves an HTTP/0.9 request with the body only', async () => {
    const ex = await exchange(server.port, ['GET /nine\r\n']);
    assert.equal(ex.closed, true);
    assert.equal(json(ex.data).path, '/nine');
  });
});
