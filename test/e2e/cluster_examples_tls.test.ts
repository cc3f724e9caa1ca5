// examples/make-certs.sh and the TLS examples it is for, run the way the script's header says
// (`zonesync cluster ... -c tls/cluster-tls.conf`, or `tls/cluster-mtls.conf`): the script makes the
// certificates with openssl, and each example's nodes then mesh over TLS, verify each other against
// the script's CA under internal.nginxaas.nginx.com, and share a key. In cluster-mtls.conf the
// zone_sync listener also requires a client certificate. The examples' fixed ports and resolver
// address (the example cluster's, which the README test holds) are swapped for free ones and the
// example's error_log for the harness's; everything else runs as written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { type RunningCluster, startRunner } from '../cluster/harness.ts';
import type { NodeEnv } from '../helpers/cluster.ts';
import { httpRequest, ROOT, waitFor } from '../helpers/instance.ts';

const NAME = 'internal.nginxaas.nginx.com';

let work = '';
/** What make-certs.sh wrote in its tls/ folder, by file name. */
const certs: Record<string, string> = {};

before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'zonesync-make-certs-'));
  copyFileSync(path.join(ROOT, 'examples/make-certs.sh'), path.join(work, 'make-certs.sh'));
  mkdirSync(path.join(work, 'tls'));
  const out = execFileSync('sh', [path.join(work, 'make-certs.sh')], { encoding: 'utf8', cwd: os.tmpdir() });
  assert.match(out, new RegExp(`certificates for ${NAME} written to `));
  for (const name of readdirSync(path.join(work, 'tls')))
    certs[name] = readFileSync(path.join(work, 'tls', name), 'utf8');
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

test('make-certs.sh writes the files both TLS examples name, for internal.nginxaas.nginx.com', () => {
  const named = new Set<string>();
  for (const conf of ['cluster-tls.conf', 'cluster-mtls.conf']) {
    const text = readFileSync(path.join(ROOT, 'examples/tls', conf), 'utf8');
    for (const m of text.matchAll(/^\s*(?:zone_sync_)?ssl_\w+\s+(\S+\.(?:crt|key|pem));/gm)) named.add(m[1]);
  }
  assert.deepEqual([...named].sort(), Object.keys(certs).sort());
  for (const crt of ['server.crt', 'zone_sync.crt']) {
    const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], {
      input: certs[crt],
      encoding: 'utf8',
    });
    assert.match(text, new RegExp(`DNS:${NAME.replaceAll('.', '\\.')}`), crt);
  }
});

/** examples/tls/`file` with the harness's ports and resolver in place of the example cluster's. */
function example(file: string, env: NodeEnv): string {
  let text = readFileSync(path.join(ROOT, 'examples/tls', file), 'utf8');
  const swap = (from: RegExp, to: string) => {
    assert.match(text, from, `${file} has ${from}`);
    text = text.replace(from, to);
  };
  swap(/^error_log .*\n/m, '');
  swap(/resolver 127\.0\.0\.1:49153 /, `resolver ${env.dns} `);
  swap(/listen 8090;/, `listen ${env.httpPort};`);
  swap(/listen 9000 ssl;/, `listen ${env.syncPort} ssl;`);
  swap(
    new RegExp(`zone_sync_server ${NAME.replaceAll('.', '\\.')}:9000 resolve;`),
    `zone_sync_server ${NAME}:${env.syncPort} resolve;`,
  );
  return text;
}

/** A TLS handshake with node 1's zone_sync listener, as a peer without a client certificate. */
function handshake(cluster: RunningCluster, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: cluster.address(1),
      port: cluster.env.syncPort,
      servername: NAME,
      ca: certs[ca],
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function runExample(file: string, first: number, ca: string, mutual: boolean): Promise<void> {
  const cluster = await startRunner({ first, conf: (env) => example(file, env), files: certs });
  try {
    for (let i = 1; i <= 3; i++)
      await waitFor(
        async () =>
          (await cluster.api<{ status: { nodes_online: number } }>(i, '/stream/zone_sync')).status
            .nodes_online === 2,
        20_000,
        `node ${i} meshed over TLS`,
      );
    const res = await httpRequest(
      cluster.env.httpPort,
      '/api/9/http/keyvals/demo',
      { method: 'POST', body: JSON.stringify({ over: file }) },
      cluster.address(1),
    );
    assert.equal(res.status, 201, res.text);
    await waitFor(
      async () => (await cluster.api<Record<string, string>>(3, '/http/keyvals/demo')).over === file,
      10_000,
      'the key on node 3',
    );
    // The listener speaks TLS with the script's certificate, verified under the cluster name.
    const socket = await handshake(cluster, ca);
    assert.equal(socket.authorized, true);
    if (mutual) {
      // No client certificate: the listener closes the connection and says why.
      await new Promise((resolve) => socket.once('close', resolve));
      await waitFor(
        () => cluster.errorLog(1).includes('client sent no required SSL certificate while SSL handshaking'),
        5000,
        "node 1's refusal",
      );
    } else socket.destroy();
  } finally {
    assert.equal(await cluster.stop(), 0);
  }
}

test('tls/cluster-tls.conf: three nodes mesh over TLS, each verifying its peer', async () => {
  await runExample('cluster-tls.conf', 141, 'server_ca.pem', false);
});

test('tls/cluster-mtls.conf: three nodes mesh over mutual TLS; a peer without a certificate is refused', async () => {
  await runExample('cluster-mtls.conf', 151, 'zone_sync_ca.pem', true);
});
