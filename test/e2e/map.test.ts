// The map module through a real bin/zonesync process: exact, regex and hostname keys, captures,
// variables in values, volatile, include, and configuration errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Instance, runZonesync, startZonesync } from '../helpers/instance.ts';

let z: Instance;

before(async () => {
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  map_hash_bucket_size 128;
  map_hash_max_size 4096;
  map $uri $kind {
    default         other;
    /exact          exact;
    ~^/img/(.+)\\.png$ "png:$1";
    ~*^/DOC/        doc;
    include         extra.map;
  }
  map $http_host $site {
    hostnames;
    default        none;
    example.com    apex;
    *.example.com  sub;
    www.example.*  www;
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
  server {
    listen 127.0.0.1:{{PORT}};
    location / { return 200 "$kind|$site|$connection_upgrade"; }
  }
}`,
    files: { 'conf/extra.map': '/included included;\n' },
  });
});
after(() => z.stop());

const get = async (path: string, host = 'localhost', headers: Record<string, string> = {}) =>
  (await z.request(path, { host, headers })).text;

test('exact, regex with captures, caseless regex, include, default', async () => {
  assert.equal(await get('/exact'), 'exact|none|close');
  assert.equal(await get('/img/cat.png'), 'png:cat|none|close');
  assert.equal(await get('/doc/readme'), 'doc|none|close');
  assert.equal(await get('/included'), 'included|none|close');
  assert.equal(await get('/zzz'), 'other|none|close');
});

test('hostnames wildcards', async () => {
  assert.equal(await get('/', 'example.com'), 'other|apex|close');
  assert.equal(await get('/', 'a.example.com'), 'other|sub|close');
  assert.equal(await get('/', 'www.example.org'), 'other|www|close');
});

test('empty-string key', async () => {
  assert.equal(await get('/', 'localhost', { Upgrade: 'websocket' }), 'other|none|upgrade');
});

test('configuration errors are reported with nginx wording', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-map-'));
  mkdirSync(path.join(dir, 'conf'));
  mkdirSync(path.join(dir, 'logs'));
  const conf = path.join(dir, 'conf/zonesync.conf');
  writeFileSync(conf, 'events {}\nhttp {\n  map $uri $x {\n    default a;\n    default b;\n  }\n}\n');
  const r = await runZonesync(['-p', dir, '-t']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`\\[emerg\\] duplicate default map parameter in ${conf}:5\n`));
  rmSync(dir, { recursive: true, force: true });
});
