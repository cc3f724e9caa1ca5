// The limit_req handler on a manual clock: its verdicts, log lines, `$limit_req_status`, counters,
// dry run, several limits, empty keys, and the zone's state layout (synced and not).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hlc, ManualClock } from '../../../src/core/clock.ts';
import { makeLimit, parseRate } from '../../../src/http/modules/limit_req_algorithm.ts';
import {
  type LimitReqOptions,
  type LocationLimit,
  limitReqHandler,
} from '../../../src/http/modules/limit_req_handler.ts';
import { LimitReqZone, limitReqZoneType } from '../../../src/http/modules/limit_req_zone.ts';
import { DECLINED, DONE, type HttpRequest, type PhaseResult } from '../../../src/http/types.ts';
import type { ComplexValue } from '../../../src/variables/types.ts';
import { Zone } from '../../../src/zones/zone.ts';
import { ZoneStore } from '../../../src/zones/zone_store.ts';
import { fakeRequest } from '../../helpers/fake_request.ts';

/** A key read from the request's `vars` (as `set $k ...` would leave it). */
const varKey = (name: string): ComplexValue => ({
  text: `$${name}`,
  constant: null,
  evaluate: (r) => r.vars.get(name) ?? '',
});

function makeZone(
  name: string,
  clock: ManualClock,
  options: { rate?: string; sync?: boolean; size?: number } = {},
) {
  const alerts: string[] = [];
  const zone = new Zone({
    name,
    type: limitReqZoneType,
    size: options.size ?? 64 * 1024,
    sync: options.sync ?? false,
    hlc: new Hlc(7, clock),
    clock,
    log: (level, message) => alerts.push(`[${level}] ${message}`),
  });
  const rate = parseRate(options.rate ?? '1r/s') as number;
  return { lrz: new LimitReqZone(zone, varKey(name), rate, clock), alerts };
}

interface Logged {
  logs: string[];
  request(vars: Record<string, string>): HttpRequest;
}

function requests(): Logged {
  const logs: string[] = [];
  return {
    logs,
    request(vars) {
      const r = fakeRequest({ target: '/x' });
      for (const [k, v] of Object.entries(vars)) r.vars.set(k, v);
      return Object.assign(r, {
        logError: (level: string, message: string) => logs.push(`[${level}] ${message}`),
      });
    },
  };
}

const defaults: LimitReqOptions = { status: 503, logLevel: 'error', dryRun: false };
const statusOf = (r: HttpRequest) => r.limitReqStatus;

test('burst and the default delay: the first is free, then excess/rate is held, then the status', async () => {
  const clock = new ManualClock();
  const { lrz } = makeZone('one', clock, { rate: '10r/s' });
  const limits: LocationLimit[] = [{ zone: lrz, limit: makeLimit(lrz.rate, 2) }];
  const handler = limitReqHandler(limits, defaults);
  const { logs, request } = requests();
  const r1 = request({ one: 'a' });
  assert.equal(handler(r1), DECLINED);
  assert.equal(statusOf(r1), 'PASSED');
  const r2 = request({ one: 'a' });
  const started = performance.now();
  const held = handler(r2) as Promise<PhaseResult>;
  assert.ok(held instanceof Promise);
  assert.equal(statusOf(r2), 'DELAYED');
  assert.deepEqual(logs, ['[warn] delaying request, excess: 1.000, by zone "one"']);
  assert.equal(await held, DECLINED);
  assert.ok(performance.now() - started >= 90, 'held 1.000 / 10r/s = 100 ms');
  clock.advance(50);
  const r3 = request({ one: 'a' });
  // 1.000 less 50 ms at 10r/s, plus this request: 1.500, over the (default) delay of 0.
  const held3 = handler(r3);
  assert.ok(held3 instanceof Promise);
  assert.equal(logs[1], '[warn] delaying request, excess: 1.500, by zone "one"');
  const r4 = request({ one: 'a' });
  assert.equal(handler(r4), 503);
  assert.equal(statusOf(r4), 'REJECTED');
  assert.equal(logs[2], '[error] limiting requests, excess: 2.500 by zone "one"');
  assert.deepEqual(
    { ...lrz.counters },
    { passed: 1, delayed: 2, rejected: 1, delayed_dry_run: 0, rejected_dry_run: 0 },
  );
  await held3;
});

