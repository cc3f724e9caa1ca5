import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeStamp, stampNode } from '../../src/core/clock.ts';
import type { ZoneRecord } from '../../src/zones/record.ts';
import { bytes, keyvalType, limitReqType, makeZone, stickyType, T0, text } from './zone_types.ts';

const remote = (key: string, value: string, wall: number, node: number, extra: Partial<ZoneRecord> = {}) => ({
  key: bytes(key),
  value: bytes(value),
  stamp: makeStamp(wall, node),
  expireAt: 0,
  deleted: false,
  ...extra,
});

describe('Zone: local changes', () => {
  it('feeds creates, updates and deletes with increasing stamps', () => {
    const { zone, clock } = makeZone(keyvalType);
    const feed: ZoneRecord[] = [];
    const unsubscribe = zone.subscribe((c) => feed.push(c));
    zone.set('a', bytes('1'), T0 + 60_000);
    zone.set('a', bytes('2'), T0 + 60_000);
    clock.advance(5);
    assert.equal(zone.delete('a'), true);
    assert.equal(zone.delete('a'), false, 'already gone: no event');
    unsubscribe();
    zone.set('b', bytes('x'));
    assert.deepEqual(
      feed.map((c) => [text(c.key), text(c.value), c.expireAt, c.deleted]),
      [
        ['a', '1', T0 + 60_000, false],
        ['a', '2', T0 + 60_000, false],
        ['a', '', T0 + 60_000, true],
      ],
    );
    assert.ok(feed[0].stamp < feed[1].stamp && feed[1].stamp < feed[2].stamp);
    assert.equal(stampNode(feed[2].stamp), 1);
  });

  it('updates in place only while nothing listens: a fed change needs set()', () => {
    const { zone } = makeZone(keyvalType);
    zone.set('a', bytes('1'));
    const key = bytes('a');
    const rewrite = (m: { u8: Uint8Array }, at: number) => {
      m.u8[at] = 0x32;
      return true;
    };
    const unsubscribe = zone.subscribe(() => {});
    assert.equal(zone.updateHashed(key, zone.store.hashOf(key), 1, rewrite), 'absent');
    unsubscribe();
    const before = zone.get('a')!.stamp;
    assert.equal(zone.updateHashed(key, zone.store.hashOf(key), 1, rewrite), 'updated');
    const a = zone.get('a')!;
    assert.equal(text(a.value), '2');
    assert.ok(a.stamp > before, 'stamped as a local write');

    // An unsynced zone's stamps never leave the node: rewritten in place, a record keeps its own.
    const { zone: local, clock } = makeZone(keyvalType, { sync: false });
    local.set('a', bytes('1'));
    const kept = local.get('a')!.stamp;
    clock.advance(5);
    assert.equal(local.updateHashed(key, local.store.hashOf(key), 1, rewrite), 'updated');
    assert.deepEqual([text(local.get('a')!.value), local.get('a')!.stamp], ['2', kept]);
  });

  it('hides tombstones and expired records from get; expired ones leave the store', () => {
    const { zone, clock } = makeZone(keyvalType);
    zone.set('t', bytes('v'), T0 + 1000);
    zone.set('forever', bytes('v'));
    zone.delete('forever');
    assert.equal(zone.get('forever'), undefined);
    assert.equal(zone.store.get('forever')?.deleted, true, 'a synced zone keeps the tombstone');
    assert.equal(zone.store.get('forever')?.expireAt, T0 + 3_600_000, 'which expires after the TTL');
    clock.advance(999);
    assert.equal(text(zone.get('t')?.value), 'v');
    clock.advance(1);
    assert.equal(zone.get('t'), undefined);
    assert.equal(zone.store.get('t'), undefined);
  });

  it('deletes outright in a zone without sync', () => {
    const { zone } = makeZone(keyvalType, { sync: false });
    zone.set('a', bytes('v'));
    zone.delete('a');
    assert.equal(zone.store.size, 0);
  });

  it('snapshots live records and tombstones, not expired ones', () => {
    const { zone, clock } = makeZone(keyvalType);
    zone.set('live', bytes('1'));
    zone.set('soon', bytes('2'), T0 + 10);
    zone.set('dead', bytes('3'), T0 + 100);
    zone.delete('dead');
    clock.advance(10);
    const snap = [...zone.snapshot()].map((r) => [text(r.key), r.deleted]).sort();
    assert.deepEqual(snap, [
      ['dead', true],
      ['live', false],
    ]);
  });
});

