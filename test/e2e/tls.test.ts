// TLS listeners: certificates by SNI, client certificates (verify, CRL, optional), $ssl_*
// variables, nginx's 495/496/497/421 answers, [emerg] texts for bad files, reload re-reading.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import tls from 'node:tls';
import { makeTestPki, type TestPki } from '../helpers/certs.ts';
import { parseResponse, type Response, runZonesync, startZonesync, waitFor } from '../helpers/instance.ts';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => rmSync(pki.dir, { recursive: true, force: true }));

interface TlsAnswer {
  res: Response;
  peer: PeerCertificate;
  protocol: string | null;
}

interface TlsRequestOptions {
  servername?: string;
  host?: string;
  /** Base name of a client certificate and key in the PKI (`client`, `revoked` ...). */
  client?: string;
}

/** One HTTPS request over a fresh connection; the server's certificate is not checked. */
function tlsRequest(port: number, path: string, opts: TlsRequestOptions = {}): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      port,
      host: '127.0.0.1',
      servername: opts.servername,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      cert: opts.client ? pki.read(`${opts.client}.crt`) : undefined,
      key: opts.client ? pki.read(`${opts.client}.key`) : undefined,
    });
    const chunks: Buffer[] = [];
    sock.on('secureConnect', () => {
      const host = opts.host ?? opts.servername ?? 'localhost';
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const peer = sock.getPeerCertificate();
      resolve({ res: parseResponse(Buffer.concat(chunks)).res, peer, protocol: sock.getProtocol() });
      sock.destroy();
    });
  });
}

const sslServer = (name: string, extra = '') => `
  server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name ${name}.test;
    ssl_certificate ${pki.file(`${name}.crt`)};
    ssl_certificate_key ${pki.file(`${name}.key`)};
    ${extra}
    location / { return 200 "${name} $scheme $https $ssl_server_name\\n"; }
  }`;

const tlsConf = (servers: string) => `events {}\nhttp {\n  access_log off;\n${servers}\n}\n`;

const startTls = (servers: string) => startZonesync({ conf: tlsConf(servers) });

test('TLS is served, and SNI picks the server and its certificate', async () => {
  const z = await startTls(sslServer('a') + sslServer('b'));
  try {
    const a = await tlsRequest(z.port, '/', { servername: 'a.test' });
    assert.equal(a.res.status, 200);
    assert.equal(a.res.text, 'a https on a.test\n');
    assert.equal(a.peer.subject.CN, 'a.test');
    assert.equal(a.protocol, 'TLSv1.3');
    const b = await tlsRequest(z.port, '/', { servername: 'b.test' });
    assert.equal(b.res.text, 'b https on b.test\n');
    assert.equal(b.peer.subject.CN, 'b.test');
    assert.equal(b.peer.serialNumber, '0B01');
    // No SNI: the default server's certificate; the Host header still picks the server.
    const none = await tlsRequest(z.port, '/', { host: 'b.test' });
    assert.equal(none.peer.subject.CN, 'a.test');
    assert.equal(none.res.text, 'b https on \n');
  } finally {
    await z.stop();
  }
});

test('plain HTTP on an ssl port gets 400 "The plain HTTP request was sent to HTTPS port"', async () => {
  const z = await startTls(sslServer('a'));
  try {
    const raw = await z.rawRequest('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');
    const { res } = parseResponse(Buffer.from(raw, 'latin1'));
    assert.equal(res.status, 400);
    assert.match(res.text, /<title>400 The plain HTTP request was sent to HTTPS port<\/title>/);
    assert.equal(res.headers.connection, 'close');
    await waitFor(
      () => /\[info\].*client sent plain HTTP request to HTTPS port/.test(z.errorLog()),
      3000,
      'info line',
    );
  } finally {
    await z.stop();
  }
});

