// examples/cluster.conf, the embedded default `npm start` runs, has each part it is meant to show:
// the NGINXaaS seed's plain-TCP stream block, demo backends served by zonesync itself with
// `return`, a synced limit_req zone, a synced keyval zone that routes requests, a synced `sticky
// learn` upstream, and the API with `write=on` on a server each node binds on its own loopback
// address. (test/e2e/readme.test.ts runs it; this says what it is made of.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { scanConfig } from '../../src/cluster/config_scan.ts';
import { apiBase } from '../../src/cluster/status.ts';
import { find, findAll } from '../../src/config/tree.ts';
import type { ConfBlock } from '../../src/config/types.ts';
import { ROOT } from '../helpers/instance.ts';
import { PLAIN } from '../helpers/seed_configs.ts';

const FILE = path.join(ROOT, 'examples/cluster.conf');
const config = scanConfig(FILE, path.join(ROOT, 'examples/'));
const http = config.http as ConfBlock;
const servers = findAll(http, 'server').map((e) => e.block as ConfBlock);

/** Text without comments, blank runs made one space. */
const bare = (text: string) => text.replace(/#.*$/gm, '').replace(/\s+/g, ' ').trim();

test("the stream block is the seed's plain-TCP one, with valid=5s for quicker scaling", () => {
  const text = readFileSync(FILE, 'utf8');
  const stream = text.slice(text.indexOf('\nstream {') + 1);
  assert.equal(bare(stream), bare(PLAIN).replace('valid=20s', 'valid=5s'));
});

test('synced limit_req, keyval and sticky learn zones', () => {
  assert.deepEqual(
    config.zones.map((z) => [z.directive, z.name, z.sync]),
    [
      ['keyval_zone', 'flags', true],
      ['limit_req_zone', 'perclient', true],
      ['sticky', 'sessions', true],
    ],
  );
  // The limit_req zone limits a location.
  assert.ok(
    config.locations.some((l) => findAll(l.block, 'limit_req').some((e) => e.args[0] === 'zone=perclient')),
  );
});

test('the keyval zone routes requests: its variable decides an `if` that answers 503', () => {
  const keyval = findAll(http, 'keyval').find((e) => e.args[2] === 'zone=flags');
  assert.ok(keyval, 'a keyval variable of the zone "flags"');
  const variable = keyval.args[1];
  const routed = servers.flatMap((s) =>
    findAll(s, 'if').filter(
      (e) => e.args.join(' ').includes(variable) && find(e.block as ConfBlock, 'return')?.args[0] === '503',
    ),
  );
  assert.equal(routed.length, 1);
});

test('the sticky upstream balances over demo backends that zonesync serves with `return`', () => {
  const upstream = findAll(http, 'upstream').find((e) => e.block && find(e.block, 'sticky'))?.block;
  assert.ok(upstream);
  const backends = findAll(upstream, 'server').map((e) => e.args[0]);
  assert.deepEqual(backends, ['127.0.0.1:8081', '127.0.0.1:8082']);
  for (const backend of backends) {
    const port = backend.split(':')[1];
    const server = servers.find((s) => find(s, 'listen')?.args[0] === port);
    assert.ok(server, `a server listening on ${port}`);
    assert.equal(find(server, 'return')?.args[0], '200');
  }
  // The upstream is what the site's `/` proxies to.
  const root = config.locations.find((l) => l.path === '/');
  assert.equal(find(root?.block as ConfBlock, 'proxy_pass')?.args[0], 'http://app');
});

test("the API takes writes, on a port-only server: each node's own 127.0.0.N", () => {
  const api = config.locations.find((l) => find(l.block, 'api') !== undefined);
  assert.ok(api);
  assert.deepEqual(find(api.block, 'api')?.args, ['write=on']);
  // Port-only: `--listen-address` binds it to the node's loopback address, nothing else.
  assert.equal(api.host, null);
  assert.equal(apiBase(config, '127.0.0.2'), 'http://127.0.0.2:8090/api');
});
