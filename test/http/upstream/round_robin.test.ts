import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpRequest } from '../../../src/http/types.ts';
import type { Peer, UpstreamGroup } from '../../../src/http/upstream/balancer.ts';
import { RoundRobin } from '../../../src/http/upstream/round_robin.ts';
import { newPeer } from '../../../src/http/upstream/upstream.ts';

interface Spec {
  weight?: number;
  maxFails?: number;
  failTimeout?: number;
  backup?: boolean;
  down?: boolean;
}

function group(specs: Record<string, Spec>, clock: () => number): UpstreamGroup {
  const peers: Peer[] = [];
  const backups: Peer[] = [];
  let port = 1;
  for (const [server, s] of Object.entries(specs)) {
    const list = s.backup ? backups : peers;
    const line = {
      server,
      addresses: ['127.0.0.1'],
      port,
      weight: s.weight ?? 1,
      maxFails: s.maxFails ?? 1,
      failTimeout: s.failTimeout ?? 10_000,
      backup: s.backup ?? false,
      down: s.down ?? false,
      route: '',
    };
    list.push(newPeer('127.0.0.1', port++, server, list.length, line));
  }
  const balancer = new RoundRobin({ peers, backups }, clock);
  return {
    name: 'u',
    peers,
    backups,
    explicit: true,
    keepalive: 0,
    keepaliveRequests: 100,
    keepaliveTimeout: 60_000,
    entry: null,
    balancer,
  };
}

const r = {} as HttpRequest;
const warnings: string[] = [];
const warn = (m: string) => warnings.push(m);

/** One request that succeeds on its first pick: the peer's server name. */
function once(g: UpstreamGroup): string | null {
  const sel = g.balancer.select(r, warn);
  const p = sel.pick();
  if (p === null) return null;
  sel.report(p, 'ok');
  return p.server;
}

test('smooth weighted round robin gives nginx sequence a a b a c a a', () => {
  const g = group({ a: { weight: 5 }, b: {}, c: {} }, () => 0);
  const seq = Array.from({ length: 14 }, () => once(g));
  assert.deepEqual(seq, ['a', 'a', 'b', 'a', 'c', 'a', 'a', 'a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('equal weights alternate', () => {
  const g = group({ a: {}, b: {}, c: {} }, () => 0);
  assert.deepEqual(
    Array.from({ length: 6 }, () => once(g)),
    ['a', 'b', 'c', 'a', 'b', 'c'],
  );
});

test('down servers are never picked', () => {
  const g = group({ a: { down: true }, b: {} }, () => 0);
  assert.deepEqual([once(g), once(g), once(g)], ['b', 'b', 'b']);
});

test('a failed peer is skipped within fail_timeout, then tried again', () => {
  let now = 1_000_000;
  const g = group({ a: { failTimeout: 10_000 }, b: {} }, () => now);
  const sel = g.balancer.select(r, warn);
  const first = sel.pick()!;
  assert.equal(first.server, 'a');
  sel.report(first, 'failed');
  assert.equal(sel.tries, 1);
  const second = sel.pick()!;
  assert.equal(second.server, 'b');
  sel.report(second, 'ok');
  assert.match(warnings.at(-1)!, /temporarily disabled/);
  // a is out for 10 seconds
  assert.deepEqual([once(g), once(g), once(g)], ['b', 'b', 'b']);
  now += 11_000;
  const seen = new Set([once(g), once(g), once(g)]);
  assert.ok(seen.has('a'));
});

test('max_fails=2 needs two failures in the window; max_fails=0 never disables', () => {
  const g = group({ a: { maxFails: 2 }, b: { maxFails: 0 } }, () => 5_000_000);
  const [a, b] = g.peers as Peer[];
  const fail = (peer: Peer) => {
    const sel = g.balancer.select(r, warn);
    let p = sel.pick();
    while (p !== null && p !== peer) {
      sel.report(p, 'ok');
      p = sel.pick();
    }
    sel.report(peer, 'failed');
  };
  fail(a!);
  assert.ok(new Set([once(g), once(g), once(g)]).has('a'));
  fail(a!);
  assert.deepEqual([once(g), once(g), once(g)], ['b', 'b', 'b']);
  for (let i = 0; i < 5; i++) fail(b!);
  assert.equal(once(g), 'b');
});

test('backup servers are used only when no primary is live', () => {
  const g = group({ a: {}, b: {}, bk: { backup: true } }, () => 0);
  const sel = g.balancer.select(r, warn);
  assert.equal(sel.tries, 3);
  const p1 = sel.pick()!;
  sel.report(p1, 'failed');
  const p2 = sel.pick()!;
  sel.report(p2, 'failed');
  const p3 = sel.pick()!;
  assert.equal(p3.server, 'bk');
  sel.report(p3, 'failed');
  assert.equal(sel.pick(), null);
  assert.equal(sel.tries, 0);
});

test('a single server is never disabled and allows one try', () => {
  const g = group({ a: {} }, () => 0);
  const sel = g.balancer.select(r, warn);
  const p = sel.pick()!;
  sel.report(p, 'failed');
  assert.equal(sel.tries, 0);
  assert.equal(p.fails, 0);
  assert.equal(once(g), 'a');
});

test('next (403/404) does not count as a failure', () => {
  const g = group({ a: {}, b: {} }, () => 0);
  const sel = g.balancer.select(r, warn);
  const p = sel.pick()!;
  sel.report(p, 'next');
  assert.equal(p.fails, 0);
});
