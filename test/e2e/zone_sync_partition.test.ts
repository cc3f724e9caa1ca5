// A partition between two of three nodes, made with TCP relays on the A–B link (static
// `zone_sync_server` lines: A reaches B and B reaches A only through a relay, both reach C
// directly). While the link is cut both sides keep writing and deleting; once it is restored the
// reconnect snapshots heal it: every zone converges and a delete made during the partition is not
// resurrected by the other side's older copy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  addressOf,
  type Cluster,
  commonFreePort,
  logTails,
  standardConf,
  standardFiles,
  startCluster,
  waitMeshQuiet,
} from '../helpers/cluster.ts';
import { waitFor } from '../helpers/instance.ts';
import { startRelay, type TcpRelay } from '../helpers/tcp_relay.ts';

const BASE = 40;
let cluster: Cluster;
let relays: TcpRelay[] = [];

before(async () => {
  const addresses = [0, 1, 2].map((i) => addressOf(BASE, i));
  const syncPort = await commonFreePort(addresses);
  // relays[0]: A → B, relays[1]: B → A, each on its own address.
  relays = [
    await startRelay({ host: addressOf(BASE, 8), target: { host: addresses[1], port: syncPort } }),
    await startRelay({ host: addressOf(BASE, 9), target: { host: addresses[0], port: syncPort } }),
  ];
  const peerOf = (i: number, j: number) =>
    i === 0 && j === 1
      ? relays[0].address
      : i === 1 && j === 0
        ? relays[1].address
        : `${addresses[j]}:${syncPort}`;
  cluster = await startCluster({
    base: BASE,
    syncPort,
    conf: (n) =>
      standardConf(n, {
        servers: [0, 1, 2].filter((j) => j !== n.index).map((j) => peerOf(n.index, j)),
      }),
    files: standardFiles,
  });
  await waitMeshQuiet(cluster);
});

after(async () => {
  await cluster?.stop();
  for (const r of relays) await r.close();
});

const totals = async (zone: string) =>
  Promise.all(cluster.live().map(async (n) => (await n.syncStatus()).zones[zone]?.records_total));

test('a cut link heals: writes and deletes of both sides converge, deletes are not resurrected', async () => {
  const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];
  assert.ok(relays[0].open() + relays[1].open() >= 1, 'the A–B link runs through a relay');
  await a.setKeyval('doomed', 'x');
  await a.setKeyval('keep', '1');
  await b.setKeyval('b-old', 'y');
  await cluster.waitKeyvalsConverged();

  for (const r of relays) r.cut();
  await cluster.waitMeshed({ nodes: [a, b], online: 1, ms: 10_000 });
  assert.equal((await c.syncStatus()).status.nodes_online, 2, 'C still reaches both');

  // Both sides keep working while cut off from each other.
  await a.setKeyval('a-side', 'A');
  await a.setKeyval('doomed', null);
  await b.setKeyval('b-side', 'B');
  await b.setKeyval('keep', 'from-B');
  await b.setKeyval('b-old', null);
  for (const n of [a, b]) for (let i = 0; i < 5; i++) await n.request(`/rl?k=${n.address}`);

  // C hears both; records are not forwarded, so B has not heard A's writes and vice versa.
  await waitFor(
    async () => {
      const kv = await c.keyvals();
      return kv['a-side'] === 'A' && kv['b-side'] === 'B' && !('doomed' in kv) && !('b-old' in kv);
    },
    5000,
    'C to hear both sides',
  );
  await new Promise((r) => setTimeout(r, 500));
  const bView = await b.keyvals();
  assert.equal(bView['a-side'], undefined, 'the partition holds');
  assert.equal(bView.doomed, 'x', 'B still has its copy of the deleted key');
  assert.equal((await a.keyvals())['b-old'], 'y', 'A still has its copy of the key B deleted');

  for (const r of relays) r.restore();
  await cluster.waitMeshed({ ms: 15_000 });
  const healed = await cluster.waitKeyvalsConverged('kv', 15_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${logTails(cluster.live())}`);
  });
  assert.deepEqual(healed, { keep: 'from-B', 'a-side': 'A', 'b-side': 'B' });

  // Several snapshot rounds later the deleted keys are still gone everywhere.
  await new Promise((r) => setTimeout(r, 1500));
  for (const n of cluster.live()) {
    const kv = await n.keyvals();
    assert.equal(kv.doomed, undefined, `doomed resurrected on ${n.address}`);
    assert.equal(kv['b-old'], undefined, `b-old resurrected on ${n.address}`);
  }
  // Every zone converged: the same record counts (tombstones and limit_req slots included).
  for (const zone of ['kv', 'rl']) {
    await waitFor(
      async () => new Set(await totals(zone)).size === 1,
      10_000,
      `records_total of ${zone} to agree`,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${(await totals(zone)).join(', ')}`);
    });
  }
});

test('a second cut and heal, with a write racing on both sides: the last writer wins everywhere', async () => {
  const [a, b] = [cluster.node(0), cluster.node(1)];
  for (const r of relays) r.cut();
  await cluster.waitMeshed({ nodes: [a, b], online: 1, ms: 10_000 });
  await a.setKeyval('race', 'first-on-A');
  await new Promise((r) => setTimeout(r, 20));
  await b.setKeyval('race', 'later-on-B');
  for (const r of relays) r.restore();
  await cluster.waitMeshed({ ms: 15_000 });
  const healed = await cluster.waitKeyvalsConverged('kv', 15_000);
  assert.equal(healed.race, 'later-on-B');
});
