// The four configurations of NGINXaaS's "Runtime State Sharing" page, run as written (only the
// certificate paths point at files openssl makes here): plain, TLS, TLS with verification of the
// peer, and mutual TLS; each one syncs a keyval write to every node. Then the refusals: a server
// certificate from a CA nobody trusts, a missing client certificate, a wrong name through
// zone_sync_ssl_name: no record crosses, and the error log says why.
// The pages' fixed ports (`listen 9000`, the resolver at 127.0.0.1:49153) are used as written:
// every node binds 9000 on its own 127.0.0.x (--listen-address); 49153 is shared with the example
// cluster (test/e2e/readme.test.ts), so this file takes the example cluster's lock.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/certs.ts';
import {
  addressOf,
  type Cluster,
  logTails,
  standardFiles,
  standardHttp,
  startCluster,
} from '../helpers/cluster.ts';
import { lock } from '../helpers/example_cluster_lock.ts';
import { waitFor } from '../helpers/instance.ts';
import { MUTUAL, PLAIN, TLS, TLS_VERIFY } from '../helpers/seed_configs.ts';

const BASE = 50;
const NAME = 'internal.nginxaas.nginx.com';

let pki: TestPki;
let release: () => void;

before(async () => {
  // The resolver address 127.0.0.1:49153 is the example cluster's too: one user at a time.
  release = await lock(10 * 60_000);
  pki = makeTestPki();
  // zonesync verifies a `resolve`d peer by its name unless told otherwise; NGINX documents the
  // resolved address as the default name. A certificate naming both passes either way.
  const names = [NAME, ...[0, 1, 2].map((i) => addressOf(BASE, i))];
  // issue() writes DNS: before each entry; the addresses ride along as IP: entries of the list.
  const san = [
    `${NAME},${names
      .slice(1)
      .map((a) => `IP:${a}`)
      .join(',')}`,
  ];
  pki.issue('server', NAME, { serial: '5001', dns: san });
  pki.issue('zone_sync', NAME, { serial: '5002', dns: san });
  pki.issue('untrusted', NAME, { serial: '5003', dns: san, issuer: 'other-ca' });
  copyFileSync(pki.file('ca.crt'), pki.file('server_ca.pem'));
  copyFileSync(pki.file('ca.crt'), pki.file('zone_sync_ca.pem'));
});
after(() => {
  rmSync(pki.dir, { recursive: true, force: true });
  release();
});

/** A cluster running `stream` (with /opt/ssl/ pointing at the test PKI) and the standard http. */
function seedCluster(stream: string, size: number, waitMeshed = true): Promise<Cluster> {
  const text = stream.replaceAll('/opt/ssl/', `${pki.dir}/`);
  return startCluster({
    base: BASE,
    size,
    name: NAME,
    syncPort: 9000,
    dnsPort: 49153,
    conf: (n) => `events {}\n${standardHttp(n)}\n${text}`,
    files: standardFiles,
    waitMeshed,
  });
}

async function assertSyncs(cluster: Cluster) {
  const [first, ...others] = cluster.live();
  await first.setKeyval('seed', first.address);
  for (const n of others) {
    await waitFor(async () => (await n.keyvals()).seed === first.address, 5000, `the write on ${n.address}`);
  }
  for (const n of cluster.live()) assert.equal((await n.syncStatus()).status.nodes_online, others.length);
}

describe('the four configurations of the Runtime State Sharing page', () => {
  for (const [title, stream] of [
    ['plain TCP', PLAIN],
    ['TLS', TLS],
    ['TLS, verifying the peer', TLS_VERIFY],
    ['mutual TLS', MUTUAL],
  ] as const) {
    it(`${title}: three nodes mesh and a keyval write reaches every node`, async () => {
      const cluster = await seedCluster(stream, 3);
      try {
        await assertSyncs(cluster);
      } finally {
        await cluster.stop();
      }
    });
  }
});

/**
 * Start two nodes with `stream`; wait until the log shows `why`; then no peer is online and a
 * write does not cross.
 */
async function assertRefused(stream: string, why: RegExp) {
  const cluster = await seedCluster(stream, 2, false);
  try {
    const [a, b] = cluster.live();
    const logs = () => a.errorLog() + b.errorLog();
    await waitFor(() => why.test(logs()), 10_000, `the log to say ${why}`).catch((err: Error) => {
      throw new Error(`${err.message}\n${logTails(cluster.live(), 30)}`);
    });
    await a.setKeyval('secret', 'a');
    await b.setKeyval('other', 'b');
    await new Promise((r) => setTimeout(r, 1500));
    for (const n of [a, b]) assert.equal((await n.syncStatus()).status.nodes_online, 0, n.address);
    assert.deepEqual(await a.keyvals(), { secret: 'a' });
    assert.deepEqual(await b.keyvals(), { other: 'b' });
  } finally {
    await cluster.stop();
  }
}

describe('refusals', () => {
  it('a server certificate from an untrusted CA', async () => {
    const stream = TLS_VERIFY.replace('/opt/ssl/server.crt', '/opt/ssl/untrusted.crt').replace(
      '/opt/ssl/server.key',
      '/opt/ssl/untrusted.key',
    );
    await assertRefused(
      stream,
      /unable to get local issuer|unable to verify|certificate verify|self[- ]signed|unknown ca/i,
    );
  });

  it('a missing client certificate', async () => {
    const stream = MUTUAL.replace(/\n\s*zone_sync_ssl_certificate(_key)? .*;/g, '');
    assert.ok(!stream.includes('zone_sync_ssl_certificate'));
    await assertRefused(
      stream,
      /(no required SSL certificate|certificate required|peer did not return a certificate)/i,
    );
  });

  it('a wrong name through zone_sync_ssl_name', async () => {
    const stream = TLS_VERIFY.replace(
      'zone_sync_ssl_verify              on;',
      '$&\n    zone_sync_ssl_name wrong.example;',
    );
    assert.ok(stream.includes('zone_sync_ssl_name wrong.example;'));
    await assertRefused(
      stream,
      /peer SSL certificate does not match "wrong\.example" while SSL handshaking to peer/,
    );
  });
});