test('nodelay passes the burst at once; limit_req_status and log level apply', () => {
  const clock = new ManualClock();
  const { lrz } = makeZone('one', clock);
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 1, 'nodelay') }], {
    status: 429,
    logLevel: 'notice',
    dryRun: false,
  });
  const { logs, request } = requests();
  const verdicts = [1, 2, 3].map(() => {
    const r = request({ one: '10.0.0.1' });
    return [handler(r), statusOf(r)];
  });
  assert.deepEqual(verdicts, [
    [DECLINED, 'PASSED'],
    [DECLINED, 'PASSED'],
    [429, 'REJECTED'],
  ]);
  assert.deepEqual(logs, ['[notice] limiting requests, excess: 2.000 by zone "one"']);
  clock.advance(1000);
  assert.equal(handler(request({ one: '10.0.0.1' })), DECLINED, 'a second later one more fits');
});

test('dry run: nothing is refused or held, but the zone counts and the status says what would be', () => {
  const clock = new ManualClock();
  const { lrz } = makeZone('one', clock);
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 1) }], {
    ...defaults,
    dryRun: true,
  });
  const { logs, request } = requests();
  const statuses = [1, 2, 3].map(() => {
    const r = request({ one: 'k' });
    assert.equal(handler(r), DECLINED);
    return statusOf(r);
  });
  assert.deepEqual(statuses, ['PASSED', 'DELAYED_DRY_RUN', 'REJECTED_DRY_RUN']);
  assert.deepEqual(logs, [
    '[warn] delaying request, dry run, excess: 1.000, by zone "one"',
    '[error] limiting requests, dry run, excess: 2.000 by zone "one"',
  ]);
  assert.deepEqual(
    { ...lrz.counters },
    { passed: 1, delayed: 0, rejected: 0, delayed_dry_run: 1, rejected_dry_run: 1 },
  );
});

test('several limits: the first over its burst rejects and nothing is charged anywhere', () => {
  const clock = new ManualClock();
  const { lrz: perKey } = makeZone('perkey', clock, { rate: '1r/s' });
  const { lrz: total } = makeZone('total', clock, { rate: '100r/s' });
  const handler = limitReqHandler(
    [
      { zone: perKey, limit: makeLimit(perKey.rate, 0, 'nodelay') },
      { zone: total, limit: makeLimit(total.rate, 5, 'nodelay') },
    ],
    defaults,
  );
  const { logs, request } = requests();
  assert.equal(handler(request({ perkey: 'a', total: 'all' })), DECLINED);
  assert.equal(handler(request({ perkey: 'a', total: 'all' })), 503);
  assert.match(logs[0], /excess: 1\.000 by zone "perkey"/);
  // The rejected request charged nothing in "total": two accepted requests leave 1.000 there.
  assert.equal(handler(request({ perkey: 'b', total: 'all' })), DECLINED);
  assert.equal(total.assess(Buffer.from('all'), total.now()).excess, 2000);
  assert.deepEqual([perKey.counters.passed, perKey.counters.rejected, total.counters.passed], [2, 1, 2]);
});

test('the longest delay wins and is logged with its zone; empty keys are not limited', async () => {
  const clock = new ManualClock();
  const { lrz: a } = makeZone('a', clock, { rate: '20r/s' });
  const { lrz: b } = makeZone('b', clock, { rate: '5r/s' });
  const handler = limitReqHandler(
    [
      { zone: a, limit: makeLimit(a.rate, 5) },
      { zone: b, limit: makeLimit(b.rate, 5) },
    ],
    defaults,
  );
  const { logs, request } = requests();
  assert.equal(handler(request({ a: 'x', b: 'y' })), DECLINED);
  const held = handler(request({ a: 'x', b: 'y' }));
  assert.ok(held instanceof Promise);
  // a: 1.000 at 20r/s is 50 ms; b: 1.000 at 5r/s is 200 ms.
  assert.equal(logs[0], '[warn] delaying request, excess: 1.000, by zone "b"');
  const empty = request({});
  assert.equal(handler(empty), DECLINED);
  assert.equal(statusOf(empty), undefined, 'no key: not limited, $limit_req_status not found');
  await held;
});

