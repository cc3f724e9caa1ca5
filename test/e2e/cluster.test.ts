// `zonesync cluster` end to end: three nodes found through the runner's DNS responder alone; a
// fourth added by `cluster scale 4` appears in DNS and receives the whole state; `cluster scale 2`
// takes two out of DNS, then stops them; a node killed by hand is reported and started again after
// the backoff, and the new instance catches up from its peers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningCluster, startRunner } from '../cluster/harness.ts';
import { standardConf, standardFiles } from '../helpers/cluster.ts';
import { canConnect, httpRequest, waitFor } from '../helpers/instance.ts';

interface SyncStatus {
  status: { nodes_online: number };
  zones: Record<string, { records_total: number }>;
}

let cluster: RunningCluster;

before(async () => {
  cluster = await startRunner({ first: 111, conf: (env) => standardConf(env), files: standardFiles() });
});

after(async () => {
  assert.equal(await cluster?.stop(), 0);
});

const online = async (i: number) =>
  (await cluster.api<SyncStatus>(i, '/stream/zone_sync')).status.nodes_online;

async function waitOnline(i: number, count: number): Promise<void> {
  await waitFor(async () => (await online(i)) === count, 20_000, `node ${i} with ${count} peers online`);
}

async function setKey(i: number, key: string, value: string): Promise<void> {
  const res = await httpRequest(
    cluster.env.httpPort,
    '/api/9/http/keyvals/kv',
    {
      method: 'POST',
      body: JSON.stringify({ [key]: value }),
    },
    cluster.address(i),
  );
  assert.equal(res.status, 201, res.text);
}

async function waitKey(i: number, key: string, value: string): Promise<void> {
  await waitFor(
    async () => (await cluster.api<Record<string, string>>(i, '/http/keyvals/kv'))[key] === value,
    15_000,
    `${key}=${value} on node ${i}`,
  );
}

test('starts three nodes that find each other through the DNS responder, and says where they are', async () => {
  const out = cluster.output();
  for (let i = 1; i <= 3; i++)
    assert.match(out, new RegExp(`node ${i} \\(${cluster.address(i)}\\)  pid \\d+`));
  assert.match(out, new RegExp(`cluster\\.test → ${[1, 2, 3].map(cluster.address).join(' ')}`));
  assert.deepEqual(await cluster.members(), [1, 2, 3].map(cluster.address));
  for (let i = 1; i <= 3; i++) await waitOnline(i, 2);
  const status = await cluster.ctl('status');
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /node 2 {2}127\.0\.0\.112 {2}running {2}pid \d+/);
  assert.match(status.stdout, /peers: 2 of 2 online/);
  assert.match(status.stdout, /zone kv: \d+ records, \d+ pending/);
});

test('scale 4: the new node is in DNS, meets every peer and receives the state', async () => {
  await setKey(1, 'before-scale', 'one');
  await waitKey(3, 'before-scale', 'one');
  const res = await cluster.ctl('scale', '4');
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /node 4 \(127\.0\.0\.114\) started, pid \d+/);
  assert.deepEqual(await cluster.members(), [1, 2, 3, 4].map(cluster.address));
  await waitKey(4, 'before-scale', 'one');
  for (let i = 1; i <= 4; i++) await waitOnline(i, 3);
});

test('scale 2: the removed nodes leave DNS first, then stop; the others drop them', async () => {
  const res = await cluster.ctl('scale', '2');
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stdout,
    /DNS now answers 127\.0\.0\.111 127\.0\.0\.112; stopping node 3 .*, node 4 .* in 1s/,
  );
  assert.match(res.stdout, /the cluster has 2 nodes/);
  assert.deepEqual(await cluster.members(), [1, 2].map(cluster.address));
  for (const i of [3, 4]) assert.equal(await canConnect(cluster.env.httpPort, cluster.address(i)), false);
  assert.match(cluster.errorLog(4), /gracefully shutting down/);
  await waitOnline(1, 1);
  await waitOnline(2, 1);
});

test('a node killed by hand is reported, restarted after the backoff, and catches up', async () => {
  await setKey(1, 'before-kill', 'two');
  await waitKey(2, 'before-kill', 'two');
  const first = cluster.pid(2);
  assert.ok(first);
  process.kill(first, 'SIGKILL');
  await cluster.waitOutput(/node 2 \(127\.0\.0\.112\) exited \(SIGKILL\); restarting in 0\.5s/);
  await cluster.waitOutput(/node 2 \(127\.0\.0\.112\) restarted, pid \d+/);
  const second = cluster.pid(2);
  assert.notEqual(second, first);
  // A new instance with empty zones: what it holds came from node 1.
  await waitKey(2, 'before-kill', 'two');
  await waitKey(2, 'before-scale', 'one');
  // Dying again at once waits twice as long.
  process.kill(second as number, 'SIGKILL');
  await cluster.waitOutput(/node 2 \(127\.0\.0\.112\) exited \(SIGKILL\); restarting in 1s/);
  await waitFor(() => canConnect(cluster.env.httpPort, cluster.address(2)), 15_000, 'node 2 back');
  const status = await cluster.ctl('status');
  assert.match(status.stdout, /node 2 {2}127\.0\.0\.112 {2}running {2}pid \d+ {2}up \d+s {2}restarts 2/);
});
