// What the runner reads from a configuration: the names to answer, where to answer them, the zones
// and their `sync` flag, the API; the roll-out check on `sync`; the walkthrough of the example.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { type ClusterConfig, scanConfig, syncChanges } from '../../src/cluster/config_scan.ts';
import { apiBase } from '../../src/cluster/status.ts';
import { walkthrough } from '../../src/cluster/walkthrough.ts';
import { ROOT } from '../helpers/instance.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-scan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function scan(text: string, name = 'c.conf'): ClusterConfig {
  writeFileSync(path.join(dir, name), text);
  return scanConfig(path.join(dir, name), `${dir}/`);
}

const zones = (sync: { kv: string; rl: string; st: string }) => `
events {}
http {
  keyval_zone zone=kv:1m timeout=1h${sync.kv};
  limit_req_zone $binary_remote_addr zone=rl:1m rate=1r/s${sync.rl};
  upstream b {
    server 127.0.0.1:8081;
    sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=st:1m${sync.st};
  }
  server {
    listen 8080;
    location / { proxy_pass http://b; }
    location /admin/ { location /admin/api/ { api write=on; } }
  }
}`;

test('finds the names zone_sync_server resolves, and the resolver they are asked of', () => {
  const c = scan(`
events {}
stream {
  resolver 127.0.0.1:5353 valid=3s;
  server {
    listen 9000;
    zone_sync;
    zone_sync_server Internal.Example.COM:9000 resolve;
    zone_sync_server internal.example.com:9000 resolve;
    zone_sync_server 127.0.0.9:9000;
  }
  server {
    listen 9001;
    resolver 127.0.0.2;
    zone_sync;
    zone_sync_server second.test:9001 resolve;
  }
}`);
  assert.deepEqual(c.names, ['internal.example.com', 'second.test']);
  assert.deepEqual(c.resolver, { host: '127.0.0.1', port: 5353, validMs: 3000 });
  assert.equal(c.pidPath('/p/'), '/p/logs/zonesync.pid');
});

test('has no names and no resolver without zone_sync', () => {
  const c = scan('events {}\nhttp { server { listen 8080; } }');
  assert.deepEqual([c.names, c.resolver, c.zones], [[], null, []]);
  assert.equal(apiBase(c, '127.0.0.2'), null);
});

test('lists the shared zones with their sync flag, and finds the API in a nested location', () => {
  const c = scan(zones({ kv: ' sync', rl: '', st: ' sync' }));
  assert.deepEqual(
    c.zones.map((z) => [z.directive, z.name, z.sync]),
    [
      ['keyval_zone', 'kv', true],
      ['limit_req_zone', 'rl', false],
      ['sticky', 'st', true],
    ],
  );
  assert.equal(apiBase(c, '127.0.0.2'), 'http://127.0.0.2:8080/admin/api');
});

test('refuses adding or removing sync on a zone that stays, with the zone and the advice', () => {
  const running = scan(zones({ kv: ' sync', rl: '', st: ' sync' })).zones;
  assert.deepEqual(syncChanges(running, running), []);
  const next = scan(zones({ kv: '', rl: ' sync', st: ' sync' }), 'next.conf').zones;
  const messages = syncChanges(running, next);
  assert.equal(messages.length, 2);
  assert.match(
    messages[0],
    /^the "sync" parameter cannot be removed from the existing zone "kv" in .*next\.conf:4;/,
  );
  assert.match(messages[1], /cannot be added to the existing zone "rl" in .*next\.conf:5;/);
  for (const m of messages)
    assert.match(m, /remove the directive, reload, then add it back with the new parameters$/);
});

test('lets a zone come or go with any flag: only a zone that stays is checked', () => {
  const running = scan(zones({ kv: ' sync', rl: '', st: '' })).zones;
  const next = scan(
    'events {}\nhttp { keyval_zone zone=other:1m; limit_req_zone $uri zone=kv:1m rate=1r/s; }',
    'n.conf',
  );
  assert.deepEqual(syncChanges(running, next.zones), []);
});

test("the example's walkthrough shows the shared rate limit, the keyval flag and the sticky session", () => {
  const c = scanConfig(path.join(ROOT, 'examples/cluster.conf'), path.join(ROOT, 'examples/'));
  assert.deepEqual(c.names, ['internal.nginxaas.nginx.com']);
  assert.deepEqual(c.resolver, { host: '127.0.0.1', port: 49153, validMs: 5000 });
  const text = walkthrough(c, ['127.0.0.1', '127.0.0.2', '127.0.0.3']).join('\n');
  assert.match(text, /curl -s -o \/dev\/null -w '%\{http_code\} ' \$u/);
  assert.match(text, /http:\/\/127\.0\.0\.3:8080\/limited/);
  assert.match(text, /-d '\{"maintenance":"on"\}' http:\/\/127\.0\.0\.1:8090\/api\/9\/http\/keyvals\/flags/);
  assert.match(text, /curl -s http:\/\/127\.0\.0\.3:8080\/$/m);
  assert.match(text, /grep -io 'session=\[\^;\]\*'/);
  assert.deepEqual(walkthrough(scan('events {}'), ['127.0.0.1']), []);
});