describe('Zone: applyRemote, last writer wins', () => {
  it('takes newer records, ignores older and repeated ones, and feeds none of them', () => {
    const { zone } = makeZone(keyvalType, { node: 1 });
    const feed: ZoneRecord[] = [];
    const seen: string[] = [];
    zone.subscribe((c) => feed.push(c));
    zone.onRemote((r, result) => seen.push(`${text(r.key)}:${result}`));
    assert.equal(zone.applyRemote(remote('k', 'v1', T0, 2)), 'applied');
    assert.equal(zone.applyRemote(remote('k', 'v0', T0 - 1, 3)), 'stale');
    assert.equal(zone.applyRemote(remote('k', 'v1', T0, 2)), 'stale');
    assert.equal(zone.applyRemote(remote('k', 'v2', T0 + 1, 2)), 'applied');
    assert.equal(text(zone.get('k')?.value), 'v2');
    assert.equal(feed.length, 0);
    assert.deepEqual(seen, ['k:applied', 'k:stale', 'k:stale', 'k:applied']);
  });

  it('breaks equal walls and counters by node id, the same on every node', () => {
    const a = makeZone(keyvalType, { node: 1 }).zone;
    const b = makeZone(keyvalType, { node: 9 }).zone;
    const from2 = remote('k', 'two', T0, 2);
    const from5 = remote('k', 'five', T0, 5);
    a.applyRemote(from2);
    a.applyRemote(from5);
    b.applyRemote(from5);
    b.applyRemote(from2);
    assert.equal(text(a.get('k')?.value), 'five');
    assert.equal(text(b.get('k')?.value), 'five');
  });

  it('orders a local write after any remote record it has seen, even from a fast clock', () => {
    const { zone } = makeZone(keyvalType, { node: 1 });
    zone.applyRemote(remote('k', 'remote', T0 + 30_000, 2));
    zone.set('k', bytes('local'));
    assert.ok(zone.get('k')!.stamp > makeStamp(T0 + 30_000, 2));
    assert.equal(zone.applyRemote(remote('k', 'late', T0 + 30_000, 3)), 'stale');
  });

  it('stores a record read in place from a frame, at the `now` its caller read once', () => {
    const { zone } = makeZone(keyvalType, { node: 1 });
    const frame = bytes('..kv1..');
    const placed = {
      ...remote('', '', T0, 2, { expireAt: T0 + 10 }),
      bytes: frame,
      keyStart: 2,
      keyLength: 1,
      valueStart: 3,
      valueLength: 2,
      wall: T0,
      logical: 2,
    };
    assert.equal(zone.applyRemote(placed, T0 + 10), 'stale', 'expired at the given now');
    assert.equal(zone.applyRemote(placed, T0), 'applied');
    frame.fill(0);
    assert.equal(text(zone.get('k')?.value), 'v1', 'copied out of the frame');
  });

  it('rejects stamps beyond the skew limit, and anything for a zone without sync', () => {
    const { zone } = makeZone(keyvalType);
    const reasons: (string | undefined)[] = [];
    zone.onRemote((_r, _result, reason) => reasons.push(reason));
    assert.equal(zone.applyRemote(remote('k', 'v', T0 + 3_600_001, 2)), 'rejected');
    assert.equal(zone.get('k'), undefined);
    assert.match(reasons[0]!, /3600001 ms ahead of the local clock/);
    const unsynced = makeZone(keyvalType, { sync: false }).zone;
    assert.equal(unsynced.applyRemote(remote('k', 'v', T0, 2)), 'rejected');
  });

  it('applies tombstones by the same rule: a newer delete wins, an older one does not', () => {
    const { zone } = makeZone(keyvalType, { node: 1 });
    zone.applyRemote(remote('k', 'v', T0, 2));
    assert.equal(
      zone.applyRemote(remote('k', '', T0 - 5, 3, { deleted: true, expireAt: T0 + 1000 })),
      'stale',
    );
    assert.equal(
      zone.applyRemote(remote('k', '', T0 + 5, 3, { deleted: true, expireAt: T0 + 1000 })),
      'applied',
    );
    assert.equal(zone.get('k'), undefined);
    assert.equal(
      zone.applyRemote(remote('k', 'resurrect', T0 + 1, 2)),
      'stale',
      'the tombstone blocks older writes',
    );
    assert.equal(
      zone.applyRemote(remote('old', 'x', T0 - 5000, 2, { expireAt: T0 - 1 })),
      'stale',
      'already expired',
    );
  });
});

describe('Zone: when full', () => {
  it('limit_req-like: forces out the least recently used state and keeps going', () => {
    const { zone, logs } = makeZone(limitReqType, { size: 32 * 1024 });
    const key = new Uint8Array(4);
    const dv = new DataView(key.buffer);
    for (let i = 0; i < 2000; i++) {
      dv.setUint32(0, i);
      assert.equal(zone.set(key, new Uint8Array(16)), 'ok');
      if (i === 100) zone.touch(Uint8Array.of(0, 0, 0, 0));
    }
    assert.ok(zone.get(Uint8Array.of(0, 0, 0, 0)) === undefined, 'refreshed once, then aged out');
    dv.setUint32(0, 1999);
    assert.ok(zone.get(key) !== undefined, 'the newest state is there');
    assert.ok(zone.store.size > 400, `${zone.store.size} states`);
    assert.deepEqual(logs, []);
  });

  it('sticky-like: warns as nginx does and expires the least recently used session', () => {
    const { zone, logs } = makeZone(stickyType, { size: 32 * 1024 });
    let i = 0;
    while (logs.length === 0) zone.set(`session-${i++}`, bytes('sid'));
    assert.deepEqual(logs, [
      '[warn] could not allocate node in sticky session zone "one", expiring least recently used session',
    ]);
    assert.equal(zone.get('session-0'), undefined);
    assert.equal(text(zone.get(`session-${i - 1}`)?.value), 'sid');
  });

  it('keyval-like: makes room from expired records only, else refuses with nginx alert', () => {
    const { zone, clock, logs } = makeZone(keyvalType, { size: 32 * 1024 });
    zone.set('short-lived', bytes('x'), T0 + 10);
    let i = 0;
    while (zone.set(`k${i}`, bytes('v')) === 'ok') i++;
    assert.deepEqual(logs, ['[alert] could not allocate node in keyval zone "one"']);
    assert.equal(zone.store.size, i + 1, 'nothing live was dropped');
    clock.advance(10);
    assert.equal(zone.set('after-expiry', bytes('v')), 'ok');
    assert.equal(zone.get('short-lived'), undefined);
  });

  it('a full zone rejects a remote record the same way', () => {
    const { zone } = makeZone(keyvalType, { size: 32 * 1024 });
    for (let i = 0; zone.set(`k${String(i).padStart(6, '0')}`, bytes('v')) === 'ok'; i++);
    assert.equal(zone.applyRemote(remote('x000000', 'v', T0, 2)), 'rejected');
  });
});
