// The NGINX Plus-compatible API through a real bin/zonesync process: version and endpoint lists,
// /nginx, Plus's error bodies (UnknownVersion, PathNotFound, MethodNotSupported, MethodDisabled),
// write=on, ?fields=, generation across a reload, and the directive's errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Instance, type Response, runZonesync, startZonesync, waitFor } from '../helpers/instance.ts';

const CONF = `
events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    location /api { api; }
    location /rw/ { api write=on; }
    location = /exact { api; }
  }
}
`;

let z: Instance;

before(async () => {
  z = await startZonesync({ conf: CONF });
});

after(async () => {
  await z?.stop();
});

function json(res: Response): unknown {
  assert.equal(res.headers['content-type'], 'application/json');
  return JSON.parse(res.text);
}

async function assertError(path: string, status: number, code: string, method = 'GET'): Promise<void> {
  const res = await z.request(path, { method });
  assert.equal(res.status, status, `${method} ${path}`);
  const body = json(res) as {
    error: { status: number; text: string; code: string };
    request_id: string;
    href: string;
  };
  assert.deepEqual(Object.keys(body), ['error', 'request_id', 'href']);
  assert.equal(body.error.status, status);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.text, 'string');
  assert.match(body.request_id, /^[0-9a-f]{32}$/);
  assert.equal(body.href, 'https://nginx.org/en/docs/http/ngx_http_api_module.html');
}

test('the location prefix itself lists the versions', async () => {
  for (const path of ['/api', '/api/', '/rw/', '/exact']) {
    const res = await z.request(path);
    assert.equal(res.status, 200, path);
    assert.deepEqual(json(res), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});

test('a version lists its root endpoints', async () => {
  const res = await z.request('/api/9/');
  assert.equal(res.status, 200);
  const names = json(res) as string[];
  assert.ok(names.includes('nginx'), String(names));
  assert.ok(names.includes('processes'), String(names));
  assert.deepEqual(json(await z.request('/api/9')), names);
});

test("/nginx has Plus's shape", async () => {
  const res = await z.request('/api/9/nginx');
  assert.equal(res.status, 200);
  const body = json(res) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), [
    'version',
    'build',
    'address',
    'generation',
    'load_timestamp',
    'timestamp',
    'pid',
    'ppid',
  ]);
  assert.equal(body.address, '127.0.0.1');
  assert.equal(body.generation, 1);
  assert.equal(body.pid, z.proc.pid);
  assert.equal(typeof body.ppid, 'number');
  for (const k of ['load_timestamp', 'timestamp'])
    assert.match(String(body[k]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(String(body.load_timestamp)) <= Date.parse(String(body.timestamp)));
  // Older versions serve it too.
  assert.equal((await z.request('/api/1/nginx')).status, 200);
});

test('?fields= keeps only the named fields', async () => {
  const body = json(await z.request('/api/9/nginx?fields=version,pid')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['version', 'pid']);
  assert.deepEqual(json(await z.request('/api/9/nginx?fields=')), {});
  assert.deepEqual(json(await z.request('/api/9/nginx?fields=nothing')), {});
});

test('an unknown version is 404 UnknownVersion', async () => {
  await assertError('/api/10/', 404, 'UnknownVersion');
  await assertError('/api/0/nginx', 404, 'UnknownVersion');
  await assertError('/api/x/nginx', 404, 'UnknownVersion');
});

test('an unknown path is 404 PathNotFound', async () => {
  await assertError('/api/9/nope', 404, 'PathNotFound');
  await assertError('/api/9/nginx/more', 404, 'PathNotFound');
});

test('a method the endpoint lacks is 405 MethodNotSupported', async () => {
  await assertError('/api/9/nginx', 405, 'MethodNotSupported', 'PUT');
  await assertError('/api/9/nginx', 405, 'MethodNotSupported', 'POST');
  await assertError('/api/9/', 405, 'MethodNotSupported', 'DELETE');
  await assertError('/rw/9/nginx', 405, 'MethodNotSupported', 'PATCH');
});

test('write methods need write=on: 405 MethodDisabled otherwise', async () => {
  await assertError('/api/9/processes', 405, 'MethodDisabled', 'DELETE');
  const res = await z.request('/rw/9/processes', { method: 'DELETE' });
  assert.equal(res.status, 204);
  assert.equal(res.text, '');
  assert.deepEqual(json(await z.request('/rw/9/processes')), { respawned: 0 });
});

test('HEAD answers as GET without a body', async () => {
  const res = await z.request('/api/9/nginx', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.text, '');
});

test('a reload counts one more generation', async () => {
  const before = json(await z.request('/api/9/nginx')) as { generation: number; load_timestamp: string };
  z.signal('SIGHUP');
  await waitFor(() => z.errorLog().includes('reconfiguring done'), 10_000, 'reload');
  const after = json(await z.request('/api/9/nginx')) as { generation: number; load_timestamp: string };
  assert.equal(after.generation, before.generation + 1);
  assert.ok(after.load_timestamp > before.load_timestamp);
});

test('the api directive refuses bad parameters and other contexts', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-api-'));
  mkdirSync(path.join(dir, 'conf'));
  mkdirSync(path.join(dir, 'logs'));
  const conf = path.join(dir, 'conf/zonesync.conf');
  for (const [directive, message] of [
    [
      'location /api { api write=maybe; }',
      'invalid value "maybe" in "api" directive, it must be "on" or "off"',
    ],
    ['location /api { api read=on; }', 'invalid parameter "read=on"'],
    ['location /api { api write=on extra; }', 'invalid number of arguments in "api" directive'],
    ['api;', '"api" directive is not allowed here'],
  ]) {
    writeFileSync(conf, `events {}\nhttp {\n  server {\n    ${directive}\n  }\n}\n`);
    const r = await runZonesync(['-p', dir, '-t']);
    assert.equal(r.code, 1, directive);
    assert.ok(r.stderr.includes(`[emerg] ${message} in ${conf}:4`), r.stderr);
  }
  rmSync(dir, { recursive: true, force: true });
});
