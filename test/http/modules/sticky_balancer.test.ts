// The sticky balancer over round robin with a learn zone on a manual clock: binding, rebinding,
// refresh and expiry, `header` timing, a full zone, cookies and routes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Hlc, ManualClock } from '../../../src/core/clock.ts';
import { StickyBalancer, type StickyParts, serverId } from '../../../src/http/modules/sticky_balancer.ts';
import { parseSticky } from '../../../src/http/modules/sticky_conf.ts';
import { StickyCookie } from '../../../src/http/modules/sticky_cookie.ts';
import { StickySessions, stickyZoneType } from '../../../src/http/modules/sticky_sessions.ts';
import type { HttpRequest } from '../../../src/http/types.ts';
import type { Peer } from '../../../src/http/upstream/balancer.ts';
import { RoundRobin } from '../../../src/http/upstream/round_robin.ts';
import { newPeer } from '../../../src/http/upstream/upstream.ts';
import type { VariableGetter } from '../../../src/variables/registry.ts';
import { Zone } from '../../../src/zones/zone.ts';
import { fakeRequest } from '../../helpers/fake_request.ts';

const T0 = Date.UTC(2026, 0, 1);

function peers(count: number, routes: string[] = []): Peer[] {
  return Array.from({ length: count }, (_, i) =>
    newPeer('127.0.0.1', 8001 + i, `s${i}`, i, {
      server: `s${i}`,
      addresses: ['127.0.0.1'],
      port: 8001 + i,
      weight: 1,
      maxFails: 1,
      failTimeout: 10_000,
      backup: false,
      down: false,
      route: routes[i] ?? '',
    }),
  );
}

/** `$lookup` and `$create` read r.vars, so a test sets what the cookie and the upstream said. */
const fromVars =
  (name: string): VariableGetter =>
  (r) =>
    r.vars.get(name);

interface Learning {
  balancer: StickyBalancer;
  list: Peer[];
  zone: Zone;
  clock: ManualClock;
  logs: string[];
}

function learning(options: { atHeader?: boolean; size?: number; timeout?: number } = {}): Learning {
  const clock = new ManualClock(T0);
  const logs: string[] = [];
  const zone = new Zone({
    name: 'sessions',
    type: stickyZoneType,
    size: options.size ?? 32768,
    sync: false,
    hlc: new Hlc(1, clock),
    clock,
    log: (level, message) => logs.push(`[${level}] ${message}`),
  });
  const list = peers(3);
  const balancer = new StickyBalancer(new RoundRobin({ peers: list, backups: [] }, () => clock.now()));
  const sessions = new StickySessions(zone, options.timeout ?? 10_000);
  balancer.prepare({
    lookup: [fromVars('lookup')],
    learn: { sessions: () => sessions, create: [fromVars('create')], atHeader: options.atHeader ?? false },
  });
  return { balancer, list, zone, clock, logs };
}

/** One request: `lookup` is the client's session, `create` what the upstream sets; the server used. */
function request(
  b: StickyBalancer,
  vars: { lookup?: string; create?: string },
  outcome: 'ok' | 'failed' = 'ok',
): string {
  const r = fakeRequest();
  if (vars.lookup) r.vars.set('lookup', vars.lookup);
  const sel = b.select(r, () => {});
  const peer = sel.pick();
  assert.ok(peer);
  if (vars.create) r.vars.set('create', vars.create);
  sel.responseHead?.(peer, 200, [], []);
  sel.report(peer, outcome);
  return peer.server;
}

test('learn: a created session binds later requests to the server that answered', () => {
  const { balancer } = learning();
  const first = request(balancer, { create: 'abc' });
  for (let i = 0; i < 5; i++) assert.equal(request(balancer, { lookup: 'abc' }), first);
  // an unknown session id balances normally and, with no create value, makes no session
  const other = new Set([request(balancer, { lookup: 'zzz' }), request(balancer, { lookup: 'zzz' })]);
  assert.equal(other.size, 2);
});

test('learn: the session key is the MD5 of the id, the value the server id', () => {
  const { balancer, zone, list } = learning();
  const server = request(balancer, { create: 'abc' });
  const record = zone.get(createHash('md5').update('abc').digest());
  const peer = list.find((p) => p.server === server) as Peer;
  assert.equal(Buffer.from(record?.value ?? []).toString(), serverId(peer));
  assert.equal(serverId(peer), createHash('md5').update(peer.name).digest('hex'));
});

test('learn: a failed or down server rebinds the session to the one that answered', () => {
  const { balancer, list } = learning();
  const first = request(balancer, { create: 'abc' });
  const bound = list.find((p) => p.server === first) as Peer;
  // the bound server fails once (max_fails=1): the retry goes elsewhere and is learned
  const r = fakeRequest();
  r.vars.set('lookup', 'abc');
  const sel = balancer.select(r, () => {});
  assert.equal(sel.pick(), bound);
  sel.report(bound, 'failed');
  const retry = sel.pick() as Peer;
  assert.notEqual(retry, bound);
  sel.report(retry, 'ok');
  assert.equal(request(balancer, { lookup: 'abc' }), retry.server);
  // a down server is never picked for its sessions either
  (retry as { down: boolean }).down = true;
  const third = request(balancer, { lookup: 'abc' });
  assert.notEqual(third, retry.server);
  assert.equal(request(balancer, { lookup: 'abc' }), third);
});

