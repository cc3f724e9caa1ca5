import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeStamp } from '../../src/core/clock.ts';
import {
  type Contribution,
  contributionOf,
  encodeContributions,
  readContributions,
  SLOT_BYTES,
  withContribution,
} from '../../src/zones/contributions.ts';
import { limitReqType, makeZone, T0 } from './zone_types.ts';

const key = Uint8Array.of(10, 0, 0, 1);

function publish(node: number, slots: Contribution[], wall = T0) {
  return {
    key,
    value: encodeContributions(slots),
    stamp: makeStamp(wall, node),
    expireAt: 0,
    deleted: false,
  };
}

const slotsOf = (value: Uint8Array | undefined) =>
  value ? readContributions(value).map((c) => [c.node, c.amount, c.at]) : undefined;

describe('per-node contributions', () => {
  it('encodes slots sorted by node, 16 bytes each, and replaces a node slot in place', () => {
    let v = withContribution(undefined, { node: 7, amount: 3000, at: T0 });
    v = withContribution(v, { node: 2, amount: -1, at: T0 + 0.5 });
    v = withContribution(v, { node: 7, amount: 4000, at: T0 + 1 });
    assert.equal(v.length, 2 * SLOT_BYTES);
    assert.deepEqual(slotsOf(v), [
      [2, -1, T0 + 0.5],
      [7, 4000, T0 + 1],
    ]);
    assert.deepEqual(contributionOf(v, 7), { node: 7, amount: 4000, at: T0 + 1 });
    assert.equal(contributionOf(v, 3), undefined);
    assert.equal(readContributions(v.subarray(0, 20)).length, 1, 'a partial slot is ignored');
  });

  it('applyRemote keeps every node slot at its latest measurement', () => {
    const { zone } = makeZone(limitReqType, { node: 1 });
    zone.set(key, encodeContributions([{ node: 1, amount: 1000, at: T0 }]));
    assert.equal(zone.applyRemote(publish(2, [{ node: 2, amount: 2000, at: T0 }])), 'applied');
    assert.equal(zone.applyRemote(publish(3, [{ node: 3, amount: 500, at: T0 }])), 'applied');
    assert.deepEqual(slotsOf(zone.get(key)?.value), [
      [1, 1000, T0],
      [2, 2000, T0],
      [3, 500, T0],
    ]);
    assert.equal(
      zone.applyRemote(publish(2, [{ node: 2, amount: 9999, at: T0 - 1 }])),
      'stale',
      'older measurement',
    );
    assert.equal(zone.applyRemote(publish(2, [{ node: 2, amount: 3000, at: T0 + 5 }], T0 + 5)), 'applied');
    assert.equal(
      zone.applyRemote(publish(2, [{ node: 1, amount: 1, at: T0 - 10 }], T0 + 6)),
      'stale',
      'a stale copy of our own slot does not overwrite it',
    );
    assert.deepEqual(slotsOf(zone.get(key)?.value), [
      [1, 1000, T0],
      [2, 3000, T0 + 5],
      [3, 500, T0],
    ]);
  });

  it('converges to the same value on every node whatever the delivery order', () => {
    const updates = [
      publish(1, [{ node: 1, amount: 1000, at: T0 }]),
      publish(2, [{ node: 2, amount: 2000, at: T0 + 1 }]),
      publish(1, [{ node: 1, amount: 1500, at: T0 + 2 }], T0 + 2),
      publish(3, [{ node: 3, amount: 700, at: T0 + 1 }]),
      publish(2, [{ node: 2, amount: 2000, at: T0 + 1 }]),
    ];
    const results = [
      updates,
      [...updates].reverse(),
      [updates[3], updates[0], updates[4], updates[2], updates[1]],
    ].map((order) => {
      const { zone } = makeZone(limitReqType, { node: 9 });
      for (const u of order) zone.applyRemote(u);
      return slotsOf(zone.get(key)?.value);
    });
    assert.deepEqual(results[0], [
      [1, 1500, T0 + 2],
      [2, 2000, T0 + 1],
      [3, 700, T0 + 1],
    ]);
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[2], results[0]);
  });
});
