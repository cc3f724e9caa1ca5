// Every variable the core lists, evaluated by a real instance in `return` and checked against
// what the test itself sent.
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { type Instance, startZonesync } from '../helpers/instance.ts';

const NAMES = [
  'remote_addr',
  'remote_port',
  'server_addr',
  'server_port',
  'server_name',
  'host',
  'hostname',
  'scheme',
  'request',
  'request_method',
  'request_uri',
  'uri',
  'document_uri',
  'args',
  'arg_foo',
  'is_args',
  'query_string',
  'http_x_test',
  'cookie_sid',
  'sent_http_content_type',
  'status',
  'body_bytes_sent',
  'bytes_sent',
  'request_time',
  'msec',
  'time_local',
  'time_iso8601',
  'connection',
  'connection_requests',
  'request_id',
  'nginx_version',
  'pid',
  'binary_remote_addr',
];

let z: Instance;
before(async () => {
  const body = NAMES.map((n) => `${n}=[$${n}]`).join('\\n');
  z = await startZonesync({
    conf: `events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    server_name vars.test;
    location /v/ { default_type text/plain; return 200 "${body}"; }
  }
}`,
  });
});
after(() => z.stop());

test("every listed variable has nginx's value", async () => {
  const before = Date.now() / 1000;
  const r = await z.request('/v/a%20b?foo=bar&x=1', {
    host: 'Vars.Test:1234',
    headers: { 'X-Test': 'hello', Cookie: 'a=1; sid=s3cr3t' },
  });
  const after = Date.now() / 1000;
  assert.equal(r.status, 200);
  const v: Record<string, string> = {};
  for (const line of r.text.split('\n')) {
    const m = /^(\w+)=\[(.*)\]$/s.exec(line);
    assert.ok(m, line);
    v[m[1]] = m[2];
  }
  assert.equal(v.remote_addr, '127.0.0.1');
  assert.match(v.remote_port, /^\d+$/);
  assert.equal(v.server_addr, '127.0.0.1');
  assert.equal(v.server_port, String(z.port));
  assert.equal(v.server_name, 'vars.test');
  assert.equal(v.host, 'vars.test');
  assert.equal(v.hostname, os.hostname());
  assert.equal(v.scheme, 'http');
  assert.equal(v.request, 'GET /v/a%20b?foo=bar&x=1 HTTP/1.1');
  assert.equal(v.request_method, 'GET');
  assert.equal(v.request_uri, '/v/a%20b?foo=bar&x=1');
  assert.equal(v.uri, '/v/a b');
  assert.equal(v.document_uri, '/v/a b');
  assert.equal(v.args, 'foo=bar&x=1');
  assert.equal(v.arg_foo, 'bar');
  assert.equal(v.is_args, '?');
  assert.equal(v.query_string, 'foo=bar&x=1');
  assert.equal(v.http_x_test, 'hello');
  assert.equal(v.cookie_sid, 's3cr3t');
  // nginx evaluates `return`'s text before the response head exists: empty, as nginx prints it.
  assert.equal(v.sent_http_content_type, '');
  assert.equal(v.status, '200');
  assert.equal(v.body_bytes_sent, '0');
  assert.match(v.bytes_sent, /^\d+$/);
  assert.match(v.request_time, /^\d+\.\d{3}$/);
  const msec = Number(v.msec);
  assert.ok(msec >= Math.floor(before) && msec <= after + 1, v.msec);
  assert.match(v.time_local, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/);
  assert.match(v.time_iso8601, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
  assert.match(v.connection, /^\d+$/);
  assert.equal(v.connection_requests, '1');
  assert.match(v.request_id, /^[0-9a-f]{32}$/);
  assert.match(v.nginx_version, /^\d+\.\d+\.\d+$/);
  assert.equal(v.pid, String(z.proc.pid)); // the launcher execs node: same pid
  assert.equal(Buffer.from(v.binary_remote_addr, 'latin1').length, 4);
});

test('$connection_requests counts requests on one connection', async () => {
  const req = (last: boolean) => `GET /v/ HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
  const raw = await z.rawRequest(req(false) + req(true));
  const counts = [...raw.matchAll(/connection_requests=\[(\d+)\]/g)].map((m) => m[1]);
  assert.deepEqual(counts, ['1', '2']);
});
