// The protocol's identity rules (docs/protocol.md §5) over real sockets: a node that reaches itself,
// two connections between one pair, two nodes with one node id, a silent peer, and an idle one
// that heartbeats keep connected.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { CloseCode, FrameDecoder, FrameWriter } from '../../../src/stream/zone_sync/codec.ts';
import { dial, listen, makeNode, synced, until } from './mesh.ts';

const servers: net.Server[] = [];
const nodes: ReturnType<typeof makeNode>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.node.shutdown('test over');
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function node(...args: Parameters<typeof makeNode>) {
  const n = makeNode(...args);
  nodes.push(n);
  return n;
}

async function serve(n: ReturnType<typeof makeNode>): Promise<number> {
  const { server, port } = await listen(n);
  servers.push(server);
  return port;
}

describe('zone_sync identity rules', () => {
  it('a node that connects to itself closes with CLOSE self and counts no peer', async () => {
    const a = node(1, [{ name: 'kv' }]);
    const conn = await dial(a, await serve(a));
    await until(() => conn.state === 'closed', 'self connection closed');
    assert.equal(conn.closeCode, CloseCode.Self);
    assert.equal(a.node.nodesOnline, 0);
    assert.ok(
      a.logs.some((l) => /\[info\] zone_sync: .* is this node, not connecting to it/.test(l)),
      a.logs.join('\n'),
    );
  });

  it('of two simultaneous connections, the one the lower instance id initiated survives on both sides', async () => {
    const low = node(1, [{ name: 'kv' }], { instanceId: 5n });
    const high = node(2, [{ name: 'kv' }], { instanceId: 9n });
    const lowPort = await serve(low);
    const highPort = await serve(high);
    const fromLow = await dial(low, highPort);
    const fromHigh = await dial(high, lowPort);
    await until(synced(low, high), 'synced over one connection');
    await until(() => fromHigh.state === 'closed', 'the high-initiated connection closes');
    assert.equal(fromLow.state, 'established');
    assert.equal(fromHigh.closeCode, CloseCode.Duplicate);
    assert.equal(low.node.connections.size, 1);
    assert.equal(high.node.connections.size, 1);
    assert.equal(low.node.isConnectedTo(9n), true);
  });

  it('refuses a peer with this node id, with an error naming both', async () => {
    const a = node(7, [{ name: 'kv' }], { instanceId: 1n });
    const b = node(7, [{ name: 'kv' }], { instanceId: 2n });
    const conn = await dial(a, await serve(b));
    await until(() => conn.state === 'closed', 'refused');
    assert.equal(conn.closeCode, CloseCode.NodeIdConflict);
    const line = b.logs.find((l) => l.includes('uses node id 7, as does this node'));
    assert.match(line ?? '', /^\[error\] zone_sync: peer .* \(instance 0000000000000001\) uses node id 7/);
  });

  it('closes a peer that stays silent for zone_sync_timeout', async () => {
    const a = node(1, [{ name: 'kv' }], { timeoutMs: 300 });
    const port = await serve(a);
    // A peer that sends its preamble and HELLO, then nothing.
    const raw = net.connect({ host: '127.0.0.1', port });
    raw.on('error', () => {});
    const w = new FrameWriter();
    w.preamble();
    w.hello({
      instanceId: 42n,
      nodeId: 9,
      wall: Date.now(),
      maxFrame: 1 << 20,
      snapshotWindow: 1 << 18,
      timeoutMs: 60_000,
    });
    raw.write(w.take());
    const frames: string[] = [];
    const decoder = new FrameDecoder();
    raw.on('data', (chunk) => {
      for (const f of decoder.push(chunk)) frames.push(f.type === 'close' ? `close:${f.code}` : f.type);
    });
    await until(() => frames.includes(`close:${CloseCode.Timeout}`), 'CLOSE timeout', 3000);
    assert.ok(frames.includes('ping'), `pinged before giving up: ${frames}`);
    assert.ok(a.logs.some((l) => /\[error\] zone_sync: peer .* timed out/.test(l)));
    raw.destroy();
  });

  it('heartbeats keep an idle link up for many zone_sync_timeouts', async () => {
    const a = node(1, [{ name: 'kv' }], { timeoutMs: 300 });
    const b = node(2, [{ name: 'kv' }], { timeoutMs: 300 });
    const fromA = await dial(a, await serve(b));
    await until(synced(a, b), 'synced');
    const [atB] = b.node.connections;
    const recordsOut = a.node.counters.msgs_out + b.node.counters.msgs_out;
    // Five timeouts with nothing to sync: only PING and PONG cross.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(a.node.counters.msgs_out + b.node.counters.msgs_out, recordsOut, 'no records sent');
    assert.equal(fromA.state, 'established');
    assert.equal(atB.state, 'established');
    assert.deepEqual([a.node.nodesOnline, b.node.nodesOnline], [1, 1]);
    assert.deepEqual(
      [...a.logs, ...b.logs].filter((l) => /timed out|disconnected/.test(l)),
      [],
      'no connection dropped',
    );
    // Both sides pinged and measured the round trip from the PONGs.
    assert.equal(typeof fromA.heartbeat.rttMs, 'number');
    assert.equal(typeof atB.heartbeat.rttMs, 'number');
  });
});
