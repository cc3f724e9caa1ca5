// examples/html/dashboard.html, served next to the API by a real bin/zonesync: the page itself, and
// every `/api/9/...` path it polls answering 200 JSON, in the shapes it reads, on an instance where
// each module is configured. The paths are read from the page, so the page and the API cannot drift
// apart unnoticed. Also: the page stays self-contained, and the example configurations serve it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Instance, ROOT, runZonesync, startZonesync } from '../helpers/instance.ts';

const PAGE = readFileSync(path.join(ROOT, 'examples/html/dashboard.html'), 'utf8');

/** The API paths the page requests: its string literals starting with /api/9/. */
const API_PATHS = [...new Set([...PAGE.matchAll(/['"`](\/api\/9\/[^'"`\s]*)['"`]/g)].map((m) => m[1]))];

const CONF = `
events {}
http {
  access_log off;
  limit_req_zone $arg_k zone=lim:1m rate=1r/m;
  keyval_zone zone=kv:1m timeout=1h sync;
  keyval $arg_k $kv zone=kv;
  upstream app {
    zone app 64k;
    server 127.0.0.1:{{PORT3}};
  }
  server {
    listen 127.0.0.1:{{PORT}};
    root html;
    location /api/ { api write=on; }
    location = /dashboard.html { root html; }
    location = /limited { limit_req zone=lim; }
    location /app { proxy_pass http://app; }
  }
}
stream {
  server {
    listen 127.0.0.1:{{PORT1}};
    zone_sync;
    # Nobody listens there: one peer, never connected.
    zone_sync_server 127.0.0.1:{{PORT2}};
  }
}`;

let z: Instance;
before(async () => {
  z = await startZonesync({ conf: CONF, files: { 'html/dashboard.html': PAGE, 'html/limited': 'ok' } });
});
after(() => z?.stop());

test('GET /dashboard.html serves the page as text/html', async () => {
  const res = await z.request('/dashboard.html');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/html\b/);
  assert.equal(res.text, PAGE);
});

test('the page polls the endpoints it shows', () => {
  assert.deepEqual([...API_PATHS].sort(), [
    '/api/9/http/keyvals',
    '/api/9/http/limit_reqs',
    '/api/9/http/upstreams',
    '/api/9/nginx',
    '/api/9/stream/zone_sync',
  ]);
});

test('every API path of the page answers 200 JSON', async () => {
  await z.request('/limited?k=a');
  const post = await z.request('/api/9/http/keyvals/kv', { method: 'POST', body: '{"<b>k</b>":"<i>v</i>"}' });
  assert.equal(post.status, 201);
  const bodies: Record<string, Record<string, unknown>> = {};
  for (const p of API_PATHS) {
    const res = await z.request(p);
    assert.equal(res.status, 200, `${p}: ${res.text}`);
    assert.equal(res.headers['content-type'], 'application/json', p);
    bodies[p] = JSON.parse(res.text);
  }
  // The fields the page reads.
  const nginx = bodies['/api/9/nginx'];
  for (const k of ['version', 'build', 'address', 'pid', 'generation', 'load_timestamp', 'timestamp'])
    assert.ok(k in nginx, `nginx.${k}`);
  const sync = bodies['/api/9/stream/zone_sync'] as {
    status: Record<string, number>;
    zones: Record<string, { records_total: number; records_pending: number }>;
    zonesync: { ready: boolean; node: Record<string, unknown>; peers: Record<string, unknown>[] };
  };
  for (const k of ['nodes_online', 'msgs_in', 'msgs_out', 'bytes_in', 'bytes_out'])
    assert.equal(typeof sync.status[k], 'number', `status.${k}`);
  assert.deepEqual(Object.keys(sync.zones.kv).sort(), ['records_pending', 'records_total']);
  assert.equal(typeof sync.zonesync.ready, 'boolean');
  for (const k of ['name', 'instance', 'node_id']) assert.ok(k in sync.zonesync.node, `node.${k}`);
  assert.equal(sync.zonesync.peers.length, 1);
  for (const k of ['address', 'state', 'ready', 'zones']) assert.ok(k in sync.zonesync.peers[0], `peer.${k}`);
  assert.deepEqual(Object.keys(bodies['/api/9/http/limit_reqs'].lim as object).sort(), [
    'delayed',
    'delayed_dry_run',
    'passed',
    'rejected',
    'rejected_dry_run',
  ]);
  assert.deepEqual(bodies['/api/9/http/keyvals'].kv, { '<b>k</b>': '<i>v</i>' });
  const app = bodies['/api/9/http/upstreams'].app as {
    zone: string;
    keepalive: number;
    peers: Record<string, unknown>[];
  };
  assert.equal(app.zone, 'app');
  assert.equal(app.peers.length, 1);
  for (const k of [
    'server',
    'backup',
    'weight',
    'state',
    'active',
    'requests',
    'responses',
    'fails',
    'unavail',
    'sent',
    'received',
  ])
    assert.ok(k in app.peers[0], `peer.${k}`);
});

test('the page is self-contained plain JS that writes API values as text only', () => {
  assert.doesNotMatch(
    PAGE,
    /<script[^>]*\bsrc=|<link\b|@import|url\(/i,
    'no external scripts, styles or fonts',
  );
  assert.doesNotMatch(PAGE, /\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, 'no absolute URLs');
  assert.doesNotMatch(PAGE, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, 'no HTML from strings');
  const scripts = [...PAGE.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1);
  // Parsed, not run: a syntax error would leave the dashboard blank.
  assert.doesNotThrow(() => new Function(scripts[0]));
});

test('the example configurations serve the dashboard next to the API', async () => {
  for (const conf of ['cluster.conf', 'tls/cluster-tls.conf', 'tls/cluster-mtls.conf']) {
    const text = readFileSync(path.join(ROOT, 'examples', conf), 'utf8');
    // The server block (indented by 4) that holds the API.
    const api = text.indexOf('api write=on;');
    const server = text.slice(text.lastIndexOf('\n    server {', api), text.indexOf('\n    }\n', api));
    assert.match(server, /location = \/dashboard\.html \{\s*root html;\s*\}/, conf);
  }
  const res = await runZonesync(['-t', '-p', 'examples', '-c', 'cluster.conf']);
  assert.equal(res.code, 0, res.stderr);
});
