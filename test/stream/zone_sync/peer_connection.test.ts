// Two zone_sync nodes over a real loopback TCP connection: handshake, snapshots both ways, live
// records and tombstones, the catalogue rules, and readiness.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { bytes, keyvalType, makeNode, pair, stickyType, synced, type TestNode, text, until } from './mesh.ts';

const T = Date.now();
let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function join(a: TestNode, b: TestNode) {
  const p = await pair(a, b);
  cleanup = p.close;
  await until(synced(a, b), 'both nodes synced');
}

describe('zone_sync connection', () => {
  it('exchanges snapshots both ways on connect, then reports ready', async () => {
    const a = makeNode(1, [{ name: 'kv' }]);
    const b = makeNode(2, [{ name: 'kv' }]);
    a.zone('kv').set('from-a', bytes('1'), T + 60_000);
    b.zone('kv').set('from-b', bytes('2'), T + 60_000);
    await join(a, b);
    assert.equal(text(a.zone('kv').get('from-b')?.value), '2');
    assert.equal(text(b.zone('kv').get('from-a')?.value), '1');
    const [conn] = a.node.connections;
    assert.equal(conn.state, 'established');
    assert.deepEqual(Object.fromEntries(conn.zones.snapshotReceived), { kv: true });
    assert.ok(
      a.logs.includes('[notice] zone_sync: peer 127.0.0.1:' + conn.name.split(':')[1] + ' connected'),
    );
    assert.ok(
      b.logs.some((l) => l === '[notice] zone_sync: peer node-1 connected'),
      b.logs.join('\n'),
    );
    assert.ok(a.node.counters.msgs_out >= 1 && a.node.counters.msgs_in >= 1);
  });

  it('sends live changes at once, tombstones included, and does not echo them back', async () => {
    const a = makeNode(1, [{ name: 'kv' }], { intervalMs: 60_000 });
    const b = makeNode(2, [{ name: 'kv' }], { intervalMs: 60_000 });
    await join(a, b);
    const outBefore = b.node.counters.msgs_out;
    a.zone('kv').set('k', bytes('v1'), T + 60_000);
    a.zone('kv').set('k', bytes('v2'), T + 60_000);
    await until(() => text(b.zone('kv').get('k')?.value) === 'v2', 'live record on b');
    assert.equal(b.node.counters.msgs_out, outBefore, 'b sends nothing back');
    a.zone('kv').delete('k');
    await until(() => b.zone('kv').get('k') === undefined, 'tombstone on b');
    const stored = b.zone('kv').store.get('k');
    assert.equal(stored?.deleted, true, 'b keeps the tombstone');
    // A write on b after the delete wins on both nodes.
    b.zone('kv').set('k', bytes('back'), T + 60_000);
    await until(() => text(a.zone('kv').get('k')?.value) === 'back', 'write after delete reaches a');
  });

  it('sends a snapshot larger than the credit window in chunks', async () => {
    const a = makeNode(1, [{ name: 'kv', size: 8 * 1024 * 1024 }]);
    const b = makeNode(2, [{ name: 'kv', size: 8 * 1024 * 1024 }]);
    const value = bytes('x'.repeat(200));
    for (let i = 0; i < 10_000; i++) a.zone('kv').set(`key-${i}`, value, T + 600_000);
    await join(a, b);
    assert.equal(b.zone('kv').stats().records, 10_000);
    // 10,000 records of ~230 bytes: well over the 256 KiB window, in 32 KiB chunks.
    assert.ok(a.node.counters.msgs_out >= 60, `chunks: ${a.node.counters.msgs_out}`);
    assert.ok(a.node.counters.bytes_out > 2_000_000);
  });

  it('skips zones whose type differs (warned) or that one side lacks (info), syncs the rest', async () => {
    const a = makeNode(1, [{ name: 'kv' }, { name: 'sess', type: stickyType }, { name: 'only-a' }]);
    const b = makeNode(2, [{ name: 'kv' }, { name: 'sess', type: keyvalType }]);
    a.zone('sess').set('s', bytes('1'), T + 60_000);
    a.zone('kv').set('k', bytes('1'), T + 60_000);
    await join(a, b);
    assert.equal(text(b.zone('kv').get('k')?.value), '1');
    assert.equal(b.zone('sess').get('s'), undefined);
    const warning = `[warn] zone_sync: zone "sess" is sticky v1 on this node but keyval v1 on peer`;
    assert.ok(
      a.logs.some((l) => l.startsWith(warning)),
      a.logs.join('\n'),
    );
    assert.ok(a.logs.some((l) => l.startsWith('[info] zone_sync: zone "only-a" is not on peer')));
  });

  it('a reload that adds a zone sends the new catalogue and snapshots the zone both ways', async () => {
    const a = makeNode(1, [{ name: 'kv' }]);
    const b = makeNode(2, [{ name: 'kv' }, { name: 'new' }]);
    b.zone('new').set('b', bytes('from b'), T + 60_000);
    await join(a, b);
    const hlc = a.zone('kv').hlc;
    const { Zone } = await import('../../../src/zones/zone.ts');
    const added = new Zone({ name: 'new', type: keyvalType, size: 64 * 1024, sync: true, hlc });
    added.set('a', bytes('from a'), T + 60_000);
    a.node.setZones([a.zone('kv'), added]);
    await until(() => text(added.get('b')?.value) === 'from b', 'b snapshot of the new zone');
    await until(() => text(b.zone('new').get('a')?.value) === 'from a', 'a snapshot of the new zone');
    await until(synced(a, b), 'synced again');
    // Dropping it again stops the flow: a change no longer travels.
    a.node.setZones([a.zone('kv')]);
    b.zone('new').set('later', bytes('x'), T + 60_000);
    b.zone('kv').set('marker', bytes('x'), T + 60_000);
    await until(() => a.zone('kv').get('marker') !== undefined, 'marker');
    assert.equal(added.get('later'), undefined);
    await until(synced(a, b), 'ready again after a reload that only removed a zone');
  });

  it('counts records pending per zone until they are written', async () => {
    const a = makeNode(1, [{ name: 'kv' }]);
    const b = makeNode(2, [{ name: 'kv' }]);
    await join(a, b);
    const [local] = a.node.localZones();
    a.zone('kv').set('x', bytes('1'), T + 60_000);
    a.zone('kv').set('x', bytes('2'), T + 60_000);
    a.zone('kv').set('y', bytes('1'), T + 60_000);
    assert.equal(a.node.pendingRecords(local), 2, 'a key changed twice is pending once');
    await until(() => a.node.pendingRecords(local) === 0, 'flushed');
  });
});
