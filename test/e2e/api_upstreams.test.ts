// `/api/9/http/upstreams/` through a real bin/zonesync: groups with a `zone`, their peers' counters
// after proxied requests and failures, one group, DELETE, and the unknown-upstream error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Backend, closedPort, httpBackend } from '../helpers/backend.ts';
import { type Instance, startZonesync } from '../helpers/instance.ts';

let z: Instance;
let backend: Backend;
let deadPort: number;

before(async () => {
  backend = await httpBackend('app');
  deadPort = await closedPort();
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  upstream app {
    zone app 64k;
    server 127.0.0.1:${backend.port} weight=2;
    server 127.0.0.1:${deadPort} max_fails=1 fail_timeout=30s;
    server 127.0.0.1:${backend.port} backup;
  }
  upstream nozone { server 127.0.0.1:${backend.port}; }
  server {
    listen 127.0.0.1:{{PORT}};
    location / { proxy_pass http://app; }
    location /nz/ { proxy_pass http://nozone; }
    location /api/ { api write=on; }
  }
}`,
  });
});
after(async () => {
  await z.stop();
  await backend.close();
});

const api = async (path: string) => JSON.parse((await z.request(`/api/9/http/upstreams/${path}`)).text);

test('groups with a zone are listed with their peers in Plus shape', async () => {
  for (let i = 0; i < 4; i++) assert.equal((await z.request('/hello')).status, 200);
  await z.request('/nz/x');
  const all = await api('');
  assert.deepEqual(Object.keys(all), ['app'], 'only upstreams with a zone, as in Plus');
  const app = all.app;
  assert.deepEqual([app.zone, app.zombies, app.keepalive], ['app', 0, 0]);
  assert.equal(app.peers.length, 3);
  const [live, dead, backup] = app.peers;
  assert.deepEqual(
    [live.id, live.server, live.name, live.backup, live.weight, live.state],
    [0, `127.0.0.1:${backend.port}`, `127.0.0.1:${backend.port}`, false, 2, 'up'],
  );
  assert.equal(live.requests, 4);
  assert.equal(live.responses['2xx'], 4);
  assert.equal(live.responses.total, 4);
  assert.deepEqual(live.responses.codes, { 200: 4 });
  assert.ok(live.sent > 0 && live.received > 0);
  assert.equal(live.active, 0);
  assert.match(live.selected, /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof live.response_time, 'number');
  assert.deepEqual(live.health_checks, { checks: 0, fails: 0, unhealthy: 0 });
  // The dead server was tried once, failed, and is unavailable for fail_timeout.
  assert.deepEqual([dead.requests, dead.fails, dead.unavail, dead.state], [1, 1, 1, 'unavail']);
  assert.match(dead.downstart, /^\d{4}-/);
  assert.equal(backup.backup, true);
  assert.equal(backup.requests, 0);
});

test('one group, DELETE resets its counters, an unknown group is UpstreamNotFound', async () => {
  const app = await api('app');
  assert.ok(app.peers[0].requests > 0);
  assert.equal((await z.request('/api/9/http/upstreams/app', { method: 'DELETE' })).status, 204);
  const reset = await api('app');
  assert.deepEqual([reset.peers[0].requests, reset.peers[0].responses.total], [0, 0]);
  const missing = await z.request('/api/9/http/upstreams/nozone');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.text).error.code, 'UpstreamNotFound');
});
