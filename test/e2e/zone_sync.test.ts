// zone_sync across three real bin/zonesync processes found through DNS (the embedded responder
// answers `cluster.test` with the member addresses): keyval writes and deletes reach every node,
// sticky sessions learned on one node route the same through the others, a DELETE of the whole
// zone empties it everywhere, a restarted node and a node added to DNS later receive the whole
// state, and a node removed from DNS is dropped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../helpers/backend.ts';
import {
  type Cluster,
  type ClusterNode,
  logTails,
  servedBy,
  sessionBackend,
  standardConf,
  standardFiles,
  startCluster,
} from '../helpers/cluster.ts';
import { waitFor } from '../helpers/instance.ts';

let cluster: Cluster;
const backends: Backend[] = [];
/** Session id → the backend that learned it. */
const sessions = new Map<string, string>();

before(async () => {
  backends.push(await sessionBackend('alpha'), await sessionBackend('beta'));
  cluster = await startCluster({
    base: 10,
    conf: (n) => standardConf(n, { backends: backends.map((b) => b.port) }),
    files: standardFiles,
  });
});

after(async () => {
  await cluster?.stop();
  for (const b of backends) await b.close();
});

async function waitForKey(node: ClusterNode, key: string, value: string | undefined, ms = 5000) {
  await waitFor(
    async () => (await node.keyvals())[key] === value,
    ms,
    `${key}=${value} on ${node.address}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${logTails(cluster.live())}`);
  });
}

