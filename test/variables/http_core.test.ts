import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { VERSION } from '../../src/core/version.ts';
import type { HttpRequest } from '../../src/http/types.ts';
import {
  binaryAddress,
  cookieValue,
  httpCoreVariables,
  queryArgument,
} from '../../src/variables/http_core.ts';
import { VariableRegistry } from '../../src/variables/registry.ts';
import { type FakeRequestInit, fakeRequest } from '../helpers/fake_request.ts';

const variables = new VariableRegistry();
for (const def of httpCoreVariables) variables.add(def);

function value(name: string, r: HttpRequest | FakeRequestInit = {}): string | undefined {
  return variables.get('parsed' in r ? r : fakeRequest(r), name);
}

describe('httpCoreVariables: request line and URI', () => {
  const init: FakeRequestInit = { method: 'POST', target: '/a%20b/c?x=1&y=2' };

  it('gives the request line, method, target and URI', () => {
    assert.equal(value('request', init), 'POST /a%20b/c?x=1&y=2 HTTP/1.1');
    assert.equal(value('request_method', init), 'POST');
    assert.equal(value('request_uri', init), '/a%20b/c?x=1&y=2');
    const r = fakeRequest(init);
    r.uri = '/a b/c';
    assert.equal(value('uri', r), '/a b/c');
    assert.equal(value('document_uri', r), '/a b/c');
  });

  it('gives $args/$query_string/$is_args from r.args, and `set $args` writes r.args', () => {
    const r = fakeRequest(init);
    assert.equal(value('args', r), 'x=1&y=2');
    assert.equal(value('query_string', r), 'x=1&y=2');
    assert.equal(value('is_args', r), '?');
    variables.setter('args')(r, '');
    assert.equal(r.args, '');
    assert.equal(value('is_args', r), '');
    assert.equal(value('is_args', { target: '/p?' }), '', 'a bare `?` has no args');
  });

  it('gives $server_protocol as sent, and nothing for HTTP/0.9', () => {
    assert.equal(value('server_protocol', { version: 10 }), 'HTTP/1.0');
    assert.equal(value('server_protocol', { version: 11 }), 'HTTP/1.1');
    assert.equal(value('server_protocol', { version: 9 }), undefined);
  });
});

describe('httpCoreVariables: $arg_NAME (ngx_http_arg)', () => {
  const cases: [string, string, string | undefined][] = [
    ['a=1&b=2', 'a', '1'],
    ['a=1&b=2', 'b', '2'],
    ['A=1&a=2', 'a', '1'],
    ['xa=1&a=2', 'a', '2'],
    ['a&a=3', 'a', '3'],
    ['a', 'a', undefined],
    ['a=', 'a', ''],
    ['a=%20x+y', 'a', '%20x+y'],
    ['a=1;b=2', 'b', undefined],
    ['', 'a', undefined],
    ['ab=1', 'a', undefined],
  ];
  for (const [args, name, expected] of cases) {
    it(`${args} ${name} → ${expected}`, () => {
      assert.equal(queryArgument(args, name), expected);
      assert.equal(value(`arg_${name}`, { target: `/?${args}` }), expected);
    });
  }

  it('matches the name case-insensitively (nginx lowercases variable names)', () => {
    assert.equal(value('arg_FOO', { target: '/?foo=bar' }), 'bar');
    assert.equal(value('arg_', { target: '/?=x' }), undefined);
  });
});

describe('httpCoreVariables: headers', () => {
  const headers: [string, string][] = [
    ['Host', 'Example.COM:8080'],
    ['User-Agent', 'curl/8'],
    ['X-Forwarded-For', '10.0.0.1'],
    ['x-forwarded-for', '10.0.0.2'],
    ['Cookie', 'a=1; b=2'],
    ['Cookie', 'c=3'],
    ['Content-Type', 'text/plain'],
    ['Content-Length', '12'],
  ];

  it('$http_NAME: `_` stands for `-`, any case, repeated headers joined with ", "', () => {
    assert.equal(value('http_user_agent', { headers }), 'curl/8');
    assert.equal(value('HTTP_USER_AGENT', { headers }), 'curl/8');
    assert.equal(value('http_x_forwarded_for', { headers }), '10.0.0.1, 10.0.0.2');
    assert.equal(value('http_cookie', { headers }), 'a=1; b=2; c=3');
    assert.equal(value('http_x_missing', { headers }), undefined);
    assert.equal(value('http_x_a', { headers: [['X_A', 'underscore']] }), 'underscore');
  });

  it('$content_type and $content_length from the request headers', () => {
    assert.equal(value('content_type', { headers }), 'text/plain');
    assert.equal(value('content_length', { headers }), '12');
    assert.equal(value('content_length'), undefined);
  });

  it('$cookie_NAME: first match across Cookie headers, as ngx_http_parse_multi_header_lines', () => {
    assert.equal(value('cookie_b', { headers }), '2');
    assert.equal(value('cookie_c', { headers }), '3');
    assert.equal(value('cookie_B', { headers }), '2');
    assert.equal(value('cookie_d', { headers }), undefined);
    const cases: [string, string, string | undefined][] = [
      ['x=1, a = 2;b', 'a', '2'],
      ['a;a=1', 'a', undefined], // nginx skips past the `;` it read instead of `=`
      ['ab=1; a=2', 'a', '2'],
      ['A=1', 'a', '1'],
      ['a=', 'a', ''],
      ['a=x,y; b', 'a', 'x,y'],
      ['', 'a', undefined],
    ];
    for (const [header, name, expected] of cases) assert.equal(cookieValue(header, name), expected, header);
  });

  it('$sent_http_NAME from the response headers, repeated ones joined', () => {
    const headersOut = ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Y', 'z'];
    assert.equal(value('sent_http_content_type', { headersOut }), 'text/html');
    assert.equal(value('sent_http_set_cookie', { headersOut }), 'a=1, b=2');
    assert.equal(value('sent_http_x_y', { headersOut }), 'z');
    assert.equal(value('sent_http_location', { headersOut }), undefined);
  });

  it('$sent_http_connection from the keep-alive state', () => {
    assert.equal(value('sent_http_connection', { version: 11 }), 'keep-alive');
    assert.equal(value('sent_http_connection', { version: 10 }), 'close');
    assert.equal(value('sent_http_connection', { status: 101 }), 'upgrade');
  });
});

