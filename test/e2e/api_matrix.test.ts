// The NGINX Plus API's method and error matrix through a real bin/zonesync, for the endpoints the
// stateful modules add: every write method on a `write=off` location is 405 MethodDisabled (keyvals,
// limit_reqs, upstreams, http and stream), bodies past client_body_buffer_size are 413, bodies that
// are not JSON 415 (POST and PATCH), JSON that is not an object 400, a broken chunked body 400
// BodyReadError, each with Plus's error body; PATCH with `{"value","expire"}`; the `{value}` form
// refused before API version 5; a full keyval zone's 507; every method of `/stream/keyvals/{zone}`;
// `?fields=` on upstreams and limit_reqs; the path lists below `/api/9/http/` and `/api/9/stream/`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Backend, httpBackend } from '../helpers/backend.ts';
import { type Instance, type Response, startZonesync, waitFor } from '../helpers/instance.ts';

let z: Instance;
let backend: Backend;

before(async () => {
  backend = await httpBackend('app');
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  keyval_zone zone=kv:64k;
  keyval_zone zone=timed:64k timeout=1h;
  keyval_zone zone=tiny:32k;
  limit_req_zone $arg_k zone=lim:1m rate=1r/m;
  upstream app {
    zone app 64k;
    server 127.0.0.1:${backend.port};
    server 127.0.0.1:9 down;
  }
  server {
    listen 127.0.0.1:{{PORT}};
    location /lim { limit_req zone=lim nodelay; proxy_pass http://app; }
    location /api/ { api write=on; }
    location /ro/ { api; }
    location /small/ { api write=on; client_body_buffer_size 1k; }
    location /big/ { api write=on; client_body_buffer_size 128k; }
  }
}
stream {
  keyval_zone zone=skv:64k timeout=1h;
}`,
  });
});

after(async () => {
  await z?.stop();
  await backend?.close();
});

async function call(method: string, uri: string, body?: string, headers?: Record<string, string>) {
  return z.request(uri, { method, body, headers });
}

/** The response is Plus's error body with this status and code (and text, when given). */
function assertPlusError(res: Response, status: number, code: string, text?: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers['content-type'], 'application/json');
  const body = JSON.parse(res.text);
  assert.deepEqual(Object.keys(body), ['error', 'request_id', 'href']);
  assert.deepEqual(Object.keys(body.error), ['status', 'text', 'code']);
  assert.equal(body.error.status, status);
  assert.equal(body.error.code, code);
  if (text !== undefined) assert.equal(body.error.text, text);
  assert.match(body.request_id, /^[0-9a-f]{32}$/);
  assert.equal(body.href, 'https://nginx.org/en/docs/http/ngx_http_api_module.html');
}

test('/api/9/http/ and /api/9/stream/ list what they hold; older versions leave out newer paths', async () => {
  const root = JSON.parse((await z.request('/api/9/')).text) as string[];
  for (const name of ['nginx', 'processes', 'http', 'stream']) assert.ok(root.includes(name), String(root));
  const http = JSON.parse((await z.request('/api/9/http/')).text) as string[];
  assert.deepEqual([...http].sort(), ['keyvals', 'limit_reqs', 'upstreams']);
  assert.deepEqual(JSON.parse((await z.request('/api/9/stream')).text), ['keyvals']);
  // limit_reqs came in version 6, stream keyvals in 2.
  assert.deepEqual([...JSON.parse((await z.request('/api/5/http/')).text)].sort(), ['keyvals', 'upstreams']);
  assertPlusError(await z.request('/api/1/stream/'), 404, 'PathNotFound');
  assertPlusError(await z.request('/api/9/http/nope'), 404, 'PathNotFound');
  // No zone_sync server: Plus leaves zone_sync out of /stream/.
  assertPlusError(await z.request('/api/9/stream/zone_sync'), 404, 'PathNotFound');
});

test('/api/9/stream/ lists zone_sync while a zone_sync server runs, and not after a reload removes it', async () => {
  const http =
    'events {}\nhttp { access_log off; server { listen 127.0.0.1:{{PORT}}; location /api/ { api; } } }\n';
  const stream =
    'stream { server { listen 127.0.0.1:{{PORT1}}; zone_sync; zone_sync_server 127.0.0.1:{{PORT2}}; } }\n';
  const s = await startZonesync({ conf: http + stream });
  try {
    assert.deepEqual(JSON.parse((await s.request('/api/9/stream/')).text), ['keyvals', 'zone_sync']);
    assert.deepEqual(JSON.parse((await s.request('/api/2/stream/')).text), ['keyvals'], 'zone_sync is 3+');
    assert.equal((await s.request('/api/9/stream/zone_sync')).status, 200);
    s.writeConf(http);
    s.signal('SIGHUP');
    await waitFor(() => s.errorLog().includes('reconfiguring done'), 10_000, 'reload');
    assert.deepEqual(JSON.parse((await s.request('/api/9/stream/')).text), ['keyvals']);
    assertPlusError(await s.request('/api/9/stream/zone_sync'), 404, 'PathNotFound');
  } finally {
    await s.stop();
  }
});

test('write=off: every write method of every endpoint is 405 MethodDisabled, and changes nothing', async () => {
  assert.equal((await call('POST', '/api/9/http/keyvals/kv', '{"stay":"1"}')).status, 201);
  for (const [method, path, body] of [
    ['POST', '/ro/9/http/keyvals/kv', '{"a":"1"}'],
    ['PATCH', '/ro/9/http/keyvals/kv', '{"stay":null}'],
    ['DELETE', '/ro/9/http/keyvals/kv'],
    ['POST', '/ro/9/stream/keyvals/skv', '{"a":"1"}'],
    ['PATCH', '/ro/9/stream/keyvals/skv', '{"a":"1"}'],
    ['DELETE', '/ro/9/stream/keyvals/skv'],
    ['DELETE', '/ro/9/http/limit_reqs/lim'],
    ['DELETE', '/ro/9/http/upstreams/app'],
    ['DELETE', '/ro/9/processes'],
  ]) {
    assertPlusError(await call(method, path, body), 405, 'MethodDisabled', 'method disabled');
  }
  assert.deepEqual(JSON.parse((await z.request('/ro/9/http/keyvals/kv')).text), { stay: '1' });
  assert.equal((await call('DELETE', '/api/9/http/keyvals/kv')).status, 204);
});

test('a method an endpoint lacks is 405 MethodNotSupported, even with write=on', async () => {
  for (const [method, path] of [
    ['POST', '/api/9/http/keyvals/'],
    ['DELETE', '/api/9/http/keyvals/'],
    ['PUT', '/api/9/http/keyvals/kv'],
    ['POST', '/api/9/http/limit_reqs/lim'],
    ['PATCH', '/api/9/http/limit_reqs/lim'],
    ['DELETE', '/api/9/http/limit_reqs/'],
    ['POST', '/api/9/http/upstreams/app'],
    ['DELETE', '/api/9/http/upstreams/'],
    ['DELETE', '/api/9/http/'],
  ]) {
    assertPlusError(await call(method, path), 405, 'MethodNotSupported');
  }
});

test('a body past client_body_buffer_size is 413, with the error body', async () => {
  // The default is 16k, as nginx's on 64-bit platforms.
  const big = JSON.stringify({ k: 'x'.repeat(17 * 1024) });
  assertPlusError(await call('POST', '/api/9/http/keyvals/kv', big), 413, 'RequestEntityTooLarge');
  const fits = JSON.stringify({ k: 'x'.repeat(15 * 1024) });
  assert.equal((await call('POST', '/api/9/http/keyvals/kv', fits)).status, 201);
  // client_body_buffer_size in the location sets it.
  const medium = JSON.stringify({ m: 'x'.repeat(2000) });
  assertPlusError(await call('POST', '/small/9/http/keyvals/kv', medium), 413, 'RequestEntityTooLarge');
  assertPlusError(await call('PATCH', '/small/9/http/keyvals/kv', medium), 413, 'RequestEntityTooLarge');
  assert.equal((await call('PATCH', '/small/9/http/keyvals/kv', '{"k":"short"}')).status, 204);
  assert.match(z.errorLog(), /client intended to send too large body/);
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/kv')).text), { k: 'short' });
  assert.equal((await call('DELETE', '/api/9/http/keyvals/kv')).status, 204);
});

test('bad bodies: not JSON 415 JsonError, JSON but not an object 400 KeyvalFormatError', async () => {
  for (const method of ['POST', 'PATCH']) {
    for (const bad of ['{"a": ', 'a=1', '']) {
      assertPlusError(await call(method, '/api/9/http/keyvals/kv', bad), 415, 'JsonError');
    }
    for (const notObject of ['["a"]', '"a"', '1', 'null']) {
      assertPlusError(await call(method, '/api/9/http/keyvals/kv', notObject), 400, 'KeyvalFormatError');
    }
  }
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/kv')).text), {});
});

test('a broken chunked body is 400 BodyReadError', async () => {
  const raw =
    'POST /api/9/http/keyvals/kv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' +
    'Transfer-Encoding: chunked\r\n\r\nzz\r\n{"a":"1"}\r\n0\r\n\r\n';
  const text = await z.rawRequest(raw);
  assert.match(text, /^HTTP\/1\.1 400 /);
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error.code, 'BodyReadError');
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/kv')).text), {});
});

test('keyval errors carry the Plus error body; PATCH {"value","expire"} changes both', async () => {
  assertPlusError(await z.request('/api/9/http/keyvals/nope'), 404, 'KeyvalNotFound');
  assertPlusError(
    await z.request('/api/9/http/keyvals/kv?key=none'),
    404,
    'KeyvalKeyNotFound',
    'key "none" not found',
  );
  assert.equal((await call('POST', '/api/9/http/keyvals/timed', '{"s":{"value":"v1"}}')).status, 201);
  assertPlusError(
    await call('POST', '/api/9/http/keyvals/timed', '{"s":"again"}'),
    409,
    'KeyvalKeyExists',
    'key "s" already exists',
  );
  const patch = '{"s":{"value":"v2","expire":300}}';
  assert.equal((await call('PATCH', '/api/9/http/keyvals/timed', patch)).status, 204);
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/timed?key=s')).text), { s: 'v2' });
  await new Promise((r) => setTimeout(r, 500));
  assertPlusError(await z.request('/api/9/http/keyvals/timed?key=s'), 404, 'KeyvalKeyNotFound');
  // {"value","expire"} is API version 5's: version 4 refuses the object form.
  assertPlusError(
    await call('POST', '/api/4/http/keyvals/timed', '{"t":{"value":"v"}}'),
    400,
    'KeyvalFormatError',
  );
  assert.equal((await call('POST', '/api/4/http/keyvals/timed', '{"t":"v"}')).status, 201);
  for (const bad of ['{"u":{"value":"v","expire":0}}', '{"u":{"value":"v","expire":"1"}}', '{"u":{}}']) {
    assertPlusError(await call('POST', '/api/9/http/keyvals/timed', bad), 400, 'KeyvalFormatError');
  }
  assert.equal((await call('DELETE', '/api/9/http/keyvals/timed')).status, 204);
});

test('keyvals: ?key= is percent-decoded; values are UTF-8 both ways; ?fields= empty on the list', async () => {
  assert.equal((await call('POST', '/api/9/http/keyvals/kv', '{"a b/é":"värde ✓"}')).status, 201);
  const one = await z.request(`/api/9/http/keyvals/kv?key=${encodeURIComponent('a b/é')}`);
  assert.equal(one.status, 200);
  assert.deepEqual(JSON.parse(one.text), { 'a b/é': 'värde ✓' });
  assertPlusError(await z.request('/api/9/http/keyvals/kv?key=a+b%2F%C3%A9'), 404, 'KeyvalKeyNotFound');
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/?fields=')).text), {
    kv: {},
    timed: {},
    tiny: {},
  });
  assert.equal((await call('DELETE', '/api/9/http/keyvals/kv')).status, 204);
});

test('a full zone: 507 KeyvalZoneFull for POST (one pair or several) and PATCH, nothing lost', async () => {
  const big = 'x'.repeat(1500);
  const bulk = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`b${i}`, big]));
  assertPlusError(
    await call('POST', '/big/9/http/keyvals/tiny', JSON.stringify(bulk)),
    507,
    'KeyvalZoneFull',
    'keyval zone "tiny" is full',
  );
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/tiny')).text), {}, 'all or nothing');
  let n = 0;
  while ((await call('POST', '/api/9/http/keyvals/tiny', JSON.stringify({ [`k${n}`]: big }))).status === 201)
    n++;
  assert.ok(n > 3, String(n));
  assert.equal((await call('PATCH', '/api/9/http/keyvals/tiny', '{"k0":"small"}')).status, 204);
  const grown = JSON.stringify({ k0: 'y'.repeat(6000) });
  assertPlusError(await call('PATCH', '/api/9/http/keyvals/tiny', grown), 507, 'KeyvalZoneFull');
  const pairs = JSON.parse((await z.request('/api/9/http/keyvals/tiny')).text);
  assert.equal(Object.keys(pairs).length, n);
  assert.equal(pairs.k0, 'small', 'a PATCH that does not fit keeps the old value');
  assert.equal((await call('DELETE', '/api/9/http/keyvals/tiny')).status, 204);
});

test('/stream/keyvals/{zone}: every method, its statuses and errors, apart from the http zones', async () => {
  const S = '/api/9/stream/keyvals';
  assert.deepEqual(JSON.parse((await z.request(`${S}/`)).text), { skv: {} });
  assert.deepEqual(JSON.parse((await z.request(`${S}/?fields=`)).text), { skv: {} });
  for (const [method, body] of [['GET'], ['POST', '{"a":"1"}'], ['PATCH', '{"a":"1"}'], ['DELETE']]) {
    assertPlusError(await call(method, `${S}/kv`, body), 404, 'KeyvalNotFound', 'keyval not found');
  }
  assert.equal((await call('POST', `${S}/skv`, '{"a":"1","b":{"value":"2","expire":60000}}')).status, 201);
  assertPlusError(
    await call('POST', `${S}/skv`, '{"a":"x"}'),
    409,
    'KeyvalKeyExists',
    'key "a" already exists',
  );
  assert.deepEqual(JSON.parse((await z.request(`${S}/skv?key=b`)).text), { b: '2' });
  assertPlusError(await z.request(`${S}/skv?key=zz`), 404, 'KeyvalKeyNotFound');
  assert.equal((await call('PATCH', `${S}/skv`, '{"a":"changed"}')).status, 204);
  assert.equal((await call('PATCH', `${S}/skv`, '{"a":{"expire":60000}}')).status, 204);
  assert.equal((await call('PATCH', `${S}/skv`, '{"b":null}')).status, 204);
  assertPlusError(await call('PATCH', `${S}/skv`, '{"b":"x"}'), 404, 'KeyvalKeyNotFound');
  assertPlusError(await call('PATCH', `${S}/skv`, '{"a": '), 415, 'JsonError');
  assert.deepEqual(JSON.parse((await z.request(`${S}/skv`)).text), { a: 'changed' });
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/keyvals/')).text).skv, undefined);
  assert.equal((await call('DELETE', `${S}/skv`)).status, 204);
  assert.deepEqual(JSON.parse((await z.request(`${S}/skv`)).text), {});
  assertPlusError(await z.request('/api/1/stream/keyvals/skv'), 404, 'PathNotFound');
});

test('limit_reqs: ?fields= on one zone, DELETE of an unknown zone is 404 LimitReqNotFound', async () => {
  assert.equal((await z.request('/lim?k=1')).status, 200);
  assert.equal((await z.request('/lim?k=1')).status, 503);
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/limit_reqs/lim?fields=passed,rejected')).text), {
    passed: 1,
    rejected: 1,
  });
  assertPlusError(await call('DELETE', '/api/9/http/limit_reqs/nope'), 404, 'LimitReqNotFound');
  assertPlusError(await z.request('/api/5/http/limit_reqs/lim'), 404, 'PathNotFound');
});

test('upstreams: ?fields= on the list and one group, a down peer, DELETE of an unknown group is 404', async () => {
  const all = JSON.parse((await z.request('/api/9/http/upstreams/?fields=zone')).text);
  assert.deepEqual(all, { app: { zone: 'app' } });
  assert.deepEqual(JSON.parse((await z.request('/api/9/http/upstreams/?fields=')).text), { app: {} });
  const one = JSON.parse((await z.request('/api/9/http/upstreams/app?fields=peers,keepalive')).text);
  assert.deepEqual(Object.keys(one), ['peers', 'keepalive']);
  assert.equal(one.peers[0].server, `127.0.0.1:${backend.port}`);
  assert.deepEqual(
    one.peers.map((p: { state: string }) => p.state),
    ['up', 'down'],
  );
  assertPlusError(await call('DELETE', '/api/9/http/upstreams/nope'), 404, 'UpstreamNotFound');
  const head = await z.request('/api/9/http/upstreams/app', { method: 'HEAD' });
  assert.deepEqual([head.status, head.headers['content-type'], head.text], [200, 'application/json', '']);
});
