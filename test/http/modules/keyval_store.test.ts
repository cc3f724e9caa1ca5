import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeStamp } from '../../../src/core/clock.ts';
import {
  KeyvalStore,
  type KeyvalZoneConf,
  keyvalZoneType,
  validKey,
} from '../../../src/http/modules/keyval_store.ts';
import { bytes, makeZone, T0 } from '../../zones/zone_types.ts';

function makeStore(conf: Partial<KeyvalZoneConf> = {}, size?: number) {
  const made = makeZone(keyvalZoneType, { size, sync: conf.sync ?? true });
  const full: KeyvalZoneConf = {
    name: 'one',
    size: made.zone.size,
    state: null,
    timeout: 0,
    type: 'string',
    sync: true,
    ...conf,
  };
  return { ...made, store: new KeyvalStore(made.zone, full) };
}

describe('KeyvalStore', () => {
  it('string zones match exactly', () => {
    const { store } = makeStore();
    store.set('a', 'one');
    assert.equal(store.lookup('a'), 'one');
    assert.equal(store.lookup('A'), undefined);
    assert.equal(store.lookup('ab'), undefined);
    assert.equal(store.lookup(''), undefined);
  });

  it('values come back as stored: ASCII, UTF-8, empty, long', () => {
    const { store } = makeStore();
    const values = ['on', 'caf\u00e9 \u2713 \u{1f600}', '', 'x'.repeat(33), `${'y'.repeat(31)}\u00e9`];
    for (const [i, v] of values.entries()) store.set(`k${i}`, v);
    assert.deepEqual(
      values.map((_, i) => store.lookup(`k${i}`)),
      values,
    );
  });

  it('type=ip finds the longest network holding the address, as pairs come and go', () => {
    const { store } = makeStore({ type: 'ip' });
    store.set('10.0.0.0/8', 'wide');
    store.set('10.1.0.0/16', 'narrow');
    store.set('2001:db8::/32', 'six');
    assert.equal(store.lookup('10.1.2.3'), 'narrow');
    assert.equal(store.lookup('10.2.2.3'), 'wide');
    assert.equal(store.lookup('2001:db8::9'), 'six');
    store.delete('10.1.0.0/16');
    assert.equal(store.lookup('10.1.2.3'), 'wide');
    store.clear();
    assert.equal(store.lookup('10.2.2.3'), undefined);
  });

  it('type=prefix finds the longest stored prefix', () => {
    const { store } = makeStore({ type: 'prefix' });
    store.set('/a', '1');
    store.set('/a/b', '2');
    assert.equal(store.lookup('/a/b/c'), '2');
    assert.equal(store.lookup('/a/x'), '1');
    assert.equal(store.lookup('/b'), undefined);
  });

  it('the index follows zone_sync applies (and pairs present before the view was built)', () => {
    const { zone } = makeZone(keyvalZoneType);
    zone.set('10.0.0.0/8', bytes('before'));
    const store = new KeyvalStore(zone, {
      name: 'one',
      size: zone.size,
      state: null,
      timeout: 0,
      type: 'ip',
      sync: true,
    });
    assert.equal(store.lookup('10.9.9.9'), 'before');
    const wall = T0 + 1000;
    const remote = {
      key: bytes('10.9.0.0/16'),
      value: bytes('remote'),
      stamp: makeStamp(wall, 2),
      expireAt: 0,
      deleted: false,
    };
    assert.equal(zone.applyRemote(remote), 'applied');
    assert.equal(store.lookup('10.9.9.9'), 'remote');
    const tombstone = { ...remote, value: new Uint8Array(0), stamp: makeStamp(wall + 1, 2), deleted: true };
    assert.equal(zone.applyRemote(tombstone), 'applied');
    assert.equal(store.lookup('10.9.9.9'), 'before');
    store.close();
  });

  it('pairs expire after the zone timeout or their own expire; reads do not refresh them', () => {
    const { store, clock } = makeStore({ type: 'ip', timeout: 10_000 });
    store.set('10.0.0.0/8', 'default');
    store.set('10.1.0.0/16', 'short', 2_000);
    clock.advance(1_999);
    assert.equal(store.lookup('10.1.0.1'), 'short');
    clock.advance(1);
    assert.equal(store.lookup('10.1.0.1'), 'default', 'the expired network no longer matches');
    clock.advance(7_999);
    assert.equal(store.get('10.0.0.0/8'), 'default');
    clock.advance(1);
    assert.equal(store.lookup('10.1.0.1'), undefined);
    assert.deepEqual([...store.entries()], []);
  });

  it('setExpiry keeps the value', () => {
    const { store, clock } = makeStore({ timeout: 1_000 });
    store.set('k', 'v');
    assert.equal(store.setExpiry('k', 5_000), 'ok');
    assert.equal(store.setExpiry('nope', 5_000), 'absent');
    clock.advance(4_000);
    assert.equal(store.get('k'), 'v');
  });

  it('a full zone refuses the write and keeps every live pair; expired pairs make room', () => {
    const { store, clock, logs } = makeStore({ timeout: 60_000 }, 32 * 1024);
    const big = 'x'.repeat(1000);
    let n = 0;
    while (store.set(`k${n}`, big) === 'ok') n++;
    assert.ok(n > 10, `${n} pairs fit`);
    assert.match(logs.at(-1) ?? '', /\[alert\] could not allocate node in keyval zone "one"/);
    for (let i = 0; i < n; i++) assert.equal(store.get(`k${i}`), big, `k${i} survived`);
    clock.advance(60_000);
    assert.equal(store.set('fresh', big), 'ok', 'expired pairs went to make room');
  });

  it('validKey: type=ip keys are addresses or networks', () => {
    assert.ok(validKey('ip', '192.168.1.0/24'));
    assert.ok(validKey('ip', '::1'));
    assert.equal(validKey('ip', 'host'), false);
    assert.ok(validKey('string', 'host'));
    assert.equal(validKey('string', ''), false);
  });
});