test('learn: sessions expire `timeout` after their last use, which refreshes them', () => {
  const { balancer, clock } = learning({ timeout: 1000 });
  const first = request(balancer, { create: 'abc' });
  clock.advance(999);
  assert.equal(request(balancer, { lookup: 'abc' }), first);
  clock.advance(999);
  assert.equal(request(balancer, { lookup: 'abc' }), first);
  clock.advance(1000);
  // expired: balanced as unbound; nothing is learned for a lookup without a session
  const servers = new Set([0, 1, 2].map(() => request(balancer, { lookup: 'abc' })));
  assert.equal(servers.size, 3);
});

test('learn: a failed request learns nothing', () => {
  const { balancer, zone } = learning();
  request(balancer, { create: 'abc' }, 'failed');
  assert.equal(zone.stats().records, 0);
});

test('learn header: the session exists once the head is in, before the response ends', () => {
  for (const atHeader of [true, false]) {
    const { balancer, zone } = learning({ atHeader });
    const r = fakeRequest();
    const sel = balancer.select(r, () => {});
    const peer = sel.pick() as Peer;
    r.vars.set('create', 'abc');
    sel.responseHead?.(peer, 200, [], []);
    assert.equal(zone.stats().records, atHeader ? 1 : 0);
    sel.report(peer, 'ok');
    assert.equal(zone.stats().records, 1);
  }
});

test('learn: a full zone expires its least recently used session with nginx warning', () => {
  const { balancer, zone, logs } = learning({ size: 32768 });
  let n = 0;
  while (logs.length === 0) request(balancer, { create: `session-${n++}` });
  assert.deepEqual(logs, [
    '[warn] could not allocate node in sticky session zone "sessions", expiring least recently used session',
  ]);
  const oldest = createHash('md5').update('session-0').digest();
  const newest = createHash('md5')
    .update(`session-${n - 1}`)
    .digest();
  assert.equal(zone.get(oldest), undefined);
  assert.ok(zone.get(newest));
});

test('bound requests count toward the server share of round robin', () => {
  const { balancer } = learning();
  const first = request(balancer, { create: 'abc' });
  request(balancer, { lookup: 'abc' });
  request(balancer, { lookup: 'abc' });
  // the next unbound requests go to the two other servers first
  const next = [request(balancer, {}), request(balancer, {})];
  assert.ok(!next.includes(first), `${next} should not include ${first}`);
});

function withParts(list: Peer[], parts: StickyParts): StickyBalancer {
  const balancer = new StickyBalancer(new RoundRobin({ peers: list, backups: [] }));
  balancer.prepare(parts);
  return balancer;
}

test('cookie: every proxied response names its server; the cookie binds the next requests', () => {
  const list = peers(3);
  const conf = parseSticky({ name: 'sticky', args: ['cookie', 'srv', 'path=/'], file: 'f', line: 1 });
  const cookie = new StickyCookie(conf.mode === 'cookie' ? conf.cookie : ({} as never), (text) => ({
    text,
    constant: text,
    evaluate: () => text,
  }));
  const balancer = withParts(list, { lookup: [fromVars('srv')], cookie });
  const answer = (r: HttpRequest): [string, string[]] => {
    const sel = balancer.select(r, () => {});
    const peer = sel.pick() as Peer;
    const add: string[] = [];
    sel.responseHead?.(peer, 200, [], add);
    sel.report(peer, 'ok');
    return [peer.server, add];
  };
  const [server, add] = answer(fakeRequest());
  const sid = serverId(list.find((p) => p.server === server) as Peer);
  assert.deepEqual(add, ['Set-Cookie', `srv=${sid}; path=/`]);
  for (let i = 0; i < 4; i++) {
    const r = fakeRequest();
    r.vars.set('srv', sid);
    assert.deepEqual(answer(r), [server, ['Set-Cookie', `srv=${sid}; path=/`]]);
  }
  // an unknown server id is balanced as unbound
  const r = fakeRequest();
  r.vars.set('srv', 'gone');
  assert.equal(answer(r)[1].length, 2);
});

test('route: the first non-empty variable picks the server with that route=', () => {
  const list = peers(3, ['a', 'b', 'c']);
  const balancer = withParts(list, { lookup: [fromVars('first'), fromVars('second')] });
  const route = (vars: Record<string, string>): string => {
    const r = fakeRequest();
    for (const [k, v] of Object.entries(vars)) r.vars.set(k, v);
    const sel = balancer.select(r, () => {});
    const peer = sel.pick() as Peer;
    sel.report(peer, 'ok');
    return peer.server;
  };
  assert.equal(route({ first: 'c' }), 's2');
  assert.equal(route({ first: 'c' }), 's2');
  assert.equal(route({ first: '', second: 'b' }), 's1');
  assert.equal(route({ first: 'a', second: 'b' }), 's0');
  const unbound = new Set([route({ first: 'x' }), route({ first: 'x' }), route({})]);
  assert.equal(unbound.size, 3);
});
