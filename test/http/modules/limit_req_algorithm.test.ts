import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assess,
  assessCluster,
  check,
  checkAll,
  decide,
  elapsed,
  formatExcess,
  type LimitReqLimit,
  type LimitReqState,
  makeLimit,
  type NodeContribution,
  parseRate,
} from '../../../src/http/modules/limit_req_algorithm.ts';

const T0 = 5_000_000; // a monotonic clock far from 0, as nginx's

/** Feed requests at the given times through one limit; returns outcomes and delays. */
function run(limit: LimitReqLimit, times: number[]): string[] {
  let state: LimitReqState | undefined;
  return times.map((t) => {
    const res = check(state, t, limit);
    state = res.newState;
    return res.outcome === 'delay' ? `delay ${res.delayMs}` : res.outcome;
  });
}

describe('rate', () => {
  it('is stored as requests per 1000 s, truncated as nginx does', () => {
    assert.equal(parseRate('1r/s'), 1000);
    assert.equal(parseRate('3r/s'), 3000);
    assert.equal(parseRate('30r/m'), 500);
    assert.equal(parseRate('1r/m'), 16);
    assert.equal(parseRate('7r/m'), 116);
    assert.equal(parseRate('5'), 5000);
  });

  it('refuses what nginx calls an invalid rate', () => {
    for (const bad of ['0r/s', 'r/s', '', '-1r/s', '1.5r/s', 'abc', '2r/h'])
      assert.equal(parseRate(bad), null, bad);
  });

  it('drains by whole thousandths: 1r/m lets a request in only after 62.5 s', () => {
    const limit = makeLimit(parseRate('1r/m') as number);
    // 16 * 60000 / 1000 = 960 drained: 40 over a burst of 0.
    assert.deepEqual(run(limit, [T0, T0 + 60_000]), ['pass', 'reject']);
    assert.deepEqual(run(limit, [T0, T0 + 62_499]), ['pass', 'reject']);
    assert.deepEqual(run(limit, [T0, T0 + 62_500]), ['pass', 'pass']);
  });

  it('30r/m needs 2 s between requests, 3r/s needs 334 ms', () => {
    const halfPerSecond = makeLimit(parseRate('30r/m') as number);
    assert.deepEqual(run(halfPerSecond, [T0, T0 + 1999]), ['pass', 'reject']);
    assert.deepEqual(run(halfPerSecond, [T0, T0 + 2000]), ['pass', 'pass']);
    const three = makeLimit(parseRate('3r/s') as number);
    assert.deepEqual(run(three, [T0, T0 + 333]), ['pass', 'reject']);
    assert.deepEqual(run(three, [T0, T0 + 334]), ['pass', 'pass']);
  });

  it('delays by excess over the rate: 30r/m, burst=5, second request waits 2 s', () => {
    const limit = makeLimit(500, 5);
    assert.deepEqual(run(limit, [T0, T0]), ['pass', 'delay 2000']);
  });
});

