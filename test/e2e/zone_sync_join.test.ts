// A node that joins dials every member at once, while the members learn of it only when they next
// resolve the cluster name. Once that happens they must not dial it too: the second connection
// would be a duplicate (§5.2 of docs/protocol.md), and replacing the first restarts the snapshots
// both ways, which for a large zone is seconds of work thrown away.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Cluster, standardConf, standardFiles, startCluster } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/instance.ts';

let cluster: Cluster;

before(async () => {
  cluster = await startCluster({ base: 30, size: 2, conf: (n) => standardConf(n), files: standardFiles });
});

after(async () => {
  await cluster?.stop();
});

test('members reached by a joining node do not dial it again once DNS lists it', async () => {
  const members = cluster.live();
  // Not in DNS yet: only the joiner's own connections can exist.
  const joiner = await cluster.addNode({ dns: false });
  const name = `${joiner.address}:${cluster.syncPort}`;
  for (const m of members) {
    await waitFor(
      () => m.errorLog().includes(`peer ${name} connected`),
      10_000,
      `${m.address} to accept ${name}`,
    );
  }
  cluster.addToDns(joiner.index);
  for (const m of members) {
    await waitFor(
      () => m.errorLog().includes(`peer ${name} added`),
      10_000,
      `${m.address} to resolve ${name}`,
    );
  }
  // Long enough for a dial and its duplicate check: connect retries run every 1-1.5 s.
  await new Promise((r) => setTimeout(r, 2500));
  // (the members' own start may have made a duplicate between them: not this test's business)
  for (const m of members) {
    const lines = m
      .errorLog()
      .split('\n')
      .filter((l) => l.includes(name) && l.includes('duplicate'));
    assert.deepEqual(lines, [], `${m.address}: no duplicate connection with the joiner`);
  }
  assert.doesNotMatch(joiner.errorLog(), /duplicate/, 'the joiner: no duplicate connection');
  for (const m of members) assert.equal((await m.syncStatus()).status.nodes_online, 2);
  assert.equal((await joiner.syncStatus()).status.nodes_online, 2);
});
