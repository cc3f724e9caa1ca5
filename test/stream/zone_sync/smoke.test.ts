// End-to-end smoke test of zone_sync through real bin/zonesync processes: two nodes on 127.0.0.1
// and 127.0.0.2 (--listen-address), found through a DNS name served by the embedded responder, as
// the NGINXaaS page configures them. A keyval pair written through node 1's API is read on node 2;
// a node the DNS name drops is disconnected. (The full multi-node suite is test/e2e/zone_sync*.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DnsResponder, startDnsResponder } from '../../helpers/dns.ts';
import { freePort, type Instance, startZonesync, waitFor } from '../../helpers/instance.ts';

interface SyncStatus {
  status: { nodes_online: number; msgs_in: number; msgs_out: number; bytes_in: number; bytes_out: number };
  zones: Record<string, { records_pending: number; records_total: number }>;
  zonesync: {
    ready: boolean;
    node: { name: string };
    peers: { address: string; state: string; ready: boolean; direction?: string }[];
  };
}

const NAME = 'cluster.zonesync.test';
const IPS = ['127.0.0.1', '127.0.0.2'];

const conf = (dns: DnsResponder, syncPort: number) => `
events {}
http {
  access_log off;
  keyval_zone zone=kv:1m timeout=1h sync;
  keyval $arg_k $v zone=kv;
  server {
    listen {{PORT}};
    location / { return 200 "[$v]"; }
    location /api { api write=on; }
  }
}
stream {
  resolver ${dns.address} valid=1s;
  server {
    listen ${syncPort};
    zone_sync;
    zone_sync_server ${NAME}:${syncPort} resolve;
    zone_sync_connect_retry_interval 200ms;
  }
}`;

async function status(z: Instance): Promise<SyncStatus> {
  const res = await z.request('/api/9/stream/zone_sync');
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text) as SyncStatus;
}

describe('zone_sync between two bin/zonesync processes', () => {
  let dns: DnsResponder;
  let syncPort: number;
  const nodes: Instance[] = [];

  before(async () => {
    dns = await startDnsResponder({ ttl: 1 });
    dns.setRecords(NAME, IPS);
    syncPort = await freePort();
    for (const ip of IPS) nodes.push(await startZonesync({ conf: conf(dns, syncPort), listenAddress: ip }));
    for (const z of nodes) {
      await waitFor(
        async () => {
          const s = await status(z);
          return s.status.nodes_online === 1 && s.zonesync.ready;
        },
        10_000,
        `${z.host} online and ready`,
      );
    }
  });

  after(async () => {
    for (const z of nodes) await z.stop();
    await dns.close();
  });

  it('a pair written on node 1 is read on node 2, and the API reports the traffic', async () => {
    const [one, two] = nodes;
    const post = await one.request('/api/9/http/keyvals/kv', { method: 'POST', body: '{"user":"alice"}' });
    assert.equal(post.status, 201, post.text);
    await waitFor(async () => (await two.request('/?k=user')).text === '[alice]', 5000, 'the pair on node 2');
    const s1 = await status(one);
    const s2 = await status(two);
    assert.equal(s1.zones.kv.records_total, 1);
    assert.equal(s2.zones.kv.records_total, 1);
    assert.ok(s1.status.msgs_out >= 1 && s1.status.bytes_out > 0);
    assert.ok(s2.status.msgs_in >= 1);
    assert.equal(s1.zonesync.node.name.startsWith('127.0.0.1:'), true);
    assert.deepEqual(
      s1.zonesync.peers.map((p) => [p.address.split(':')[0], p.state, p.ready]),
      [['127.0.0.2', 'established', true]],
    );
    assert.match(one.errorLog(), /\[notice\] .*zone_sync: peer 127\.0\.0\.2:\d+ connected/);
    assert.match(one.errorLog(), /\[info\] .*zone_sync: 127\.0\.0\.1:\d+ is this node, not connecting to it/);
  });

  it('a delete on node 2 reaches node 1', async () => {
    const [one, two] = nodes;
    const del = await two.request('/api/9/http/keyvals/kv', { method: 'PATCH', body: '{"user":null}' });
    assert.equal(del.status, 204, del.text);
    await waitFor(async () => (await one.request('/?k=user')).text === '[]', 5000, 'the delete on node 1');
  });

  it('a reload that keeps the zone_sync directives keeps the connection', async () => {
    const [one, two] = nodes;
    const disconnects = () => (one.errorLog() + two.errorLog()).match(/disconnected/g)?.length ?? 0;
    const before = disconnects();
    one.writeConf(conf(dns, syncPort));
    one.signal('SIGHUP');
    await waitFor(() => /reconfiguring done/.test(one.errorLog()), 5000, 'reload done');
    const post = await one.request('/api/9/http/keyvals/kv', { method: 'POST', body: '{"after":"reload"}' });
    assert.equal(post.status, 201, post.text);
    await waitFor(
      async () => (await two.request('/?k=after')).text === '[reload]',
      5000,
      'a pair after the reload',
    );
    assert.equal(disconnects(), before);
    assert.equal((await status(one)).status.nodes_online, 1);
  });

  it('a node the DNS name no longer lists is disconnected (it may still connect in: it lists us)', async () => {
    const [one] = nodes;
    dns.setRecords(NAME, ['127.0.0.1']);
    await waitFor(
      () =>
        /zone_sync: peer 127\.0\.0\.2:\d+ disconnected: peer removed from the cluster/.test(one.errorLog()),
      8000,
      'node 2 dropped by node 1',
    );
    assert.match(one.errorLog(), /\[notice\] .*zone_sync: peer 127\.0\.0\.2:\d+ removed/);
    await waitFor(
      async () => {
        const peers = (await status(one)).zonesync.peers;
        return peers.every((p) => p.direction !== 'outbound');
      },
      5000,
      'no outgoing connection to node 2',
    );
  });
});