describe('one limit', () => {
  it('does not charge the first request of a key', () => {
    const res = check(undefined, T0, makeLimit(1000));
    assert.deepEqual(res, { outcome: 'pass', delayMs: 0, excess: 0, newState: { excess: 0, last: T0 } });
  });

  it('burst=5 queues exactly 5: delays of 1..5 s, then rejects', () => {
    const times = Array(7).fill(T0);
    assert.deepEqual(run(makeLimit(1000, 5), times), [
      'pass',
      'delay 1000',
      'delay 2000',
      'delay 3000',
      'delay 4000',
      'delay 5000',
      'reject',
    ]);
  });

  it('nodelay passes the burst at once', () => {
    const times = Array(7).fill(T0);
    assert.deepEqual(run(makeLimit(1000, 5, 'nodelay'), times), [
      'pass',
      'pass',
      'pass',
      'pass',
      'pass',
      'pass',
      'reject',
    ]);
  });

  it('delay=3 is two-stage: 3 extra pass, 2 wait, then rejects', () => {
    const times = Array(7).fill(T0);
    assert.deepEqual(run(makeLimit(1000, 5, 3), times), [
      'pass',
      'pass',
      'pass',
      'pass',
      'delay 1000',
      'delay 2000',
      'reject',
    ]);
  });

  it('burst=0 rejects a second request within 1/rate', () => {
    assert.deepEqual(run(makeLimit(1000), [T0, T0 + 999, T0 + 1000]), ['pass', 'reject', 'pass']);
  });

  it('does not record rejected requests', () => {
    const limit = makeLimit(1000, 1, 'nodelay');
    const first = check(undefined, T0, limit);
    const second = check(first.newState, T0, limit);
    assert.equal(second.outcome, 'pass');
    const rejected = check(second.newState, T0 + 10, limit);
    assert.equal(rejected.outcome, 'reject');
    assert.equal(rejected.excess, 1990);
    assert.equal(rejected.newState, second.newState);
    // Had the rejected one counted, 1 s later would still be over the burst.
    assert.equal(check(rejected.newState, T0 + 1000, limit).outcome, 'pass');
  });

  it('keeps `last` for requests in the same millisecond', () => {
    const a = assess({ excess: 500, last: T0 }, T0, 1000);
    assert.deepEqual(a, { excess: 1500, newState: { excess: 1500, last: T0 } });
  });

  it('treats a clock gone back under a minute as no time, over a minute as 1 ms', () => {
    assert.equal(elapsed(T0 - 500, T0), 0);
    assert.equal(elapsed(T0 - 60_000, T0), 0);
    assert.equal(elapsed(T0 - 60_001, T0), 1);
    const state = { excess: 2000, last: T0 };
    // Small step back: charged with no drain, `last` stays in the future.
    assert.deepEqual(assess(state, T0 - 500, 1000).newState, { excess: 3000, last: T0 });
    // Large step back: 1 ms of drain (1 thousandth at 1r/s), `last` follows the clock.
    assert.deepEqual(assess(state, T0 - 120_000, 1000).newState, { excess: 2999, last: T0 - 120_000 });
  });

  it('forgets everything after a long idle', () => {
    const res = check({ excess: 5000, last: T0 }, T0 + 3_600_000, makeLimit(1000, 5));
    assert.deepEqual(res, {
      outcome: 'pass',
      delayMs: 0,
      excess: 0,
      newState: { excess: 0, last: T0 + 3_600_000 },
    });
  });

  it('prints excess as nginx logs it', () => {
    assert.equal(formatExcess(0), '0.000');
    assert.equal(formatExcess(2500), '2.500');
    assert.equal(formatExcess(12_040), '12.040');
  });
});

describe('several limits on one request', () => {
  const perKey = makeLimit(1000, 5);
  const perServer = makeLimit(1000, 0);

  it('a later limit rejecting charges none of the earlier ones', () => {
    const a: LimitReqState = { excess: 1000, last: T0 };
    const b: LimitReqState = { excess: 0, last: T0 };
    const res = checkAll([
      { limit: perKey, assessment: assess(a, T0, perKey.rate) },
      { limit: perServer, assessment: assess(b, T0, perServer.rate) },
    ]);
    assert.equal(res.outcome, 'reject');
    assert.equal(res.decidedBy, 1);
    assert.equal(res.excess, 1000);
    assert.equal(res.newStates, null);
  });

  it('the first limit over its burst decides, even if a later one would too', () => {
    const d = decide([
      { limit: perServer, excess: 1000 },
      { limit: perServer, excess: 2000 },
    ]);
    assert.deepEqual(d, { outcome: 'reject', delayMs: 0, decidedBy: 0, excess: 1000 });
  });

  it('all pass: every limit is charged and the longest delay wins', () => {
    const a: LimitReqState = { excess: 2000, last: T0 };
    const b: LimitReqState = { excess: 0, last: T0 };
    const loose = makeLimit(1000, 10, 'nodelay');
    const res = checkAll([
      { limit: perKey, assessment: assess(a, T0, perKey.rate) },
      { limit: loose, assessment: assess(b, T0, loose.rate) },
    ]);
    assert.equal(res.outcome, 'delay');
    assert.equal(res.delayMs, 3000);
    assert.equal(res.decidedBy, 0);
    assert.deepEqual(res.newStates, [
      { excess: 3000, last: T0 },
      { excess: 1000, last: T0 },
    ]);
  });

  it('equal delays name the last limit, as ngx_http_limit_req_account', () => {
    const d = decide([
      { limit: perKey, excess: 2000 },
      { limit: perKey, excess: 2000 },
    ]);
    assert.deepEqual(d, { outcome: 'delay', delayMs: 2000, decidedBy: 1, excess: 2000 });
  });

  it('compares delays in ms across rates', () => {
    const slow = makeLimit(500, 5); // 30r/m
    const d = decide([
      { limit: slow, excess: 1000 }, // 2000 ms
      { limit: perKey, excess: 1500 }, // 1500 ms
    ]);
    assert.deepEqual(d, { outcome: 'delay', delayMs: 2000, decidedBy: 0, excess: 1000 });
  });
});