test('error_page 497 with variables redirects plain HTTP sent to an ssl port', async () => {
  const z = await startTls(sslServer('a', 'error_page 497 https://$host:$server_port$request_uri;'));
  try {
    const raw = await z.rawRequest('GET /x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    const { res } = parseResponse(Buffer.from(raw, 'latin1'));
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `https://a.test:${z.port}/x?y=1`);
  } finally {
    await z.stop();
  }
});

const verifying = (mode: string, extra = '') =>
  sslServer(
    'a',
    `ssl_verify_client ${mode}; ssl_client_certificate ${pki.file('ca.crt')}; ${extra}
    location /vars { return 200 "$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|$ssl_client_serial|$ssl_protocol|$ssl_session_reused|$ssl_alpn_protocol\\n"; }`,
  );

test('ssl_verify_client on: no certificate is 496, an untrusted one 495, a good one passes', async () => {
  const z = await startTls(verifying('on'));
  try {
    const none = await tlsRequest(z.port, '/', { servername: 'a.test' });
    assert.equal(none.res.status, 400);
    assert.match(none.res.text, /<title>400 No required SSL certificate was sent<\/title>/);
    const stranger = await tlsRequest(z.port, '/', { servername: 'a.test', client: 'stranger' });
    assert.equal(stranger.res.status, 400);
    assert.match(stranger.res.text, /<title>400 The SSL certificate error<\/title>/);
    const good = await tlsRequest(z.port, '/vars', { servername: 'a.test', client: 'client' });
    assert.equal(good.res.status, 200);
    assert.equal(
      good.res.text,
      'SUCCESS|CN=client,O=Zonesync Test|CN=Zonesync Test CA|0C01|TLSv1.3|.|http/1.1\n',
    );
    const log = z.errorLog();
    assert.match(log, /client sent no required SSL certificate/);
    assert.match(log, /client SSL certificate verify error: \(21:unable to verify the first certificate\)/);
  } finally {
    await z.stop();
  }
});

test('ssl_crl refuses a revoked client certificate', async () => {
  const z = await startTls(verifying('on', `ssl_crl ${pki.file('crl.pem')};`));
  try {
    const revoked = await tlsRequest(z.port, '/vars', { servername: 'a.test', client: 'revoked' });
    assert.equal(revoked.res.status, 400);
    assert.match(revoked.res.text, /The SSL certificate error/);
    assert.match(z.errorLog(), /client SSL certificate verify error: \(23:certificate revoked\)/);
    const good = await tlsRequest(z.port, '/vars', { servername: 'a.test', client: 'client' });
    assert.match(good.res.text, /^SUCCESS\|/);
  } finally {
    await z.stop();
  }
});

test('ssl_verify_client optional and optional_no_ca', async () => {
  const z = await startTls(verifying('optional'));
  try {
    assert.match((await tlsRequest(z.port, '/vars', { servername: 'a.test' })).res.text, /^NONE\|\|\|\|/);
    assert.equal(
      (await tlsRequest(z.port, '/vars', { servername: 'a.test', client: 'stranger' })).res.status,
      400,
    );
    z.writeConf(tlsConf(verifying('optional_no_ca')));
    z.signal('SIGHUP');
    await waitFor(
      async () =>
        (await tlsRequest(z.port, '/vars', { servername: 'a.test', client: 'stranger' })).res.status === 200,
      5000,
      'reload',
    );
    const stranger = await tlsRequest(z.port, '/vars', { servername: 'a.test', client: 'stranger' });
    assert.match(
      stranger.res.text,
      /^FAILED:unable to verify the first certificate\|CN=stranger,O=Zonesync Test\|CN=Untrusted CA\|0D01\|/,
    );
  } finally {
    await z.stop();
  }
});

