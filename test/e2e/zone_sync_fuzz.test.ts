// The zone_sync codec under fire on a live node: generated frames (valid ones of every type,
// optional ones, mutated and truncated ones, cut at random places) sent to a node's sync port over
// thousands of connections, until the node has read at least 100,000 of them (a connection closes
// at its first bad frame: what follows is sent, not read, and is not counted). The node must keep serving, keep syncing with its real peer, and
// change no record: the fuzz catalogue names zones the node does not have (z0, z1, z2, zone-é), so
// even a valid RECORDS frame has nowhere to land, and nothing else may write.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  type Cluster,
  type ClusterNode,
  standardConf,
  standardFiles,
  startCluster,
} from '../helpers/cluster.ts';
import { waitFor } from '../helpers/instance.ts';
import { handshake, int, mutate, type Rand, randomChunks, randomFrame, rng } from '../helpers/sync_fuzz.ts';

/** Frames the node must have read (at least) before the test stops. */
const FRAMES_READ = 100_000;
const FRAMES_PER_CONNECTION = 40;
const PARALLEL = 48;

let cluster: Cluster;
before(async () => {
  cluster = await startCluster({ base: 60, size: 2, conf: (n) => standardConf(n), files: standardFiles });
});
after(() => cluster?.stop());

/**
 * One connection's bytes: usually a handshake first (else the preamble check is what is fuzzed),
 * then frames; the mix decides how deep a connection gets before the node closes it. `read`: the
 * frames the node reads at least, up to and including the first bad one (a mutated frame may still
 * be valid, and then the node reads on).
 */
function connectionBytes(rand: Rand): { data: Uint8Array; read: number } {
  const parts: Uint8Array[] = [];
  const style = int(rand, 4); // 0: all valid, 1: valid then one bad at the end, 2: mixed, 3: no handshake
  if (style !== 3) parts.push(handshake(rand));
  let read = style === 3 ? 0 : FRAMES_PER_CONNECTION;
  for (let i = 0; i < FRAMES_PER_CONNECTION; i++) {
    const frame = randomFrame(rand);
    const bad =
      style === 2
        ? rand() < 0.3
        : style === 3
          ? rand() < 0.5
          : style === 1 && i === FRAMES_PER_CONNECTION - 1;
    if (bad && read === FRAMES_PER_CONNECTION) read = i + 1;
    parts.push(bad ? mutate(rand, frame) : frame);
  }
  return { data: Buffer.concat(parts), read };
}

/** Send `data` in random chunks, half-close, and wait for the node to close (or give up). */
function sendOne(node: ClusterNode, port: number, rand: Rand, data: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: node.address, port });
    const timer = setTimeout(() => sock.destroy(), 5000);
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.resume();
    sock.on('connect', () => {
      for (const chunk of randomChunks(rand, data)) if (chunk.length > 0) sock.write(chunk);
      sock.end();
    });
  });
}

async function state(node: ClusterNode) {
  const status = await node.syncStatus();
  const totals = Object.fromEntries(Object.entries(status.zones).map(([z, v]) => [z, v.records_total]));
  return { kv: await node.keyvals(), totals };
}

test(`${FRAMES_READ} fuzzed frames read by a live node: it keeps serving and no record changes`, async () => {
  const [target, peer] = cluster.live();
  for (let i = 0; i < 50; i++) await peer.setKeyval(`k${i}`, `v${i}`);
  for (let i = 0; i < 5; i++) await peer.request('/rl?k=fuzz');
  await cluster.waitKeyvalsConverged();
  const before = await state(target);
  assert.equal(Object.keys(before.kv).length, 50);

  const rand = rng(0x5eed);
  let read = 0;
  let connections = 0;
  let stop = false;
  // Meanwhile the node answers HTTP.
  const probe = (async () => {
    let probes = 0;
    while (!stop) {
      const res = await target.api('/http/keyvals/kv');
      assert.equal(res.status, 200, 'the node serves HTTP during the fuzz');
      probes++;
      await new Promise((r) => setTimeout(r, 200));
    }
    return probes;
  })();
  const worker = async () => {
    while (read < FRAMES_READ) {
      const one = connectionBytes(rand);
      read += one.read;
      connections++;
      await sendOne(target, cluster.syncPort, rand, one.data);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  stop = true;
  assert.ok((await probe) > 0);
  assert.ok(read >= FRAMES_READ, `${read} frames read over ${connections} connections`);

  assert.equal(target.inst.proc.exitCode, null, 'the node is alive');
  assert.deepEqual(await state(target), before, 'no record changed');
  assert.match(target.errorLog(), /protocol error/, 'bad frames are logged as protocol errors');
  // The real peer link survived (or came back) and still carries writes both ways.
  await cluster.waitMeshed();
  await peer.setKeyval('after-fuzz', 'p');
  await target.setKeyval('after-fuzz-2', 't');
  await waitFor(async () => (await target.keyvals())['after-fuzz'] === 'p', 5000, 'peer → target');
  await waitFor(async () => (await peer.keyvals())['after-fuzz-2'] === 't', 5000, 'target → peer');
});
