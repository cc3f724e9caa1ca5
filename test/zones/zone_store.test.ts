import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ZoneMemory } from '../../src/zones/record.ts';
import { ZoneStore } from '../../src/zones/zone_store.ts';
import { bytes, text } from './zone_types.ts';

const lruOrder = (s: ZoneStore) => [...s.records()].map((r) => text(r.key)).sort();

/** Keys from least to most recently used, by evicting them one at a time from a copy. */
function evictionOrder(s: ZoneStore): string[] {
  const copy = new ZoneStore(s.memory.sab.slice(0) as unknown as SharedArrayBuffer);
  const out: string[] = [];
  copy.evictLru(Infinity, (r) => {
    out.push(text(r.key)!);
    return true;
  });
  return out;
}

describe('ZoneStore', () => {
  it('sets, gets, overwrites and deletes, with string or byte keys', () => {
    const s = new ZoneStore(64 * 1024);
    assert.equal(s.set('a', bytes('1')), 'ok');
    assert.equal(s.set(bytes('b'), bytes('22'), { expireAt: 5, wall: 7, logical: 9 }), 'ok');
    assert.equal(text(s.get(bytes('a'))?.value), '1');
    const b = s.get('b')!;
    assert.deepEqual(
      [text(b.key), text(b.value), b.expireAt, b.wall, b.logical, b.deleted],
      ['b', '22', 5, 7, 9, false],
    );
    assert.equal(s.get('c'), undefined);
    assert.equal(s.set('a', bytes('one')), 'ok');
    assert.equal(text(s.get('a')?.value), 'one');
    assert.equal(s.size, 2);
    assert.equal(s.delete('a'), true);
    assert.equal(s.delete('a'), false);
    assert.equal(s.get('a'), undefined);
    assert.equal(s.size, 1);
  });

  it('grows and shrinks values across size classes without losing neighbours', () => {
    const s = new ZoneStore(256 * 1024);
    for (let i = 0; i < 200; i++) s.set(`k${i}`, new Uint8Array(i % 7).fill(i));
    for (const len of [0, 3, 100, 2000, 5000, 10, 0]) {
      assert.equal(s.set('k42', new Uint8Array(len).fill(len & 0xff)), 'ok');
      assert.deepEqual(s.get('k42')!.value, new Uint8Array(len).fill(len & 0xff));
    }
    for (let i = 0; i < 200; i++) assert.deepEqual(s.get(`k${i}`)!.value.length, i === 42 ? 0 : i % 7);
    assert.equal(s.size, 200);
    const bytesBefore = s.bytesUsed;
    for (let i = 0; i < 200; i++) s.delete(`k${i}`);
    assert.deepEqual([s.size, s.bytesUsed, s.stats().pages.used], [0, 0, 0]);
    assert.ok(bytesBefore > 0);
  });

  it('keeps an LRU order: set and touch refresh, get does not', () => {
    const s = new ZoneStore(64 * 1024);
    for (const k of ['a', 'b', 'c', 'd']) s.set(k, bytes(k));
    s.touch('a');
    s.get('b');
    s.set('c', bytes('cc'));
    assert.deepEqual(evictionOrder(s), ['b', 'd', 'a', 'c']);
    assert.equal(s.touch('zz'), false);
  });

  it('updates a value in place: new bytes and stamp, most recently used, only at the same length', () => {
    const s = new ZoneStore(64 * 1024);
    for (const k of ['a', 'b', 'c']) s.set(k, bytes(`${k}1`), { wall: 1, logical: 2 });
    s.set('e', bytes('e1'), { expireAt: 50 });
    s.set('t', new Uint8Array(0), { tombstone: true });
    const key = bytes('a');
    const seen: string[] = [];
    const rewrite = (write: boolean) => (m: ZoneMemory, at: number) => {
      seen.push(text(m.u8.subarray(at, at + 2))!);
      if (write) m.u8.set(bytes('A2'), at);
      return write;
    };
    const stamp = () => ({ wall: 9, logical: 10 });
    const update = (k: string, length: number, write: boolean) =>
      s.updateHashed(bytes(k), s.hashOf(bytes(k)), length, rewrite(write), stamp);

    assert.equal(update('a', 2, false), 'kept');
    assert.deepEqual(evictionOrder(s), ['a', 'b', 'c', 'e', 't'], 'kept: the LRU order stays');
    assert.deepEqual([text(s.get(key)?.value), s.get(key)?.wall], ['a1', 1]);

    assert.equal(update('a', 2, true), 'updated');
    const a = s.get(key)!;
    assert.deepEqual([text(a.value), a.expireAt, a.wall, a.logical], ['A2', 0, 9, 10]);
    assert.deepEqual(evictionOrder(s), ['b', 'c', 'e', 't', 'a']);
    assert.deepEqual(seen, ['a1', 'a1']);

    // Left to set(): another length, a missing key, a tombstone, a record with an expiry.
    assert.equal(update('b', 3, true), 'absent');
    assert.equal(update('z', 2, true), 'absent');
    assert.equal(update('t', 0, true), 'absent');
    assert.equal(update('e', 2, true), 'absent');
    assert.equal(seen.length, 2, 'rewrite is not called when absent');
    assert.deepEqual([text(s.get('b')?.value), text(s.get('e')?.value), s.size], ['b1', 'e1', 5]);
  });

  it('evicts from the least recently used end, stopping where canEvict says no', () => {
    const s = new ZoneStore(64 * 1024);
    for (const k of ['a', 'b', 'c', 'd']) s.set(k, bytes(k));
    assert.equal(
      s.evictLru(10, (r) => text(r.key) !== 'c'),
      2,
    );
    assert.deepEqual(lruOrder(s), ['c', 'd']);
    assert.equal(s.evictLru(1), 1);
    assert.deepEqual(lruOrder(s), ['d']);
  });

  it('reports full when no chunk is left, keeping the old value; eviction makes room', () => {
    const s = new ZoneStore(32 * 1024);
    let n = 0;
    while (s.set(`key${n}`, new Uint8Array(16)) === 'ok') n++;
    assert.ok(n > 250, `only ${n} records of 96 B in 32k`);
    assert.equal(s.set('key0', new Uint8Array(3000)), 'full');
    assert.equal(s.get('key0')!.value.length, 16);
    assert.equal(s.evictLru(1), 1);
    assert.equal(s.get('key0'), undefined, 'the oldest went');
    assert.equal(s.set('new', new Uint8Array(16)), 'ok');
  });

  it('expires records in bounded sweeps that together cover the zone', () => {
    const s = new ZoneStore(128 * 1024);
    for (let i = 0; i < 300; i++) s.set(`k${i}`, bytes('v'), { expireAt: i < 200 ? 1000 : 0 });
    assert.equal(s.expire(999), 0);
    let removed = 0;
    for (let i = 0; i < 10; i++) removed += s.expire(1000, 50);
    assert.equal(removed, 200);
    assert.equal(s.size, 100);
    assert.equal(s.expire(Number.MAX_SAFE_INTEGER), 0, 'records without expiry stay');
  });

  it('counts tombstones and turns them back into records', () => {
    const s = new ZoneStore(64 * 1024);
    s.set('a', bytes('x'));
    s.set('a', new Uint8Array(0), { tombstone: true, expireAt: 50 });
    assert.deepEqual([s.size, s.tombstones, s.get('a')!.deleted], [1, 1, true]);
    s.set('a', bytes('back'));
    assert.deepEqual([s.size, s.tombstones, s.get('a')!.deleted], [1, 0, false]);
    s.set('b', new Uint8Array(0), { tombstone: true });
    s.delete('b');
    assert.equal(s.tombstones, 0);
  });

  it('snapshots copies of every record, tombstones included', () => {
    const s = new ZoneStore(64 * 1024);
    for (let i = 0; i < 50; i++) s.set(`k${i}`, bytes(`v${i}`), { wall: 1000 + i, logical: 1 });
    s.set('gone', new Uint8Array(0), { tombstone: true, wall: 5, logical: 2 });
    const all = [...s.records()];
    assert.equal(all.length, 51);
    const gone = all.find((r) => text(r.key) === 'gone')!;
    assert.deepEqual([gone.deleted, gone.stamp], [true, (5n << 32n) | 2n]);
    const k7 = all.find((r) => text(r.key) === 'k7')!;
    s.set('k7', bytes('changed'));
    assert.equal(text(k7.value), 'v7', 'a snapshot record is a copy');
  });

  it('survives changes while a snapshot is being read', () => {
    const s = new ZoneStore(64 * 1024);
    for (let i = 0; i < 100; i++) s.set(`k${i}`, bytes('v'));
    let seen = 0;
    for (const r of s.records()) {
      seen++;
      s.delete(r.key);
      s.set(`new${seen}`, bytes('n'));
    }
    assert.ok(seen >= 100, 'every record present from start to end is seen');
    assert.equal(s.size, 100);
  });

  it('can be mapped by a second view of the same buffer (another thread, later)', () => {
    const s = new ZoneStore(64 * 1024);
    s.set('shared', bytes('yes'));
    const other = ZoneStore.attach(s.memory.sab);
    assert.equal(text(other.get('shared')?.value), 'yes');
    other.set('back', bytes('too'));
    assert.equal(text(s.get('back')?.value), 'too');
    assert.throws(() => ZoneStore.attach(new SharedArrayBuffer(64 * 1024)), /not a zone store buffer/);
  });

  it('refuses keys longer than 65535 bytes', () => {
    const s = new ZoneStore(256 * 1024);
    assert.throws(() => s.set(new Uint8Array(0x10000), bytes('v')), RangeError);
  });
});
