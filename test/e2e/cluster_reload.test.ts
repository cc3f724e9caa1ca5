// `zonesync cluster reload`: the new configuration is checked for every node, and against the
// running zones, before any node is signalled; a change of `sync` on a zone that stays is refused
// with the zone and the advice, and nothing is applied. A valid file is applied: another one by
// restarting the nodes one by one, the running one edited in place by a HUP to each. `cluster stop`
// ends the runner.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningCluster, startRunner } from '../cluster/harness.ts';
import type { NodeEnv } from '../helpers/cluster.ts';
import { standardConf, standardFiles } from '../helpers/cluster.ts';
import { canConnect, httpRequest, waitFor } from '../helpers/instance.ts';

let cluster: RunningCluster;

before(async () => {
  cluster = await startRunner({
    first: 121,
    nodes: 2,
    conf: (env) => standardConf(env),
    files: standardFiles(),
  });
});

after(async () => {
  await cluster?.stop();
});

/** Write `name` in the prefix: the standard configuration, changed by `edit`. */
function writeConf(name: string, edit: (conf: string) => string, env: NodeEnv = cluster.env): void {
  writeFileSync(
    path.join(cluster.prefix, name),
    `error_log logs/error.log info;\n${edit(standardConf(env))}`,
  );
}

const hups = (i: number) => cluster.errorLog(i).split('signal 1 (SIGHUP) received').length - 1;

test('refuses removing sync from a running zone before anything is applied', async () => {
  writeConf('unsynced.conf', (c) => c.replace('timeout=1h sync;', 'timeout=1h;'));
  const res = await cluster.ctl('reload', '-c', 'unsynced.conf');
  assert.equal(res.code, 1);
  assert.match(
    res.stderr,
    /the "sync" parameter cannot be removed from the existing zone "kv" in .*unsynced\.conf:\d+; remove the directive, reload, then add it back with the new parameters/,
  );
  assert.match(res.stderr, /nothing was reloaded/);
  assert.deepEqual([hups(1), hups(2)], [0, 0]);
});

test('refuses a configuration that fails the test on a node, and names the node', async () => {
  writeConf('unknown.conf', (c) =>
    c.replace('location /api/', 'location /api/ { nonsense; }\n    location /x/'),
  );
  const unknown = await cluster.ctl('reload', '-c', 'unknown.conf');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\[emerg\] unknown directive "nonsense" in .*unknown\.conf:\d+/);
  // Parsed, but not built: each node's `-t` fails.
  writeConf('broken.conf', (c) =>
    c.replace('location /api/', 'location = /b { return 200 $nosuch; }\n    location /api/'),
  );
  const res = await cluster.ctl('reload', '-c', 'broken.conf');
  assert.equal(res.code, 1);
  for (const i of [1, 2])
    assert.match(
      res.stderr,
      new RegExp(`node ${i} \\(${cluster.address(i)}\\):\n.*unknown "nosuch" variable`),
    );
  assert.match(res.stderr, /nothing was reloaded/);
  assert.deepEqual([hups(1), hups(2)], [0, 0]);
});

test('applies a valid change in another file by restarting the nodes one by one', async () => {
  writeConf('faster.conf', (c) => c.replace('rate=20r/s', 'rate=50r/s'));
  const res = await cluster.ctl('reload', '-c', 'faster.conf');
  assert.equal(res.code, 0, res.stderr);
  // A node reads its -c file only at start: another file is applied by a rolling restart.
  assert.match(res.stdout, /restarted 2 nodes one by one with .*faster\.conf/);
  for (const i of [1, 2]) {
    const starts = () => cluster.errorLog(i).match(/zonesync started/g)?.length ?? 0;
    await waitFor(() => starts() >= 2, 10_000, `node ${i} restarted`);
  }
  // The running configuration is now faster.conf: the same sync change is still refused.
  writeConf('unsynced.conf', (c) => c.replace('rate=20r/s sync', 'rate=50r/s'));
  const again = await cluster.ctl('reload', '-c', 'unsynced.conf');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /cannot be removed from the existing zone "rl"/);
});

test('without -c, checks the running file edited in place, then HUPs every node at once', async () => {
  // The running file is faster.conf since the last test; the README's `cluster reload -p PREFIX`.
  const before = [hups(1), hups(2)];
  const pids = [cluster.pid(1), cluster.pid(2)];
  writeConf('faster.conf', (c) =>
    c
      .replace('rate=20r/s', 'rate=50r/s')
      .replace(
        'location /api/',
        'location = /added { return 200 "edited in place\\n"; }\n    location /api/',
      ),
  );
  const res = await cluster.ctl('reload');
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^reloaded 2 nodes with .*faster\.conf$/m);
  for (const i of [1, 2]) {
    await waitFor(
      async () => (await httpRequest(cluster.env.httpPort, '/added', {}, cluster.address(i))).status === 200,
      10_000,
      `/added on node ${i}`,
    );
    assert.equal(hups(i), before[i - 1] + 1);
  }
  // Reloaded, not restarted.
  assert.deepEqual([cluster.pid(1), cluster.pid(2)], pids);
});

test('cluster stop stops every node, then the runner', async () => {
  const res = await cluster.ctl('stop');
  assert.equal(res.code, 0, res.stderr);
  assert.equal(await cluster.stop(), 0);
  for (const i of [1, 2]) assert.equal(await canConnect(cluster.env.httpPort, cluster.address(i)), false);
  assert.match((await cluster.ctl('status')).stderr, /no cluster is running/);
});