describe('httpCoreVariables: host and server', () => {
  it('$host: the parsed host, else the server name', () => {
    assert.equal(value('host', { headers: [['Host', 'WWW.Ex.COM.:80']], serverName: 'srv' }), 'www.ex.com');
    assert.equal(value('host', { serverName: 'srv.example' }), 'srv.example');
  });

  it('$server_name, $hostname, $nginx_version, $pid', () => {
    assert.equal(value('server_name', { serverName: 'srv.example' }), 'srv.example');
    assert.equal(value('hostname'), hostname().toLowerCase());
    assert.equal(value('nginx_version'), VERSION);
    assert.equal(value('pid'), String(process.pid));
  });

  it('$scheme and $https from the connection', () => {
    assert.equal(value('scheme'), 'http');
    assert.equal(value('https'), '');
    assert.equal(value('scheme', { conn: { tls: true } }), 'https');
    assert.equal(value('https', { conn: { tls: true } }), 'on');
  });

  it('addresses, ports and connection counters', () => {
    const conn = { remoteAddress: '10.1.2.3', remotePort: 40000, localAddress: '10.0.0.1', localPort: 8080 };
    assert.equal(value('remote_addr', { conn }), '10.1.2.3');
    assert.equal(value('remote_port', { conn }), '40000');
    assert.equal(value('server_addr', { conn }), '10.0.0.1');
    assert.equal(value('server_port', { conn }), '8080');
    assert.equal(value('remote_port', { conn: { remotePort: 0 } }), '');
    assert.equal(value('connection', { conn: { id: 42, requests: 3 } }), '42');
    assert.equal(value('connection_requests', { conn: { id: 42, requests: 3 } }), '3');
  });

  it('$binary_remote_addr: 4 or 16 raw bytes', () => {
    assert.equal(binaryAddress('10.1.2.3'), '\x0a\x01\x02\x03');
    assert.equal(binaryAddress('::1'), `${'\0'.repeat(15)}\x01`);
    assert.equal(binaryAddress('::'), '\0'.repeat(16));
    assert.equal(
      binaryAddress('2001:db8::ff00:42:8329'),
      '\x20\x01\x0d\xb8\0\0\0\0\0\0\xff\x00\x00\x42\x83\x29',
    );
    assert.equal(binaryAddress('::ffff:127.0.0.1'), `${'\0'.repeat(10)}\xff\xff\x7f\x00\x00\x01`);
    assert.equal(binaryAddress('fe80::1%eth0'), `\xfe\x80${'\0'.repeat(13)}\x01`);
    assert.equal(value('binary_remote_addr', { conn: { remoteAddress: '1.2.3.4' } }), '\x01\x02\x03\x04');
  });
});

describe('httpCoreVariables: response and timing', () => {
  it('$status as three digits: 000 before a response, 009 for HTTP/0.9', () => {
    assert.equal(value('status'), '000');
    assert.equal(value('status', { version: 9 }), '009');
    assert.equal(value('status', { status: 404 }), '404');
  });

  it('$body_bytes_sent, $bytes_sent and $request_length', () => {
    assert.equal(value('body_bytes_sent', { bodyBytesSent: 12, bytesSent: 170 }), '12');
    assert.equal(value('bytes_sent', { bodyBytesSent: 12, bytesSent: 170 }), '170');
    // What nginx 1.22 counts for curl's request: line, headers, CRLFs.
    const headers: [string, string][] = [
      ['Host', '127.0.0.1:47392'],
      ['User-Agent', 'curl/7.88.1'],
      ['Accept', '*/*'],
    ];
    assert.equal(value('request_length', { target: '/p?a', headers }), '82');
    assert.equal(value('request_length', { target: '/p?a', headers, bodyReceived: 10 }), '92');
  });

  it('$request_time and $msec: seconds with milliseconds', () => {
    // Bounded by the clock read before and after, so a slow machine cannot fail it.
    const before = Date.now();
    const startTime = before - 1234.5;
    const millis = Math.round(Number(value('request_time', { startTime })) * 1000);
    const after = Date.now();
    assert.match(value('request_time', { startTime }) ?? '', /^\d+\.\d{3}$/);
    assert.ok(millis >= Math.floor(before) - Math.floor(startTime), String(millis));
    assert.ok(millis <= Math.floor(after) - Math.floor(startTime), String(millis));
    assert.equal(value('request_time', { startTime: Date.now() + 5000 }), '0.000');
    assert.match(value('msec') ?? '', /^\d{10}\.\d{3}$/);
  });

  it('$time_local and $time_iso8601 in nginx formats', () => {
    assert.match(value('time_local') ?? '', /^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$/);
    assert.match(value('time_iso8601') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  });

  it('$request_id: 32 hex digits, the same for the whole request', () => {
    const r = fakeRequest();
    const id = value('request_id', r);
    assert.match(id ?? '', /^[0-9a-f]{32}$/);
    assert.equal(value('request_id', r), id);
    assert.notEqual(value('request_id'), id);
  });
});
