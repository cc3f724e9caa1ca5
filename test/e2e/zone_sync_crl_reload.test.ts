// Certificates and CRLs on a mutual-TLS mesh change in place: a reload with the same files keeps
// every zone_sync connection (no snapshot storm), while a CRL replaced at the same path and then a
// reload cuts the revoked peer off at once, as nginx does (its reload re-establishes every
// zone_sync connection, so revoked peers fail the new handshakes).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/certs.ts';
import {
  addressOf,
  type Cluster,
  type ClusterNode,
  logTails,
  type NodeEnv,
  standardFiles,
  standardHttp,
  startCluster,
  waitMeshQuiet,
} from '../helpers/cluster.ts';
import { waitFor } from '../helpers/instance.ts';

const BASE = 80;
let pki: TestPki;
let cluster: Cluster;

function stream(n: NodeEnv): string {
  const own = (ext: string) => pki.file(`node${n.index}.${ext}`);
  const crl = pki.file(`crl-node${n.index}.pem`);
  return `
stream {
  server {
    listen ${n.syncPort} ssl;
    ssl_certificate ${own('crt')};
    ssl_certificate_key ${own('key')};
    ssl_verify_client on;
    ssl_client_certificate ${pki.file('ca.crt')};
    ssl_crl ${crl};
    zone_sync;
    zone_sync_server ${addressOf(BASE, 1 - n.index)}:${n.syncPort};
    zone_sync_ssl on;
    zone_sync_ssl_verify on;
    zone_sync_ssl_trusted_certificate ${pki.file('ca.crt')};
    zone_sync_ssl_crl ${crl};
    zone_sync_ssl_certificate ${own('crt')};
    zone_sync_ssl_certificate_key ${own('key')};
    zone_sync_interval 100ms;
    zone_sync_connect_retry_interval 200ms;
    zone_sync_timeout 2s;
  }
}`;
}

before(async () => {
  pki = makeTestPki();
  for (const i of [0, 1]) {
    pki.issue(`node${i}`, `node${i}`, { serial: `700${i}`, dns: [`node${i}.test,IP:${addressOf(BASE, i)}`] });
    pki.crl(`crl-node${i}.pem`);
  }
  cluster = await startCluster({
    base: BASE,
    size: 2,
    conf: (n) => `events {}\n${standardHttp(n)}\n${stream(n)}`,
    files: standardFiles,
  });
  await waitMeshQuiet(cluster);
});

after(async () => {
  await cluster?.stop();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

const connectedLines = (n: ClusterNode) =>
  n.errorLog().match(/zone_sync: peer \S+ connected$/gm)?.length ?? 0;
const online = async (n: ClusterNode) => (await n.syncStatus()).status.nodes_online;

/** SIGHUP `n` and wait until its new configuration generation is live. */
async function reload(n: ClusterNode): Promise<void> {
  const generation = async () =>
    (JSON.parse((await n.request('/api/9/nginx')).text) as { generation: number }).generation;
  const before = await generation();
  n.inst.signal('SIGHUP');
  await waitFor(async () => (await generation()) > before, 10_000, `${n.address} to reload`);
}

test('a reload with the same certificate files keeps the peer connections', async () => {
  const [a, b] = cluster.live();
  const lines = connectedLines(a);
  await reload(a);
  await new Promise((r) => setTimeout(r, 1000)); // five connect retry intervals
  assert.equal(await online(a), 1);
  assert.equal(connectedLines(a), lines, `no reconnect on ${a.address}\n${logTails([a])}`);
  await b.setKeyval('still', 'synced');
  await waitFor(async () => (await a.keyvals()).still === 'synced', 5000, 'the write from B');
});

test('a CRL replaced in place and a reload cut the revoked peer off', async () => {
  const [a, b] = cluster.live();
  pki.revoke('node1');
  pki.crl('crl-node0.pem'); // the same path A's configuration names
  await reload(a);
  await waitFor(async () => (await online(a)) === 0, 10_000, `${a.address} to drop ${b.address}`).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${logTails(cluster.live(), 20)}`);
    },
  );
  await waitFor(
    () => /SSL certificate verify error: \(23:certificate revoked\)/.test(a.errorLog()),
    5000,
    'the log to say why',
  );
  await b.setKeyval('after', 'revocation');
  await a.setKeyval('not-for', 'the revoked');
  await new Promise((r) => setTimeout(r, 1500)); // several reconnect attempts
  assert.equal(await online(a), 0, 'the revoked peer stays out');
  assert.equal((await a.keyvals()).after, undefined, 'nothing crosses from the revoked peer');
  assert.equal((await b.keyvals())['not-for'], undefined, 'nor to it');
});