test('a request already limited is not limited again (internal redirects)', () => {
  const clock = new ManualClock();
  const { lrz } = makeZone('one', clock);
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate) }], defaults);
  const { request } = requests();
  const r = request({ one: 'k' });
  assert.equal(handler(r), DECLINED);
  assert.equal(handler(r), DECLINED);
  assert.equal(lrz.counters.passed, 1);
});

test('a client that leaves while delayed ends the request without an answer', async () => {
  const clock = new ManualClock();
  const { lrz } = makeZone('one', clock, { rate: '20r/s' });
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 1) }], defaults);
  const { request } = requests();
  assert.equal(handler(request({ one: 'k' })), DECLINED);
  const r = Object.assign(request({ one: 'k' }), { aborted: true });
  assert.equal(await handler(r), DONE);
});

test('a full zone forces out the least recently used state and logs nothing', () => {
  const clock = new ManualClock();
  const { lrz, alerts } = makeZone('one', clock, { size: 32 * 1024 });
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 0, 'nodelay') }], defaults);
  const { request } = requests();
  // Keys of one length, so that every state takes the same slab chunk size as the one evicted.
  const key = (i: number) => `key${String(i).padStart(4, '0')}`;
  for (let i = 0; i < 2000; i++) assert.equal(handler(request({ one: key(i) })), DECLINED);
  assert.ok(lrz.zone.store.size < 2000, 'states were evicted');
  assert.deepEqual(alerts, []);
  // The most recent keys are still limited; the first ones were forgotten.
  assert.equal(handler(request({ one: key(1999) })), 503);
  assert.equal(handler(request({ one: key(0) })), DECLINED);
});

test("a new key first frees idle, drained states from the LRU end (nginx's expire(1)), stopping at a live one", () => {
  const clock = new ManualClock();
  // 1r/m drains 976 in 61 s: one request leaves nothing behind, three leave 2.000 - 0.976.
  const { lrz } = makeZone('one', clock, { rate: '1r/m' });
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 5, 'nodelay') }], defaults);
  const { request } = requests();
  const keys = () => [...lrz.zone.snapshot()].map((r) => Buffer.from(r.key).toString()).sort();
  const pass = (key: string) => assert.equal(handler(request({ one: key })), DECLINED);
  pass('drained');
  for (let i = 0; i < 3; i++) pass('busy');
  clock.advance(59_000);
  pass('early');
  assert.deepEqual(keys(), ['busy', 'drained', 'early'], 'drained, but idle for less than a minute');
  clock.advance(2_000);
  pass('new');
  // "drained" (LRU tail) goes; "busy" still holds excess, so the walk stops there, before "early".
  assert.deepEqual(keys(), ['busy', 'early', 'new']);
  pass('busy');
  clock.advance(61_000);
  pass('newer');
  assert.deepEqual(keys(), ['busy', 'newer'], 'two drained states at the LRU end go for one new key');
});

test('a state that cannot be stored even after eviction: the status, an alert, no "limiting" line', () => {
  const clock = new ManualClock();
  const { lrz, alerts } = makeZone('one', clock, { size: 32 * 1024 });
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 0, 'nodelay') }], {
    ...defaults,
    status: 429,
  });
  const { logs, request } = requests();
  assert.equal(handler(request({ one: 'small' })), DECLINED);
  const r = request({ one: 'k'.repeat(40_000) });
  assert.equal(handler(r), 429);
  assert.equal(statusOf(r), 'REJECTED');
  assert.deepEqual(alerts, ['[alert] could not allocate node in limit_req zone "one"']);
  assert.deepEqual(logs, []);
});

