// zone_sync membership through failures, with real bin/zonesync processes: a cluster name the
// resolver does not know yet, a resolver that goes down and comes back (logged and asked again,
// the node serving on its own state meanwhile), a peer that stops (its leaving and the failed
// connects logged as nginx logs them, dialed again every zone_sync_connect_retry_interval), the
// exact NGINX Plus shape of /api/9/stream/zone_sync with zonesync's readiness, and outgoing sync
// connections leaving from --listen-address.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  addressOf,
  type Cluster,
  type ClusterNode,
  logTails,
  type NodeEnv,
  standardFiles,
  standardHttp,
  startCluster,
} from '../helpers/cluster.ts';
import { type DnsResponder, startDnsResponder } from '../helpers/dns.ts';
import { startZonesync, waitFor } from '../helpers/instance.ts';

const BASE = 90;
const NAME = 'cluster.test';
/** nginx's error log line: `2026/11/27 06:43:14 [level] PID#0: message`. */
const line = (level: string, message: string) =>
  new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d \\[${level}\\] \\d+#0: ${message}$`, 'm');
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The test's own responder (the cluster's is not used): it is stopped and started again. */
let dns: DnsResponder;
let dnsPort: number;
let dnsUp = false;
let cluster: Cluster;

const stream = (n: NodeEnv) => `
stream {
  resolver 127.0.0.1:${dnsPort} valid=1s;
  resolver_timeout 1s;
  server {
    listen ${n.syncPort};
    zone_sync;
    zone_sync_server ${NAME}:${n.syncPort} resolve;
    zone_sync_interval 100ms;
    zone_sync_connect_retry_interval 200ms;
    zone_sync_timeout 2s;
  }
}`;

before(async () => {
  dns = await startDnsResponder({ ttl: 1 });
  dnsPort = dns.port;
  dnsUp = true;
  cluster = await startCluster({
    base: BASE,
    size: 2,
    name: NAME,
    waitMeshed: false,
    conf: (n) => `events {}\n${standardHttp(n)}\n${stream(n)}`,
    files: standardFiles,
  });
});

after(async () => {
  await cluster?.stop();
  if (dnsUp) await dns.close();
});

const peerName = (n: ClusterNode) => `${n.address}:${cluster.syncPort}`;
const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'gm'))?.length ?? 0;
const failed = (what: RegExp) =>
  `zone_sync: ${NAME} could not be resolved \\(${what.source}\\) for "${NAME}:\\d+", `;