describe('cluster form', () => {
  /** Requests at (time, node) through shared slots, as if every node saw every slot at once. */
  function simulate(limit: LimitReqLimit, events: [number, number][]): Map<number, number> {
    const slots = new Map<number, NodeContribution>();
    const accepted = new Map<number, number>();
    for (const [t, node] of events) {
      const a = assessCluster([...slots.values()], node, t, limit.rate);
      if (decide([{ limit, excess: a.excess }]).outcome === 'reject') continue;
      slots.set(node, a.newState);
      accepted.set(node, (accepted.get(node) ?? 0) + 1);
    }
    return accepted;
  }

  /** Node 1 and node 2 each sending every `interval` ms for `ms`, node 2 offset by half. */
  function twoNodes(interval: number, ms: number): [number, number][] {
    const events: [number, number][] = [];
    for (let t = 0; t < ms; t += interval) events.push([T0 + t, 1], [T0 + t + interval / 2, 2]);
    return events;
  }

  it('with one node is exactly nginx', () => {
    const limit = makeLimit(3000, 4, 'nodelay');
    let state: LimitReqState | undefined;
    let slots: NodeContribution[] = [];
    let seed = 7;
    let t = T0;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      t += seed % 700;
      const single = check(state, t, limit);
      const cluster = assessCluster(slots, 1, t, limit.rate);
      assert.equal(cluster.excess, single.excess, `request ${i}`);
      if (single.outcome === 'reject') continue;
      state = single.newState;
      slots = [cluster.newState];
      assert.equal(cluster.newState.amount, (state as LimitReqState).excess + 1000);
    }
  });

  it('updates only its own slot', () => {
    const peer = { node: 2, amount: 3000, at: T0 };
    const a = assessCluster([peer, { node: 1, amount: 1000, at: T0 }], 1, T0 + 500, 1000);
    // Both hold something: each drains at half the rate, 250 each.
    assert.equal(a.excess, 2750 + 750);
    assert.deepEqual(a.newState, { node: 1, amount: 1750, at: T0 + 500 });
  });

  it('counts a peer toward the first request of a key', () => {
    const a = assessCluster([{ node: 2, amount: 1000, at: T0 }], 1, T0, 1000);
    assert.equal(a.excess, 1000);
    assert.equal(decide([{ limit: makeLimit(1000), excess: a.excess }]).outcome, 'reject');
  });

  it('two nodes each at half the rate pass everything: together they are at the rate', () => {
    const accepted = simulate(makeLimit(10_000), twoNodes(200, 10_000)); // 10r/s; 5r/s each
    assert.equal(accepted.get(1), 50);
    assert.equal(accepted.get(2), 50);
  });

  it('two nodes each at the full rate are held to the rate together', () => {
    for (const limit of [makeLimit(10_000), makeLimit(10_000, 5, 'nodelay')]) {
      const accepted = simulate(limit, twoNodes(100, 10_000)); // each 10r/s for 10 s
      const total = (accepted.get(1) ?? 0) + (accepted.get(2) ?? 0);
      // One bucket would let in 100 plus the burst and the free first request.
      assert.ok(total <= 100 + limit.burst / 1000 + 1, `total ${total}`);
      assert.ok(total >= 95, `total ${total}`);
    }
  });

  it('clamps a peer clock ahead of ours as nginx clamps its own', () => {
    const a = assessCluster([{ node: 2, amount: 2000, at: T0 + 30_000 }], 1, T0, 1000);
    assert.equal(a.excess, 2000);
    const b = assessCluster([{ node: 1, amount: 2000, at: T0 + 30_000 }], 1, T0, 1000);
    assert.deepEqual(b.newState, { node: 1, amount: 3000, at: T0 + 30_000 });
  });
});
