// `zonesync cluster`: each node under its own prefix, PREFIX/nodes/N/, with its own logs/ (error
// log, pid file) and state/ (keyval state files), and every other entry of the cluster prefix
// linked into it, so the configuration's relative paths work unchanged; and the DNS responder
// answering every name a `zone_sync_server ... resolve` line names, with every node.
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningCluster, startRunner } from '../cluster/harness.ts';
import { standardConf, standardFiles } from '../helpers/cluster.ts';
import { httpRequest, waitFor } from '../helpers/instance.ts';

const SECOND = 'second.cluster.test';

let cluster: RunningCluster;

before(async () => {
  cluster = await startRunner({
    first: 131,
    nodes: 2,
    conf: (env) =>
      standardConf(env, {
        servers: [`${env.name}:${env.syncPort} resolve`, `${SECOND}:${env.syncPort} resolve`],
        http: 'keyval_zone zone=saved:1m timeout=1h state=state/saved.json sync;',
      }),
    files: { ...standardFiles(), 'html/shared.txt': 'from the cluster prefix\n' },
  });
});

after(async () => {
  assert.equal(await cluster?.stop(), 0);
});

const nodeFile = (i: number, rel: string) => path.join(cluster.prefix, 'nodes', String(i), rel);

async function resolve(name: string): Promise<string[]> {
  const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([cluster.env.dns]);
  return (await resolver.resolve4(name)).sort();
}

test('every name zone_sync_server resolves is answered with every node, and the nodes mesh', async () => {
  const both = [1, 2].map(cluster.address);
  assert.deepEqual(await resolve(cluster.env.name), both);
  assert.deepEqual(await resolve(SECOND), both);
  for (const name of [cluster.env.name, SECOND])
    assert.match(
      cluster.output(),
      new RegExp(`DNS ${cluster.env.dns}: ${name.replaceAll('.', '\\.')} → ${both.join(' ')}`),
    );
  // Two names for the same two addresses: one peer each, not two.
  for (const i of [1, 2])
    await waitFor(
      async () =>
        (await cluster.api<{ status: { nodes_online: number } }>(i, '/stream/zone_sync')).status
          .nodes_online === 1,
      20_000,
      `node ${i} with its peer online`,
    );
});

test('each node has its own logs/ and pid file; the other entries are linked to the cluster prefix', async () => {
  const pids = [1, 2].map((i) => Number(readFileSync(nodeFile(i, 'logs/zonesync.pid'), 'latin1')));
  assert.notEqual(pids[0], pids[1]);
  for (const [k, pid] of pids.entries()) {
    const i = k + 1;
    assert.equal(cluster.pid(i), pid);
    assert.match(cluster.output(), new RegExp(`node ${i} \\(${cluster.address(i)}\\)  pid ${pid}  prefix `));
    // The node's error log holds its own lines only.
    const log = cluster.errorLog(i);
    assert.match(log, new RegExp(`\\[notice\\] ${pid}#0: `));
    assert.doesNotMatch(log, new RegExp(` ${pids[1 - k]}#0: `));
    for (const own of ['logs', 'state']) assert.equal(lstatSync(nodeFile(i, own)).isDirectory(), true, own);
    for (const linked of ['html', 'cluster.conf'])
      assert.equal(lstatSync(nodeFile(i, linked)).isSymbolicLink(), true, linked);
    // `root html` is the node's prefix's html/: the cluster prefix's, through the link.
    const res = await httpRequest(cluster.env.httpPort, '/shared.txt', {}, cluster.address(i));
    assert.equal(res.text, 'from the cluster prefix\n');
  }
  assert.equal(existsSync(path.join(cluster.prefix, 'logs/zonesync.pid')), false);
});

test("each node writes its own state file: node 2's from what zone_sync brought it", async () => {
  const res = await httpRequest(
    cluster.env.httpPort,
    '/api/9/http/keyvals/saved',
    { method: 'POST', body: JSON.stringify({ written: 'on node 1' }) },
    cluster.address(1),
  );
  assert.equal(res.status, 201, res.text);
  const saved = (i: number) => {
    try {
      return readFileSync(nodeFile(i, 'state/saved.json'), 'utf8');
    } catch {
      return '';
    }
  };
  for (const i of [1, 2])
    await waitFor(() => saved(i).includes('on node 1'), 10_000, `node ${i}'s state file`);
  assert.equal(existsSync(path.join(cluster.prefix, 'state/saved.json')), false);
});