describe('zone_sync membership through failures', () => {
  it('a name the resolver does not know: logged and asked again, the node serves alone, then meshes', async () => {
    const [a, b] = cluster.live();
    const notFound = line('error', `${failed(/3: Host not found/)}retrying in 1s`);
    for (const n of [a, b]) {
      await waitFor(() => count(n.errorLog(), notFound) >= 2, 10_000, `two lookups logged on ${n.address}`);
    }
    // Alone, each node keeps serving on its own state.
    await a.setKeyval('alone', 'a');
    assert.equal((await a.request('/kv?k=alone')).text, 'a');
    assert.equal((await a.syncStatus()).status.nodes_online, 0);
    assert.deepEqual(await b.keyvals(), {});
    // The name appears: the nodes find each other, and b gets a's state.
    dns.setRecords(NAME, [a.address, b.address]);
    await cluster.waitMeshed();
    await waitFor(async () => (await b.keyvals()).alone === 'a', 5000, 'the snapshot on b');
    // Each node has the answer itself (one may have been reached by the other first).
    const resolved = line(
      'info',
      `zone_sync: "${NAME}:\\d+" resolved to ${reEscape(a.address)}, ${reEscape(b.address)}`,
    );
    for (const n of [a, b]) await waitFor(() => resolved.test(n.errorLog()), 5000, `${n.address} to resolve`);
  });

  it("/api/9/stream/zone_sync: NGINX Plus's fields exactly, and readiness per node and per zone", async () => {
    const [a, b] = cluster.live();
    await waitFor(async () => (await a.ready()) && (await b.ready()), 10_000, 'both ready');
    const body = await a.json<Record<string, Record<string, unknown>>>('/stream/zone_sync');
    assert.deepEqual(Object.keys(body).sort(), ['status', 'zones', 'zonesync']);
    assert.deepEqual(Object.keys(body.status).sort(), [
      'bytes_in',
      'bytes_out',
      'msgs_in',
      'msgs_out',
      'nodes_online',
    ]);
    assert.deepEqual(Object.keys(body.zones).sort(), ['kv', 'rl']);
    for (const z of Object.values(body.zones) as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(z).sort(), ['records_pending', 'records_total']);
      for (const v of Object.values(z)) assert.equal(typeof v, 'number');
    }
    for (const v of Object.values(body.status)) assert.equal(typeof v, 'number');
    const zonesync = body.zonesync as {
      ready: boolean;
      peers: { address: string; state: string; ready: boolean; zones: Record<string, unknown> }[];
    };
    assert.equal(zonesync.ready, true);
    assert.equal(zonesync.peers.length, 1);
    const [peer] = zonesync.peers;
    assert.deepEqual(
      { address: peer.address, state: peer.state, ready: peer.ready, zones: peer.zones },
      {
        address: peerName(b),
        state: 'established',
        ready: true,
        zones: { kv: { snapshot_received: true }, rl: { snapshot_received: true } },
      },
    );
  });

  it('a resolver that goes down: logged and retried, known peers kept and synced; its answers apply once back', async () => {
    const [a, b] = cluster.live();
    const mark = a.errorLog().length;
    const since = () => a.errorLog().slice(mark);
    await dns.close();
    dnsUp = false;
    const down = line(
      'error',
      `recv\\(\\) failed \\(111: Connection refused\\) while resolving, resolver: 127\\.0\\.0\\.1:${dnsPort}`,
    );
    const kept = line(
      'error',
      `${failed(/110: Operation timed out/)}keeping its 2 known address\\(es\\), retrying in \\ds`,
    );
    for (const n of [a, b]) {
      await waitFor(() => count(n.errorLog(), kept) >= 2, 15_000, `two failed lookups on ${n.address}`).catch(
        (err: Error) => {
          throw new Error(`${err.message}\n${logTails([n], 20)}`);
        },
      );
      assert.match(n.errorLog(), down);
    }
    // Meanwhile the mesh holds and carries writes both ways; the nodes serve.
    assert.deepEqual(
      [(await a.syncStatus()).status.nodes_online, (await b.syncStatus()).status.nodes_online],
      [1, 1],
    );
    await a.setKeyval('dns-down-a', '1');
    await b.setKeyval('dns-down-b', '2');
    await cluster.waitKeyvalsConverged();
    // Back, answering without b: a asks again and drops b.
    dns = await startDnsResponder({ port: dnsPort, ttl: 1 });
    dnsUp = true;
    dns.setRecords(NAME, [a.address]);
    await waitFor(
      () => line('notice', `zone_sync: peer ${reEscape(peerName(b))} removed`).test(since()),
      10_000,
      `${a.address} to drop ${b.address} after the resolver is back`,
    );
    dns.setRecords(NAME, [a.address, b.address]);
    await waitFor(
      () => line('notice', `zone_sync: peer ${reEscape(peerName(b))} added`).test(since()),
      10_000,
      `${a.address} to add ${b.address} again`,
    );
    await cluster.waitMeshed();
  });

  it('a peer that stops: its leaving and the failed connects logged, dialed every retry interval, caught up on return', async (t) => {
    const [a, b] = cluster.live();
    const name = reEscape(peerName(b));
    const mark = a.errorLog().length;
    const since = () => a.errorLog().slice(mark);
    await cluster.stopNode(1);
    await waitFor(
      () => line('notice', `zone_sync: peer ${name} disconnected: .*`).test(since()),
      10_000,
      'the leaving logged',
    );
    const refused = `zone_sync: connect\\(\\) to ${name} failed \\(111: Connection refused\\)`;
    // The first failure at `error`, its repeats at `info` (as nginx's peer connect errors).
    await waitFor(() => line('error', refused).test(since()), 5000, 'the failed connect logged');
    const attempts = () => count(since(), line('(error|info)', refused));
    const first = attempts();
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const made = attempts() - first;
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`${made} connect attempts in ${seconds.toFixed(2)} s`);
    // Every 200 ms times 1 to 1.5 (and up to one more interval for a peer that would lose the
    // duplicate rule): between 2.5 and 5 attempts a second.
    assert.ok(
      made >= 2 * seconds - 1 && made <= 5 * seconds + 1,
      `${made} attempts in ${seconds.toFixed(1)} s`,
    );
    assert.equal(count(since(), line('error', refused)), 1, 'repeats are at info');
    const status = await a.syncStatus();
    assert.equal(status.status.nodes_online, 0);
    const peers = (status.zonesync as { peers: { address: string; ready: boolean; error?: string }[] }).peers;
    assert.deepEqual(
      peers.map((p) => [p.address, p.ready, p.error]),
      [[peerName(b), false, `connect() to ${peerName(b)} failed (111: Connection refused)`]],
    );
    // Writes go on without it; back, it is connected again and gets them.
    await a.setKeyval('while-away', 'yes');
    const back = await cluster.restart(1);
    await cluster.waitMeshed();
    assert.match(since(), line('notice', `zone_sync: peer ${name} connected`));
    await waitFor(() => back.ready(), 10_000, 'the returning node ready');
    assert.equal((await back.keyvals())['while-away'], 'yes');
  });
});

it('outgoing zone_sync connections leave from --listen-address', async () => {
  const from = addressOf(BASE, 4);
  const seen: (string | undefined)[] = [];
  const peer = net.createServer((socket) => {
    seen.push(socket.remoteAddress);
    socket.destroy();
  });
  await new Promise<void>((resolve) => peer.listen(0, addressOf(BASE, 5), resolve));
  const port = (peer.address() as net.AddressInfo).port;
  const node = await startZonesync({
    listenAddress: from,
    conf: `events {}
stream {
  server {
    listen {{PORT}};
    zone_sync;
    zone_sync_server ${addressOf(BASE, 5)}:${port};
    zone_sync_connect_retry_interval 200ms;
  }
}`,
  });
  try {
    await waitFor(() => seen.length > 0, 10_000, 'a connection from the node');
    // Without it the kernel would pick 127.0.0.1, the loopback interface's address.
    assert.deepEqual([...new Set(seen)], [from]);
  } finally {
    await node.stop();
    await new Promise((resolve) => peer.close(resolve));
  }
});
