// zone_sync over mutual TLS between bin/zonesync processes, configured as the NGINXaaS page's last
// example: nodes with certificates from the cluster's CA sync; a node whose certificate comes from
// another CA is refused both ways (its server certificate by zone_sync_ssl_verify, its client
// certificate by ssl_verify_client) and never receives or injects a record.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { makeTestPki, type TestPki } from '../../helpers/certs.ts';
import { type DnsResponder, startDnsResponder } from '../../helpers/dns.ts';
import { freePort, type Instance, startZonesync, waitFor } from '../../helpers/instance.ts';

const NAME = 'cluster.zonesync.test';

const conf = (dns: DnsResponder, pki: TestPki, syncPort: number, cert: string) => `
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
    listen ${syncPort} ssl;
    ssl_certificate     ${pki.file(`${cert}.crt`)};
    ssl_certificate_key ${pki.file(`${cert}.key`)};
    ssl_verify_client       on;
    ssl_client_certificate ${pki.file('ca.crt')};

    zone_sync;
    zone_sync_server ${NAME}:${syncPort} resolve;
    zone_sync_connect_retry_interval 200ms;

    zone_sync_ssl                     on;
    zone_sync_ssl_verify              on;
    zone_sync_ssl_trusted_certificate ${pki.file('ca.crt')};
    zone_sync_ssl_certificate     ${pki.file(`${cert}.crt`)};
    zone_sync_ssl_certificate_key ${pki.file(`${cert}.key`)};
  }
}`;

async function online(z: Instance): Promise<{ nodes: number; ready: boolean }> {
  const s = JSON.parse((await z.request('/api/9/stream/zone_sync')).text);
  return { nodes: s.status.nodes_online, ready: s.zonesync.ready };
}

describe('zone_sync over mutual TLS', () => {
  let dns: DnsResponder;
  let pki: TestPki;
  const nodes: Instance[] = [];

  before(async () => {
    pki = makeTestPki();
    pki.issue('member', NAME, { dns: [NAME] });
    pki.issue('intruder', NAME, { dns: [NAME], issuer: 'other-ca' });
    dns = await startDnsResponder({ ttl: 1 });
    dns.setRecords(NAME, ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const syncPort = await freePort();
    nodes.push(await startZonesync({ conf: conf(dns, pki, syncPort, 'member'), listenAddress: '127.0.0.1' }));
    nodes.push(await startZonesync({ conf: conf(dns, pki, syncPort, 'member'), listenAddress: '127.0.0.2' }));
    nodes.push(
      await startZonesync({ conf: conf(dns, pki, syncPort, 'intruder'), listenAddress: '127.0.0.3' }),
    );
  });

  after(async () => {
    for (const z of nodes) await z.stop();
    await dns.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it('the members sync with each other and refuse the node with a foreign certificate', async () => {
    const [one, two, intruder] = nodes;
    for (const z of [one, two]) {
      await waitFor(
        async () => {
          const s = await online(z);
          return s.nodes === 1 && s.ready;
        },
        10_000,
        `${z.host} online`,
      );
    }
    await intruder.request('/api/9/http/keyvals/kv', { method: 'POST', body: '{"evil":"1"}' });
    const post = await one.request('/api/9/http/keyvals/kv', { method: 'POST', body: '{"user":"alice"}' });
    assert.equal(post.status, 201, post.text);
    await waitFor(async () => (await two.request('/?k=user')).text === '[alice]', 5000, 'the pair on node 2');
    await waitFor(
      () =>
        /zone_sync: peer SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to peer 127\.0\.0\.3:\d+/.test(
          one.errorLog(),
        ),
      5000,
      'the refusal of the intruder logged',
    );
    assert.match(
      one.errorLog(),
      /client SSL certificate verify error: .* while SSL handshaking, client: 127\.0\.0\.3/,
    );
    assert.equal((await online(intruder)).nodes, 0);
    assert.equal((await one.request('/?k=evil')).text, '[]');
    assert.equal((await intruder.request('/?k=user')).text, '[]');
  });
});
