// proxy_pass https:// end to end against real TLS backends: URLs and upstream groups, keep-alive
// over TLS, proxy_ssl_verify (and proxy_next_upstream past a failed check), SNI and
// proxy_ssl_name, client certificates, session reuse, and the [emerg] of a missing CA file.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { makeTestPki, type TestPki } from '../helpers/certs.ts';
import { type Instance, runZonesync, startZonesync } from '../helpers/instance.ts';

/** What a TLS backend saw of one connection's handshake. */
interface Handshake {
  readonly servername: string | false;
  readonly reused: boolean;
  /** CN of the client certificate, '' without one. */
  readonly clientCn: string;
  readonly clientAuthorized: boolean;
}

interface TlsBackend {
  readonly port: number;
  readonly handshakes: Handshake[];
  close(): Promise<void>;
}

/** An HTTPS backend with `<cert>.crt`; answers JSON: its name, the URL, headers and body. */
async function tlsBackend(pki: TestPki, name: string, cert: string): Promise<TlsBackend> {
  const handshakes: Handshake[] = [];
  const sockets = new Set<net.Socket>();
  const server = https.createServer(
    {
      cert: pki.read(`${cert}.crt`),
      key: pki.read(`${cert}.key`),
      ca: pki.read('ca.crt'),
      requestCert: true,
      rejectUnauthorized: false,
      keepAliveTimeout: 30_000,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.stringify({
          name,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': name });
        res.end(body);
      });
    },
  );
  server.on('secureConnection', (s: TLSSocket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    const peer = s.getPeerCertificate();
    handshakes.push({
      servername: s.servername ?? false,
      reused: s.isSessionReused(),
      clientCn: (peer?.subject?.CN as string | undefined) ?? '',
      clientAuthorized: s.authorized,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    handshakes,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let pki: TestPki;
let a: TlsBackend;
let stranger: TlsBackend;
let z: Instance;

before(async () => {
  pki = makeTestPki();
  a = await tlsBackend(pki, 'a', 'a');
  stranger = await tlsBackend(pki, 'stranger', 'stranger');
  const ca = pki.file('ca.crt');
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  upstream tlsgroup { server 127.0.0.1:${a.port}; keepalive 4; }
  upstream backend.test { server 127.0.0.1:${a.port}; }
  upstream failover { server 127.0.0.1:${stranger.port}; server 127.0.0.1:${a.port}; }
  server {
    listen 127.0.0.1:{{PORT}};
    location /url/ { proxy_pass https://127.0.0.1:${a.port}/v1/; }
    location /group/ {
      proxy_pass https://tlsgroup;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /verify/ {
      proxy_pass https://127.0.0.1:${a.port};
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${ca};
      proxy_ssl_name a.test;
      location /verify/noname/ { proxy_pass https://127.0.0.1:${a.port}; proxy_ssl_name $proxy_host; }
      location /verify/wrongca/ {
        proxy_pass https://127.0.0.1:${a.port};
        proxy_ssl_trusted_certificate ${pki.file('other-ca.crt')};
      }
      location /verify/failover/ { proxy_pass https://failover; }
    }
    location /sni-off/ { proxy_pass https://backend.test; }
    location /sni-on/ { proxy_pass https://backend.test; proxy_ssl_server_name on; }
    location /sni-name/ { proxy_pass https://backend.test; proxy_ssl_server_name on; proxy_ssl_name a.test; }
    location /sni-var/ {
      proxy_pass https://backend.test;
      proxy_ssl_server_name on;
      proxy_ssl_name $http_x_sni:8443;
    }
    location /mtls/ {
      proxy_pass https://127.0.0.1:${a.port};
      proxy_ssl_certificate ${pki.file('client.crt')};
      proxy_ssl_certificate_key ${pki.file('client.key')};
    }
    location /reuse-on/ { proxy_pass https://127.0.0.1:${a.port}; }
    location /reuse-off/ { proxy_pass https://127.0.0.1:${a.port}; proxy_ssl_session_reuse off; }
  }
}
`,
  });
});

after(async () => {
  await z?.stop();
  await a?.close();
  await stranger?.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

/** The handshakes `a` sees while `run` goes. */
async function handshakesDuring(run: () => Promise<unknown>): Promise<Handshake[]> {
  const before = a.handshakes.length;
  await run();
  return a.handshakes.slice(before);
}

test('https URL: the URI part maps, the body and headers pass both ways', async () => {
  const res = await z.request('/url/x?q=1', { method: 'POST', body: 'hello', headers: { 'X-Test': 'yes' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-backend'], 'a');
  const seen = JSON.parse(res.text);
  assert.equal(seen.url, '/v1/x?q=1');
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers['x-test'], 'yes');
  assert.equal(seen.headers.host, `127.0.0.1:${a.port}`);
});

test('https upstream group with keepalive: one TLS connection serves every request', async () => {
  const seen = await handshakesDuring(async () => {
    for (let i = 0; i < 4; i++) {
      const res = await z.request(`/group/${i}`);
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.text).url, `/group/${i}`);
    }
  });
  assert.equal(seen.length, 1);
});

test('proxy_ssl_verify on with the right CA and name passes', async () => {
  const res = await z.request('/verify/ok');
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.text).name, 'a');
});

test('proxy_ssl_verify: a wrong CA is 502 with nginx verify error line', async () => {
  // the backend sends its CA along (OpenSSL completes the chain from its store): 19, not 20
  // twice: the refused connection's session must not let the second one skip the check
  for (let i = 0; i < 2; i++) assert.equal((await z.request('/verify/wrongca/x')).status, 502);
  assert.match(
    z.errorLog(),
    /\[error\] .*upstream SSL certificate verify error: \(19:self-signed certificate in certificate chain\) while SSL handshaking to upstream, client: 127\.0\.0\.1, .*upstream: "https:\/\/127\.0\.0\.1:\d+\/verify\/wrongca\/x"/,
  );
});

test('proxy_ssl_verify: a name the certificate lacks is 502', async () => {
  const res = await z.request('/verify/noname/x');
  assert.equal(res.status, 502);
  assert.match(
    z.errorLog(),
    /upstream SSL certificate does not match "127\.0\.0\.1" while SSL handshaking to upstream/,
  );
});

test('a failed check is a connect error: proxy_next_upstream error tries the next server', async () => {
  const res = await z.request('/verify/failover/x');
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.text).name, 'a');
  assert.match(z.errorLog(), /upstream SSL certificate verify error: \(\d+:[^)]*\) while SSL handshaking/);
});

test('SNI: none by default, the proxy_pass host with proxy_ssl_server_name on, proxy_ssl_name over it', async () => {
  const sni = async (path: string, headers?: Record<string, string>) => {
    const [h] = await handshakesDuring(() => z.request(path, { headers }));
    return h?.servername;
  };
  assert.equal(await sni('/sni-off/'), false);
  assert.equal(await sni('/sni-on/'), 'backend.test');
  assert.equal(await sni('/sni-name/'), 'a.test');
  // evaluated per request, the port stripped as nginx does
  assert.equal(await sni('/sni-var/', { 'X-Sni': 'one.test' }), 'one.test');
  assert.equal(await sni('/sni-var/', { 'X-Sni': 'two.test' }), 'two.test');
});

test('proxy_ssl_certificate: the client certificate is presented', async () => {
  const [withCert] = await handshakesDuring(() => z.request('/mtls/'));
  assert.equal(withCert?.clientCn, 'client');
  assert.equal(withCert?.clientAuthorized, true);
  const [without] = await handshakesDuring(() => z.request('/url/'));
  assert.equal(without?.clientCn, '');
});

test('proxy_ssl_session_reuse: on resumes the last session, off never does', async () => {
  const on = await handshakesDuring(async () => {
    for (let i = 0; i < 3; i++) assert.equal((await z.request('/reuse-on/')).status, 200);
  });
  assert.deepEqual(
    on.slice(1).map((h) => h.reused),
    [true, true],
  );
  const off = await handshakesDuring(async () => {
    for (let i = 0; i < 3; i++) assert.equal((await z.request('/reuse-off/')).status, 200);
  });
  assert.deepEqual(
    off.map((h) => h.reused),
    [false, false, false],
  );
});

test('-t: a missing proxy_ssl_trusted_certificate is an [emerg] naming the file', async () => {
  writeFileSync(
    `${pki.dir}/proxy.conf`,
    `events {}\nhttp {\naccess_log off;\nserver {\nlisten 127.0.0.1:1;\nlocation / {\nproxy_pass https://127.0.0.1:1;\nproxy_ssl_verify on;\nproxy_ssl_trusted_certificate /x/missing.crt;\n}\n}\n}\n`,
  );
  const r = await runZonesync(['-t', '-p', `${pki.dir}/`, '-c', 'proxy.conf', '-e', 'stderr']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /\[emerg\] SSL_CTX_load_verify_locations\("\/x\/missing\.crt"\) failed \(SSL: error:80000002:system library::No such file or directory:calling fopen\(\/x\/missing\.crt, r\)/,
  );
  writeFileSync(
    `${pki.dir}/proxy.conf`,
    `events {}\nhttp {\naccess_log off;\nserver {\nlisten 127.0.0.1:1;\nlocation / {\nproxy_pass https://127.0.0.1:1;\nproxy_ssl_verify on;\n}\n}\n}\n`,
  );
  const noCa = await runZonesync(['-t', '-p', `${pki.dir}/`, '-c', 'proxy.conf', '-e', 'stderr']);
  assert.match(noCa.stderr, /\[emerg\] no proxy_ssl_trusted_certificate for proxy_ssl_verify/);
});