test("a synced zone keeps per-node slots: a peer's requests count toward the limit here", () => {
  const clock = new ManualClock();
  const { lrz } = makeZone('one', clock, { sync: true });
  const peerZone = new LimitReqZone(
    new Zone({
      name: 'one',
      type: limitReqZoneType,
      size: 64 * 1024,
      sync: true,
      hlc: new Hlc(9, clock),
      clock,
    }),
    varKey('one'),
    lrz.rate,
    clock,
  );
  const handler = limitReqHandler([{ zone: lrz, limit: makeLimit(lrz.rate, 1, 'nodelay') }], defaults);
  const peerHandler = limitReqHandler(
    [{ zone: peerZone, limit: makeLimit(lrz.rate, 1, 'nodelay') }],
    defaults,
  );
  const { request } = requests();
  assert.equal(peerHandler(request({ one: 'k' })), DECLINED);
  assert.equal(peerHandler(request({ one: 'k' })), DECLINED);
  for (const record of peerZone.zone.snapshot()) assert.equal(lrz.zone.applyRemote(record), 'applied');
  // Two requests on the peer already fill burst=1 cluster-wide.
  assert.equal(handler(request({ one: 'k' })), 503);
});

/** Keys from least to most recently used, evicted from a copy of the zone's buffer. */
function lruOrder(zone: Zone): string[] {
  const copy = ZoneStore.attach(zone.store.memory.sab.slice(0) as unknown as SharedArrayBuffer);
  const order: string[] = [];
  copy.evictLru(Number.POSITIVE_INFINITY, (r) => order.push(Buffer.from(r.key).toString('latin1')) > 0);
  return order;
}

test('a lone limit (updated in place) decides and stores exactly as the general path', async () => {
  for (const options of [defaults, { ...defaults, dryRun: true }]) {
    const clock = new ManualClock(Date.UTC(2026, 0, 1), 10_000_000);
    const fast = makeZone('k', clock, { rate: '10r/s' }).lrz;
    const slow = makeZone('k', clock, { rate: '10r/s' }).lrz;
    const limit = makeLimit(fast.rate, 3, 1);
    const lone = limitReqHandler([{ zone: fast, limit }], options);
    // A second limit whose key is always empty: the same single verdict, by the general path.
    const unkeyed = makeZone('never', clock).lrz;
    const general = limitReqHandler(
      [
        { zone: slow, limit },
        { zone: unkeyed, limit },
      ],
      options,
    );
    const fastLog = requests();
    const slowLog = requests();
    const held: Promise<PhaseResult>[] = [];
    const outcome = (result: PhaseResult | Promise<PhaseResult>, r: HttpRequest) => {
      if (typeof result !== 'object') return [result, statusOf(r)];
      held.push(result);
      return ['held', statusOf(r)];
    };
    // Same-millisecond bursts, drains, small and large steps back of the clock, new keys.
    const steps = [0, 0, 1, 0, 30, 99, 0, 250, -5, 0, 2, -70_000, 0, 1500, 0, 0, 0, 7];
    let seed = 12345;
    for (let i = 0; i < 400; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      clock.advance(steps[seed % steps.length]);
      const key = i % 50 === 49 ? `new${i}\u00e9` : ['a', 'b', 'c\u00ff'][(seed >> 8) % 3];
      const fr = fastLog.request({ k: key });
      const sr = slowLog.request({ k: key });
      assert.deepEqual(outcome(lone(fr), fr), outcome(general(sr), sr), `request ${i}`);
      const f = fast.zone.get(Buffer.from(key, 'latin1'))!;
      const s = slow.zone.get(Buffer.from(key, 'latin1'))!;
      // (Stamps differ: an unsynced zone's in-place rewrite keeps the record's own, zone.ts.)
      assert.deepEqual([f.value, f.expireAt], [s.value, s.expireAt], `state after ${i}`);
    }
    assert.deepEqual(fastLog.logs, slowLog.logs);
    assert.ok(
      fastLog.logs.some((l) => l.includes('limiting')) && fastLog.logs.some((l) => l.includes('delaying')),
    );
    assert.deepEqual(fast.counters, slow.counters);
    assert.deepEqual(lruOrder(fast.zone), lruOrder(slow.zone));
    await Promise.all(held);
  }
});
