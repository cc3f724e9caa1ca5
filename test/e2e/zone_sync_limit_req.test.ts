// A synced limit_req zone holds its rate across the cluster: load spread evenly over three real
// nodes is admitted at about the zone's rate, not three times it. Counting, not timing: each node
// gets a steady stream of requests for one key for ~3 s and the test counts the 200s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type Cluster,
  type ClusterNode,
  standardConf,
  standardFiles,
  startCluster,
} from '../helpers/cluster.ts';

const RATE = 20; // r/s
const SECONDS = 3;

let cluster: Cluster;
before(async () => {
  cluster = await startCluster({
    base: 20,
    conf: (n) => standardConf(n, { rate: `${RATE}r/s` }),
    files: standardFiles,
  });
});
after(() => cluster?.stop());

/** Requests to `node` for `key`, one every `gapMs`, until `until`; the statuses counted. */
async function drive(node: ClusterNode, key: string, until: number, gapMs: number) {
  const counts = { admitted: 0, limited: 0, other: 0 };
  while (performance.now() < until) {
    const status = (await node.request(`/rl?k=${key}`)).status;
    if (status === 200) counts.admitted++;
    else if (status === 429) counts.limited++;
    else counts.other++;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return counts;
}

test(`rate=${RATE}r/s burst=0 sync: load spread over three nodes is admitted at about ${RATE}/s in all`, async (t) => {
  const nodes = cluster.live();
  const start = performance.now();
  const until = start + SECONDS * 1000;
  // ~200 requests/s per node, 600/s in all: 30 times the rate, so every node is always asking.
  const results = await Promise.all(nodes.map((n) => drive(n, 'cluster-wide', until, 5)));
  const seconds = (performance.now() - start) / 1000;
  const admitted = results.reduce((s, r) => s + r.admitted, 0);
  const limited = results.reduce((s, r) => s + r.limited, 0);
  const summary = `admitted ${results.map((r) => r.admitted).join('+')} = ${admitted}, limited ${limited}, over ${seconds.toFixed(2)} s`;
  t.diagnostic(summary);
  assert.equal(
    results.reduce((s, r) => s + r.other, 0),
    0,
    summary,
  );
  assert.ok(limited > admitted, `the load exceeds the rate: ${summary}`);
  for (const r of results) assert.ok(r.admitted > 0, `every node admits its share: ${summary}`);
  // One node alone admits 1 + rate × t. Three unsynchronized nodes would admit three times that.
  // docs/protocol.md §10: each node decides on its peers' slots as they were one flush delay plus
  // a round trip ago (zone_sync_interval 100ms here), so the cluster may over-admit by about
  // (N − 1) × rate × lag ≈ 2 × 20 × 0.1 = 4 requests per lag window; allow 50% over the rate plus
  // one first request per node, and 30% under for the requests that arrive between two drains.
  const ideal = RATE * seconds;
  assert.ok(admitted <= 1.5 * ideal + nodes.length, `cluster-wide limit over-admits: ${summary}`);
  assert.ok(admitted >= 0.7 * ideal, `cluster-wide limit under-admits: ${summary}`);
  assert.ok(admitted < 2 * ideal, `far from ${nodes.length} independent limits: ${summary}`);
});

test('the limit_req zone is in the zone_sync status and its contributions reached every node', async () => {
  for (const n of cluster.live()) {
    const s = await n.syncStatus();
    assert.equal(s.status.nodes_online, 2);
    assert.ok((s.zones.rl?.records_total ?? 0) >= 1, `${n.address}: ${JSON.stringify(s.zones)}`);
  }
});