/** Every live node's records_total of `zone` equals `count`. */
async function waitForTotals(zone: string, count: number, ms = 10_000) {
  let seen: number[] = [];
  await waitFor(
    async () => {
      seen = await Promise.all(
        cluster.live().map(async (n) => (await n.syncStatus()).zones[zone]?.records_total),
      );
      return seen.every((t) => t === count);
    },
    ms,
    `records_total of "${zone}" = ${count} everywhere`,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (${seen.join(', ')})`);
  });
}

async function assertSticky(node: ClusterNode) {
  for (const [sid, server] of sessions) {
    for (let i = 0; i < 3; i++) {
      assert.equal(await servedBy(node, { sid }), server, `session ${sid} through ${node.address}`);
    }
  }
}

describe('three nodes found through DNS', () => {
  it('counts the other two nodes on every node, never itself, with the zones in the status', async () => {
    for (const n of cluster.live()) {
      // the mesh forms after the nodes start listening: on a loaded machine, give it time
      let online = -1;
      await waitFor(
        async () => {
          online = (await n.syncStatus()).status.nodes_online;
          return online >= 2;
        },
        10_000,
        `two nodes online on ${n.address}`,
      );
      const s = await n.syncStatus();
      assert.equal(s.status.nodes_online, 2, `${n.address} (${online})`);
      for (const zone of ['kv', 'rl', 'st']) {
        assert.equal(typeof s.zones[zone]?.records_total, 'number', `${zone} on ${n.address}`);
        assert.equal(typeof s.zones[zone]?.records_pending, 'number');
      }
    }
  });

  it('a keyval write on one node is readable on all others (API and variable)', async () => {
    await cluster.node(0).setKeyval('user1', 'from-0');
    for (const n of cluster.live()) {
      await waitForKey(n, 'user1', 'from-0');
      assert.equal((await n.request('/kv?k=user1')).text, 'from-0');
    }
    // A write through the variable (`set`) travels the same way.
    assert.equal((await cluster.node(1).request('/set?k=user2&v=via-set')).status, 204);
    for (const n of cluster.live()) await waitForKey(n, 'user2', 'via-set');
    // The latest write wins everywhere.
    await cluster.node(2).setKeyval('user1', 'from-2');
    for (const n of cluster.live()) await waitForKey(n, 'user1', 'from-2');
    const status = await cluster.node(2).syncStatus();
    assert.ok(status.status.msgs_out > 0 && status.status.bytes_out > 0, JSON.stringify(status.status));
    assert.ok(status.status.msgs_in > 0 && status.status.bytes_in > 0);
  });

  it('a sticky session learned on one node routes to the same backend through every other node', async () => {
    for (let i = 1; i <= 4; i++) {
      const sid = `S${i}`;
      sessions.set(sid, await servedBy(cluster.node(0), { want: sid }));
    }
    assert.equal(new Set(sessions.values()).size, 2, 'round robin put sessions on both backends');
    await waitForTotals('st', sessions.size);
    for (const n of cluster.live()) await assertSticky(n);
  });

  it('a delete on one node propagates to the others', async () => {
    await cluster.node(0).setKeyval('gone', 'soon');
    for (const n of cluster.live()) await waitForKey(n, 'gone', 'soon');
    await cluster.node(2).setKeyval('gone', null);
    for (const n of cluster.live()) {
      await waitForKey(n, 'gone', undefined);
      assert.equal((await n.request('/kv?k=gone')).text, '');
    }
  });

  it('a DELETE of the whole zone on one node empties it on every node; later writes still travel', async () => {
    for (const k of ['z1', 'z2', 'z3']) await cluster.node(2).setKeyval(k, k);
    for (const n of cluster.live()) await waitForKey(n, 'z3', 'z3');
    // NGINX Plus empties the zone only on the node asked; here the deletes travel as tombstones.
    assert.equal((await cluster.node(1).api('/http/keyvals/kv', { method: 'DELETE' })).status, 204);
    for (const n of cluster.live()) {
      await waitFor(
        async () => Object.keys(await n.keyvals()).length === 0,
        5000,
        `an empty zone on ${n.address}`,
      );
    }
    // The tombstones block nothing newer: the zone fills again, everywhere.
    await cluster.node(0).setKeyval('user1', 'after-clear');
    await cluster.node(2).setKeyval('z2', 'back');
    for (const n of cluster.live()) {
      await waitForKey(n, 'user1', 'after-clear');
      await waitForKey(n, 'z2', 'back');
    }
  });

  it('a restarted node (new instance, empty zones) receives the full state', async () => {
    const expected = await cluster.node(0).keyvals();
    const restarted = await cluster.restart(1);
    await cluster.waitMeshed();
    // Once it reports ready, every peer's snapshot is in: no polling for the data itself.
    await waitFor(() => restarted.ready(), 10_000, 'the restarted node to be ready');
    assert.deepEqual(await restarted.keyvals(), expected);
    await assertSticky(restarted);
    const totals = await Promise.all(cluster.live().map(async (n) => (await n.syncStatus()).zones));
    for (const zone of ['kv', 'st']) {
      assert.deepEqual(
        totals.map((z) => z[zone]?.records_total),
        totals.map(() => totals[0][zone]?.records_total),
        `records_total of ${zone} everywhere`,
      );
    }
  });

  it('a node added to DNS later joins the mesh and receives the full state', async () => {
    const expected = await cluster.node(0).keyvals();
    const added = await cluster.addNode();
    await cluster.waitMeshed();
    assert.equal((await added.syncStatus()).status.nodes_online, 3);
    await waitFor(() => added.ready(), 10_000, 'the added node to be ready');
    assert.deepEqual(await added.keyvals(), expected);
    await assertSticky(added);
    // And it is a full member: its own writes reach the others.
    await added.setKeyval('from-new', 'yes');
    for (const n of cluster.live()) await waitForKey(n, 'from-new', 'yes');
  });

  it('a node removed from DNS is dropped by the others, which stop dialing it', async () => {
    const removed = cluster.node(3);
    const gone = `${removed.address}:${cluster.syncPort}`;
    const rest = cluster.live().filter((n) => n !== removed);
    // Each member re-resolves every second (valid=1s): it must have seen the node arrive in DNS
    // before it can see it leave (on a fast machine the previous test ends within that second).
    for (const n of rest) {
      await waitFor(() => n.errorLog().includes(`peer ${gone} added`), 10_000, `${n.address} to add ${gone}`);
    }
    cluster.removeFromDns(3);
    // resolver valid=1s: each member re-resolves, drops the address and closes its link to it.
    for (const n of rest) {
      await waitFor(
        () => n.errorLog().includes(`peer ${gone} removed`),
        10_000,
        `${n.address} to drop ${gone}`,
      );
    }
    // The scale-in completes: the removed node goes, and nobody keeps trying to reach it.
    await cluster.stopNode(3);
    await cluster.waitMeshed({ nodes: rest, online: 2, ms: 15_000 });
    await new Promise((r) => setTimeout(r, 1000)); // several zone_sync_connect_retry_intervals
    for (const n of rest) {
      const status = await n.syncStatus();
      assert.equal(status.status.nodes_online, 2, n.address);
      const peers = (status.zonesync as { peers: { address: string }[] }).peers.map((p) => p.address);
      assert.ok(!peers.includes(gone), `${n.address} still lists ${gone}: ${peers.join(', ')}`);
    }
  });
});
