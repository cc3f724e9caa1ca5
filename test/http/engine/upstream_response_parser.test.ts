import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  UpstreamParseError,
  UpstreamResponseParser,
} from '../../../src/http/engine/upstream_response_parser.ts';

interface Result {
  status: number;
  headers: string[];
  body: string;
  complete: boolean;
  closeDelimited: boolean;
  connectionClose: boolean;
  used: number;
}

/** Feed `raw` in pieces cut at `cuts`; returns what the sink saw. */
function parse(raw: string, cuts: number[] = [], noBody = false, limit = 4096): Result {
  let head: string[] = [];
  let status = 0;
  let body = '';
  let complete = false;
  const parser: UpstreamResponseParser = new UpstreamResponseParser(
    {
      onHead: () => {
        status = parser.status;
        head = parser.rawNames.flatMap((n, i) => [n, parser.values[i]!]);
      },
      onBody: (d) => {
        body += d.toString('latin1');
      },
      onComplete: () => {
        complete = true;
      },
    },
    limit,
  );
  parser.reset(noBody);
  const buf = Buffer.from(raw, 'latin1');
  const points = [0, ...cuts, buf.length];
  let used = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    if (complete) break;
    used += parser.feed(buf.subarray(points[i], points[i + 1]));
  }
  return {
    status,
    headers: head,
    body,
    complete,
    closeDelimited: parser.untilClose,
    connectionClose: parser.connectionClose,
    used,
  };
}

/** Parse whole, then split at every byte and in two at every position: all must agree. */
function parseEverySplit(raw: string, noBody = false): Result {
  const whole = parse(raw, [], noBody);
  const n = Buffer.byteLength(raw, 'latin1');
  assert.deepEqual(
    parse(
      raw,
      Array.from({ length: n - 1 }, (_, i) => i + 1),
      noBody,
    ),
    whole,
    'byte by byte',
  );
  for (let i = 1; i < n; i++) assert.deepEqual(parse(raw, [i], noBody), whole, `split at ${i}`);
  return whole;
}

test('content-length body', () => {
  const r = parseEverySplit('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\nhello');
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers, ['Content-Length', '5', 'X-A', 'b c']);
  assert.equal(r.body, 'hello');
  assert.equal(r.complete, true);
  assert.equal(r.connectionClose, false);
});

test('chunked body with extensions and trailers', () => {
  const r = parseEverySplit(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n',
  );
  assert.equal(r.body, 'hello!');
  assert.equal(r.complete, true);
});

test('until-close body on HTTP/1.0', () => {
  const r = parseEverySplit('HTTP/1.0 200 OK\r\nServer: x\r\n\r\nabc');
  assert.equal(r.body, 'abc');
  assert.equal(r.complete, false);
  assert.equal(r.closeDelimited, true);
  assert.equal(r.connectionClose, true);
});

test('1xx responses are skipped; 101 ends the head', () => {
  const r = parseEverySplit(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nX: 1\r\n\r\n',
  );
  assert.equal(r.status, 204);
  assert.deepEqual(r.headers, ['X', '1']);
  assert.equal(r.complete, true);
  const upHead = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
  const up = parse(`${upHead}raw-frames`);
  assert.equal(up.status, 101);
  assert.equal(up.complete, true);
  assert.equal(up.used, upHead.length);
  assert.equal(up.body, '');
});

test('HEAD, 204 and 304 have no body; bytes after the response are not consumed', () => {
  const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';
  const r = parse(`${raw}NEXT`, [], true);
  assert.equal(r.complete, true);
  assert.equal(r.used, raw.length);
  const lenRaw = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  assert.equal(parse(`${lenRaw}extra`).used, lenRaw.length);
});

test('status line without reason, IIS-style 403.1, bare LF line ends', () => {
  assert.equal(parseEverySplit('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n').status, 404);
  assert.equal(parse('HTTP/1.1 403.1 Forbidden\r\nContent-Length: 0\r\n\r\n').status, 403);
  const r = parseEverySplit('HTTP/1.1 200 OK\nContent-Length: 2\n\nok');
  assert.equal(r.body, 'ok');
});

test('underscores in header names are passed', () => {
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nX_Y: 1\r\nContent-Length: 0\r\n\r\n').headers, [
    'X_Y',
    '1',
    'Content-Length',
    '0',
  ]);
});

test('malformed responses throw nginx messages', () => {
  const bad: [string, RegExp][] = [
    ['FOO 200 OK\r\n\r\n', /no valid HTTP\/1.0 header/],
    ['HTTP/1.1 20 OK\r\n\r\n', /no valid HTTP\/1.0 header/],
    ['HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n', /invalid header: "Bad Header: x"/],
    ['HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n', /invalid "Content-Length" header/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n', /duplicate header line/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', /unknown "Transfer-Encoding": "gzip"/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n', /at the same time/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /invalid chunked response/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(
      () => parse(raw),
      (e: unknown) => e instanceof UpstreamParseError && re.test(e.message),
      raw,
    );
  }
});

test('a head longer than the buffer is too big', () => {
  const raw = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(200)}\r\n\r\n`;
  assert.throws(() => parse(raw, [], false, 100), /too big header/);
  assert.throws(() => parse(raw, [50, 90, 120], false, 100), /too big header/);
});

test('connection: close is noticed', () => {
  assert.equal(
    parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').connectionClose,
    true,
  );
  assert.equal(
    parse('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').connectionClose,
    false,
  );
});