test('421 when the Host leaves the SNI server for one that verifies clients', async () => {
  const z = await startTls(
    sslServer('a') +
      sslServer('b', `ssl_verify_client optional; ssl_client_certificate ${pki.file('ca.crt')};`),
  );
  try {
    const res = (await tlsRequest(z.port, '/', { servername: 'a.test', host: 'b.test' })).res;
    assert.equal(res.status, 421);
    assert.match(res.text, /<title>421 Misdirected Request<\/title>/);
    // The other way round is allowed: a.test does not verify clients.
    assert.equal(
      (await tlsRequest(z.port, '/', { servername: 'b.test', host: 'a.test' })).res.text,
      'a https on b.test\n',
    );
  } finally {
    await z.stop();
  }
});

test('a missing certificate is [emerg] with nginx text, and a listen ... ssl without one too', async () => {
  const dir = pki.dir;
  const check = async (servers: string) => {
    writeFileSync(`${dir}/zonesync.conf`, `events {}\nhttp {\naccess_log off;\n${servers}\n}\n`);
    return runZonesync(['-t', '-p', `${dir}/`, '-c', 'zonesync.conf', '-e', 'stderr']);
  };
  const missing = await check(
    'server { listen 127.0.0.1:1 ssl; ssl_certificate /x/y.crt; ssl_certificate_key a.key; }',
  );
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /\[emerg\] cannot load certificate "\/x\/y\.crt": BIO_new_file\(\) failed \(SSL: error:80000002:system library::No such file or directory:calling fopen\(\/x\/y\.crt, r\) error:10000080:BIO routines::no such file\)/,
  );
  const noCert = await check('server {\n listen 127.0.0.1:1 ssl;\n}');
  assert.match(
    noCert.stderr,
    new RegExp(
      `\\[emerg\\] no "ssl_certificate" is defined for the "listen \\.\\.\\. ssl" directive in ${dir}/zonesync.conf:4`,
    ),
  );
  const mismatch = await check(
    'server { listen 127.0.0.1:1 ssl; ssl_certificate a.crt; ssl_certificate_key b.key; }',
  );
  assert.match(
    mismatch.stderr,
    /SSL_CTX_use_PrivateKey\(".*\/b\.key"\) failed \(SSL: error:05800074:x509 certificate routines::key values mismatch\)/,
  );
  const noCa = await check(
    'server { listen 127.0.0.1:1 ssl; ssl_certificate a.crt; ssl_certificate_key a.key; ssl_verify_client on; }',
  );
  assert.match(noCa.stderr, /\[emerg\] no ssl_client_certificate for ssl_verify_client/);
});

test('reload re-reads a replaced certificate', async () => {
  const z = await startTls(sslServer('a'));
  try {
    assert.equal((await tlsRequest(z.port, '/', { servername: 'a.test' })).peer.serialNumber, '0A01');
    pki.issue('a', 'a.test', { serial: '0A02', dns: ['a.test'] });
    z.signal('SIGHUP');
    await waitFor(
      async () => (await tlsRequest(z.port, '/', { servername: 'a.test' })).peer.serialNumber === '0A02',
      5000,
      'new certificate',
    );
  } finally {
    await z.stop();
  }
});

test('a TLS client that stops reading gets a large body intact, then its next answer', async () => {
  // 16 MiB overflows the socket buffers: encrypted writes queue, then drain in order
  const huge = randomBytes(16 * 1024 * 1024);
  const z = await startZonesync({
    conf: tlsConf(sslServer('a', 'location /files/ { root html; }')),
    files: { 'html/files/huge.bin': huge },
  });
  try {
    const sock = tls.connect({
      port: z.port,
      host: '127.0.0.1',
      servername: 'a.test',
      rejectUnauthorized: false,
    });
    await once(sock, 'secureConnect');
    sock.write('GET /files/huge.bin HTTP/1.1\r\nHost: a.test\r\n\r\n');
    sock.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    sock.write('GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.resume();
    await once(sock, 'end');
    const first = parseResponse(Buffer.concat(chunks));
    assert.equal(first.res.status, 200);
    assert.ok(first.res.body.equals(huge), 'the large body arrived intact');
    assert.equal(parseResponse(first.rest).res.text, 'a https on a.test\n');
  } finally {
    await z.stop();
  }
});
