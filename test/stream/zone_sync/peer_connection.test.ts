// Two zone_sync nodes over a real loopback TCP connection: handshake, snapshots both ways, live
// records and tombstones, flow control (live updates ahead of a snapshot, and out within
// zone_sync_interval however backlogged the socket), expiry as absolute time, the catalogue rules,
// and readiness.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { FrameWriter } from '../../../src/stream/zone_sync/codec.ts';
import {
  bytes,
  keyvalType,
  listen,
  makeNode,
  pair,
  stickyType,
  synced,
  type TestNode,
  text,
  until,
} from './mesh.ts';

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

  it("a joining node's snapshot does not hold back live updates: they overtake it", async (t) => {
    const size = 32 * 1024 * 1024;
    const a = makeNode(1, [{ name: 'big', size }, { name: 'kv' }]);
    const b = makeNode(2, [{ name: 'big', size }, { name: 'kv' }]);
    const value = bytes('x'.repeat(200));
    const N = 60_000;
    for (let i = 0; i < N; i++) a.zone('big').set(`key-${i}`, value, T + 600_000);
    // How much of the snapshot b had when the live record arrived.
    let bigAtArrival = -1;
    b.zone('kv').onRemote((r) => {
      if (text(r.key) === 'live' && bigAtArrival < 0) bigAtArrival = b.zone('big').stats().records;
    });
    const p = await pair(a, b);
    cleanup = p.close;
    // Once b is taking in the ~14 MB snapshot (the 256 KiB credit window paces it), a live write.
    await until(() => b.zone('big').stats().records > 0, 'the snapshot under way', 5000);
    const bigAtWrite = b.zone('big').stats().records;
    a.zone('kv').set('live', bytes('now'), T + 60_000);
    await until(synced(a, b), 'both nodes synced', 30_000);
    assert.equal(b.zone('big').stats().records, N);
    const seen = `written at ${bigAtWrite}, arrived at ${bigAtArrival} of ${N} snapshot records`;
    t.diagnostic(seen);
    assert.ok(bigAtWrite < N / 10, seen);
    // Behind the snapshot it would arrive at N; ahead of it, at most a window or two later.
    assert.ok(bigAtArrival >= bigAtWrite && bigAtArrival < bigAtWrite + N / 10, seen);
  });

  it('live changes wait for a backlogged socket at most zone_sync_interval', async (t) => {
    const a = makeNode(1, [{ name: 'kv', size: 64 * 1024 * 1024 }], { intervalMs: 300 });
    const { server, port } = await listen(a);
    // A peer that completes the handshake, then reads nothing: a's socket backs up.
    const raw = net.connect({ host: '127.0.0.1', port });
    raw.on('error', () => {});
    cleanup = async () => {
      raw.destroy();
      a.node.shutdown('test over');
      await new Promise((r) => server.close(r));
    };
    await new Promise((resolve) => raw.once('connect', resolve));
    const w = new FrameWriter();
    w.preamble();
    w.hello({
      instanceId: 77n,
      nodeId: 77,
      wall: Date.now(),
      maxFrame: 1 << 20,
      snapshotWindow: 1 << 18,
      timeoutMs: 60_000,
    });
    w.catalogue(1, [{ index: 0, name: 'kv', type: 'keyval', version: 1 }]);
    raw.write(w.take());
    raw.pause();
    await until(() => a.node.nodesOnline === 1, 'the peer established');
    const [local] = a.node.localZones();
    const value = bytes('x'.repeat(16 * 1024));
    // 16 MB more than loopback's socket buffers take: the socket is left with a backlog.
    for (let i = 0; i < 1000; i++) a.zone('kv').set(`fill-${i}`, value, T + 600_000);
    await until(() => a.node.pendingRecords(local) === 0, 'the first burst written');
    // Changes now: held back by the backlog, then written when zone_sync_interval runs out.
    const started = performance.now();
    for (let i = 0; i < 50; i++) a.zone('kv').set(`late-${i}`, bytes('1'), T + 600_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(a.node.pendingRecords(local), 50, 'held while the socket has a backlog');
    await until(() => a.node.pendingRecords(local) === 0, 'the late changes written', 3000);
    const waited = performance.now() - started;
    t.diagnostic(`written after ${waited.toFixed(0)} ms`);
    assert.ok(
      waited >= 250 && waited < 1000,
      `written after ${waited.toFixed(0)} ms (zone_sync_interval 300ms)`,
    );
  });

  it('expiry travels as an absolute time: records and tombstones expire at the same instant on both', async () => {
    const a = makeNode(1, [{ name: 'kv' }]);
    const b = makeNode(2, [{ name: 'kv' }]);
    const at = Date.now() + 400;
    a.zone('kv').set('in-snapshot', bytes('1'), at);
    await join(a, b);
    a.zone('kv').set('live', bytes('2'), at + 1);
    a.zone('kv').set('deleted', bytes('3'), at + 2);
    a.zone('kv').delete('deleted');
    await until(() => b.zone('kv').store.get('deleted')?.deleted === true, 'the tombstone on b');
    for (const [key, expireAt] of [
      ['in-snapshot', at],
      ['live', at + 1],
      ['deleted', at + 2],
    ] as const) {
      assert.equal(b.zone('kv').store.get(key)?.expireAt, expireAt, key);
      assert.equal(a.zone('kv').store.get(key)?.expireAt, expireAt, key);
    }
    assert.equal(text(b.zone('kv').get('live')?.value), '2');
    await new Promise((r) => setTimeout(r, Math.max(0, at + 10 - Date.now())));
    for (const n of [a, b]) {
      for (const key of ['in-snapshot', 'live', 'deleted']) {
        assert.equal(n.zone('kv').get(key), undefined, `${key} expired on node ${n.node.nodeId}`);
      }
    }
  });

  it('skips zones whose type or module version differs (warned) or that one side lacks (info), syncs the rest', async () => {
    const keyvalV2 = { ...keyvalType, syncVersion: 2 };
    const a = makeNode(1, [
      { name: 'kv' },
      { name: 'sess', type: stickyType },
      { name: 'newer', type: keyvalV2 },
      { name: 'only-a' },
    ]);
    const b = makeNode(2, [{ name: 'kv' }, { name: 'sess', type: keyvalType }, { name: 'newer' }]);
    a.zone('sess').set('s', bytes('1'), T + 60_000);
    a.zone('newer').set('n', bytes('1'), T + 60_000);
    a.zone('kv').set('k', bytes('1'), T + 60_000);
    await join(a, b);
    assert.equal(text(b.zone('kv').get('k')?.value), '1');
    assert.equal(b.zone('sess').get('s'), undefined);
    assert.equal(b.zone('newer').get('n'), undefined);
    for (const warning of [
      '[warn] zone_sync: zone "sess" is sticky v1 on this node but keyval v1 on peer',
      '[warn] zone_sync: zone "newer" is keyval v2 on this node but keyval v1 on peer',
    ]) {
      assert.ok(
        a.logs.some((l) => l.startsWith(warning)),
        a.logs.join('\n'),
      );
    }
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
