import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClockSkewError,
  Hlc,
  ManualClock,
  makeStamp,
  stampCounter,
  stampNode,
  stampWall,
} from '../../src/core/clock.ts';

const T0 = Date.UTC(2026, 0, 1);

describe('ManualClock', () => {
  it('moves only when told, and the wall may jump back', () => {
    const c = new ManualClock(T0, 5);
    assert.equal(c.now(), T0);
    c.advance(10);
    assert.deepEqual([c.now(), c.monotonic()], [T0 + 10, 15]);
    c.setWall(T0 - 1000);
    assert.deepEqual([c.now(), c.monotonic()], [T0 - 1000, 15]);
  });
});

describe('Hlc', () => {
  it('packs (wall, counter, node) so that < is the order', () => {
    const s = makeStamp(T0, (3 << 16) | 7);
    assert.deepEqual([stampWall(s), stampCounter(s), stampNode(s)], [T0, 3, 7]);
    assert.ok(makeStamp(T0, 0xffff) < makeStamp(T0 + 1, 0));
    assert.ok(makeStamp(T0, (1 << 16) | 1) < makeStamp(T0, (1 << 16) | 2));
    assert.ok(makeStamp(T0, (1 << 16) | 9) < makeStamp(T0, 2 << 16));
  });

  it('is strictly monotonic while the wall clock stands still or goes back', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(1, clock);
    const a = hlc.now();
    const b = hlc.now();
    clock.setWall(T0 - 5000);
    const c = hlc.now();
    assert.ok(a < b && b < c);
    assert.deepEqual([stampWall(c), stampCounter(c)], [T0, 2]);
    clock.setWall(T0 + 1);
    const d = hlc.now();
    assert.deepEqual([stampWall(d), stampCounter(d)], [T0 + 1, 0]);
  });

  it('borrows the next millisecond when the counter overflows', () => {
    const hlc = new Hlc(1, new ManualClock(T0));
    let last = hlc.now();
    for (let i = 0; i < 0x10000; i++) {
      const s = hlc.now();
      assert.ok(s > last);
      last = s;
    }
    assert.deepEqual([stampWall(last), stampCounter(last)], [T0 + 1, 0]);
  });

  it('update moves past a remote stamp from a node whose clock is ahead', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(1, clock);
    const remote = makeStamp(T0 + 2000, (5 << 16) | 2);
    const r = hlc.update(remote);
    assert.ok(r > remote);
    assert.deepEqual([stampWall(r), stampCounter(r), stampNode(r)], [T0 + 2000, 6, 1]);
    assert.ok(hlc.now() > r, 'local events order after what was received');
  });

  it('update keeps the local clock when the remote one is behind', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(1, clock);
    const r = hlc.update(makeStamp(T0 - 60_000, 9 << 16));
    assert.deepEqual([stampWall(r), stampCounter(r)], [T0, 0]);
    const same = hlc.update(makeStamp(T0, (4 << 16) | 3));
    assert.deepEqual([stampWall(same), stampCounter(same)], [T0, 5]);
  });

  it('refuses a remote stamp more than maxSkewMs ahead, changing nothing', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(1, clock, { maxSkewMs: 1000 });
    const before = hlc.now();
    assert.throws(
      () => hlc.update(makeStamp(T0 + 1001, 0)),
      (err: unknown) => {
        assert.ok(err instanceof ClockSkewError);
        assert.equal(err.message, 'remote timestamp is 1001 ms ahead of the local clock (limit 1000 ms)');
        return true;
      },
    );
    assert.equal(hlc.now(), before + (1n << 16n));
    assert.ok(hlc.update(makeStamp(T0 + 1000, 0)) > before);
  });

  it('ties between nodes in the same millisecond break by node id, the same everywhere', () => {
    const clock = new ManualClock(T0);
    const a = new Hlc(1, clock).now();
    const b = new Hlc(2, clock).now();
    assert.ok(a < b);
    assert.equal(stampCounter(a), stampCounter(b));
  });

  it('rejects node ids outside 0..65535', () => {
    assert.throws(() => new Hlc(0x10000), RangeError);
    assert.throws(() => new Hlc(-1), RangeError);
  });
});
