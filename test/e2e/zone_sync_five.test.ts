// Five real nodes behind one DNS name: a full mesh (each counts four peers), writes made on every
// node at once converge everywhere, and sticky sessions learned on different nodes route the same
// through all five.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Backend } from '../helpers/backend.ts';
import {
  type Cluster,
  servedBy,
  sessionBackend,
  standardConf,
  standardFiles,
  startCluster,
} from '../helpers/cluster.ts';
import { waitFor } from '../helpers/instance.ts';

let cluster: Cluster;
const backends: Backend[] = [];

before(async () => {
  backends.push(await sessionBackend('one'), await sessionBackend('two'), await sessionBackend('three'));
  cluster = await startCluster({
    base: 70,
    size: 5,
    conf: (n) => standardConf(n, { backends: backends.map((b) => b.port) }),
    files: standardFiles,
  });
});

after(async () => {
  await cluster?.stop();
  for (const b of backends) await b.close();
});

test('five nodes: a full mesh, and writes on every node converge everywhere', async () => {
  for (const n of cluster.live()) assert.equal((await n.syncStatus()).status.nodes_online, 4);
  const nodes = cluster.live();
  await Promise.all(
    nodes.map(async (n) => {
      for (let i = 0; i < 20; i++) await n.setKeyval(`n${n.index}-${i}`, n.address);
      await n.setKeyval('contended', `last-from-${n.index}`);
    }),
  );
  const kv = await cluster.waitKeyvalsConverged('kv', 15_000);
  assert.equal(Object.keys(kv).length, 5 * 20 + 1);
  for (const n of nodes) assert.equal(kv[`n${n.index}-7`], n.address);
  assert.match(kv.contended, /^last-from-\d$/, 'one writer won, the same everywhere');
});

test('five nodes: sessions learned on different nodes route the same through all of them', async () => {
  const nodes = cluster.live();
  const sessions = new Map<string, string>();
  for (const n of nodes) {
    for (let i = 0; i < 2; i++)
      sessions.set(`s${n.index}-${i}`, await servedBy(n, { want: `s${n.index}-${i}` }));
  }
  await waitFor(
    async () => {
      const totals = await Promise.all(
        nodes.map(async (n) => (await n.syncStatus()).zones.st?.records_total),
      );
      return totals.every((t) => t === sessions.size);
    },
    10_000,
    'every session on every node',
  );
  for (const n of nodes) {
    for (const [sid, server] of sessions) {
      assert.equal(await servedBy(n, { sid }), server, `${sid} through ${n.address}`);
      assert.equal(await servedBy(n, { sid }), server);
    }
  }
});
