// The zone_sync directives as a cycle builds them: every zone_sync_* directive with nginx's
// defaults (nginx.org's ngx_stream_zone_sync_module reference), values set at `stream` level
// inherited by the server and overridden there, nginx's checks and words, and the client TLS the
// zone_sync_ssl_* directives make, zone_sync_ssl_conf_command included: the commands Node's TLS can
// apply change the handshake, the others are refused at load as docs/configuration.md says.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { ConfigError } from '../../../src/config/types.ts';
import { loadCycle } from '../../../src/core/cycle.ts';
import type { StreamBuildContext } from '../../../src/stream/types.ts';
import { buildZoneSyncConf, type ZoneSyncConf } from '../../../src/stream/zone_sync/conf.ts';
import { makeTestPki, type TestPki } from '../../helpers/certs.ts';
import { makePrefix } from '../../helpers/nginx_oracle.ts';

const prefixes: string[] = [];
let pki: TestPki;

before(() => {
  pki = makeTestPki();
  // The `a` key, encrypted, for zone_sync_ssl_password_file.
  execFileSync(
    'openssl',
    ['pkey', '-in', 'a.key', '-aes256', '-passout', 'pass:second', '-out', 'a.enc.key'],
    {
      cwd: pki.dir,
    },
  );
});

after(() => {
  for (const p of prefixes) rmSync(p, { recursive: true, force: true });
  rmSync(pki.dir, { recursive: true, force: true });
});

/** Load `stream` (a whole stream block) as a cycle: its zone_sync configuration, or the error text. */
function load(stream: string, listenAddress?: string): { conf?: ZoneSyncConf; error?: string } {
  const prefix = makePrefix({
    'conf/zonesync.conf': `error_log logs/error.log info;\n${stream}\n`,
    'logs/.keep': '',
  });
  prefixes.push(prefix);
  try {
    const cycle = loadCycle({ confFile: `${prefix}conf/zonesync.conf`, prefix, listenAddress });
    cycle.log.close();
    const srv = cycle.stream?.servers.find((s) => s.block.entries.some((e) => e.name === 'zone_sync'));
    assert.ok(srv, 'a zone_sync server');
    return { conf: buildZoneSyncConf(srv, { listenAddress } as StreamBuildContext) ?? undefined };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      error: err.text
        .split(prefix)
        .join('P/')
        .replace(/ in P\/conf\/zonesync\.conf:\d+$/, ''),
    };
  }
}

const server = (body: string, outer = '') =>
  `stream {\n${outer}\n  server {\n    listen 9000;\n    zone_sync;\n${body}\n  }\n}`;
const conf = (body: string, outer = '', listenAddress?: string): ZoneSyncConf => {
  const { conf, error } = load(server(body, outer), listenAddress);
  assert.ok(conf, error);
  return conf;
};
const errorOf = (body: string, outer = '') => load(server(body, outer)).error ?? 'ok';

test("nginx's defaults: retry 1s, connect timeout 5s, interval 1s, timeout 5s, 4k buffers, no TLS", () => {
  const c = conf('zone_sync_server 127.0.0.2:9000;');
  assert.deepEqual(
    {
      retry: c.connectRetryMs,
      connectTimeout: c.connectTimeoutMs,
      interval: c.intervalMs,
      timeout: c.timeoutMs,
      // zone_sync_recv_buffer_size 4k (one page): below the protocol's 1 MiB frame floor.
      maxFrame: c.maxFrame,
      tls: c.tls,
      servers: c.servers.map((s) => [s.host, s.port, s.resolve, s.text]),
      listens: c.listens,
      resolver: c.resolver,
    },
    {
      retry: 1000,
      connectTimeout: 5000,
      interval: 1000,
      timeout: 5000,
      maxFrame: 1024 * 1024,
      tls: null,
      servers: [['127.0.0.2', 9000, false, '127.0.0.2:9000']],
      listens: [{ host: null, port: 9000 }],
      resolver: null,
    },
  );
});

test('every tuning directive is read; set in `stream`, the server inherits it and may override it', () => {
  const c = conf(
    `zone_sync_server 127.0.0.2:9000;
    zone_sync_server 127.0.0.3:9000;
    zone_sync_interval 250ms;
    zone_sync_timeout 2s;`,
    `zone_sync_connect_retry_interval 300ms;
  zone_sync_connect_timeout 700ms;
  zone_sync_interval 10s;
  zone_sync_buffers 256 4k;
  zone_sync_recv_buffer_size 4m;`,
  );
  assert.deepEqual(
    [c.connectRetryMs, c.connectTimeoutMs, c.intervalMs, c.timeoutMs, c.maxFrame],
    [300, 700, 250, 2000, 4 * 1024 * 1024],
  );
  assert.deepEqual(
    c.servers.map((s) => s.text),
    ['127.0.0.2:9000', '127.0.0.3:9000'],
    'a static list of several zone_sync_server lines',
  );
  // The receive buffer sets the largest frame accepted, at most 16 MiB.
  assert.equal(conf('zone_sync_server 127.0.0.2:9000; zone_sync_recv_buffer_size 64m;').maxFrame, 16 << 20);
});

test('--listen-address: the sync listen binds it and outgoing connections leave from it', () => {
  const c = conf('zone_sync_server 127.0.0.2:9000;', '', '127.0.0.7');
  assert.deepEqual(c.listens, [{ host: '127.0.0.7', port: 9000 }]);
  assert.equal(c.localAddress, '127.0.0.7');
});

test('zone_sync_server: resolve needs the resolver; ports, unix: and parameters are checked', () => {
  const resolver = 'resolver 127.0.0.1:53 valid=20s;';
  const named = conf('zone_sync_server cluster.test:9000 resolve;', resolver);
  assert.deepEqual(
    named.servers.map((s) => [s.host, s.port, s.resolve]),
    [['cluster.test', 9000, true]],
  );
  assert.ok(named.resolver !== null, 'the stream resolver');
  assert.equal(
    errorOf('zone_sync_server cluster.test:9000 resolve;'),
    'no resolver defined to resolve names at run time in "zone_sync_server"',
  );
  assert.equal(errorOf('zone_sync_server 127.0.0.2:9000 resolve;'), 'ok', 'an IP needs no resolver');
  assert.equal(
    errorOf('zone_sync_server cluster.test;'),
    'no port in "cluster.test" of the "zone_sync_server" directive',
  );
  assert.match(errorOf('zone_sync_server unix:/tmp/s.sock;'), /^unix domain sockets are not supported/);
  assert.equal(errorOf('zone_sync_server 127.0.0.2:9000 often;'), 'invalid parameter "often"');
});

test("nginx's checks of the tuning directives and of zone_sync itself", () => {
  const peer = 'zone_sync_server 127.0.0.2:9000;';
  assert.equal(errorOf(`${peer} zone_sync_buffers 0 4k;`), 'invalid value "0 4k"');
  assert.equal(
    errorOf(`${peer} zone_sync_buffers 8 16k;`),
    '"zone_sync_recv_buffer_size" must not be less than the size of one "zone_sync_buffers" buffer',
  );
  assert.equal(errorOf(`${peer} zone_sync_buffers 8 16k; zone_sync_recv_buffer_size 16k;`), 'ok');
  assert.equal(errorOf(`${peer} zone_sync_interval soon;`), '"zone_sync_interval" directive invalid value');
  assert.equal(
    errorOf(`${peer} zone_sync_recv_buffer_size big;`),
    '"zone_sync_recv_buffer_size" directive invalid value',
  );
  assert.equal(errorOf(peer, 'zone_sync;'), '"zone_sync" directive is not allowed here');
  assert.equal(
    load(`stream {
  server { listen 9000; zone_sync; ${peer} }
  server { listen 9001; zone_sync; ${peer} }
}`).error,
    '"zone_sync" directive is duplicate',
  );
});

test('zone_sync_ssl_*: defaults (verify off, depth 1, no SNI, the server host as name) and the values set', () => {
  const peer = 'zone_sync_server 127.0.0.2:9000;';
  const plain = conf(`${peer} zone_sync_ssl on;`);
  assert.ok(plain.tls);
  assert.deepEqual(
    [plain.tls.verify, plain.tls.verifyDepth, plain.tls.name, plain.tls.serverName],
    [false, 1, undefined, false],
  );
  const passwords = writePasswords(['first', 'second']);
  const c = conf(
    `${peer}
    zone_sync_ssl_verify on;
    zone_sync_ssl_verify_depth 3;
    zone_sync_ssl_name internal.nginxaas.nginx.com;
    zone_sync_ssl_server_name on;`,
    `zone_sync_ssl on;
  zone_sync_ssl_trusted_certificate ${pki.file('ca.crt')};
  zone_sync_ssl_crl ${pki.file('crl.pem')};
  zone_sync_ssl_certificate ${pki.file('a.crt')};
  zone_sync_ssl_certificate_key ${pki.file('a.enc.key')};
  zone_sync_ssl_password_file ${passwords};
  zone_sync_ssl_protocols TLSv1.2 TLSv1.3;
  zone_sync_ssl_ciphers HIGH:!aNULL;`,
  );
  assert.ok(c.tls);
  assert.deepEqual(
    [c.tls.verify, c.tls.verifyDepth, c.tls.name, c.tls.serverName],
    [true, 3, 'internal.nginxaas.nginx.com', true],
  );
  // zone_sync_ssl off (the default) builds no client TLS whatever else is set.
  assert.equal(conf(`${peer} zone_sync_ssl_verify on;`).tls, null);
});

/** A zone_sync_ssl_password_file with `lines`. */
function writePasswords(lines: string[]): string {
  const file = pki.file(`passwords-${lines.join('-')}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

test("zone_sync_ssl_*: nginx's errors for a missing key, trust, password or cipher", () => {
  const on = 'zone_sync_server 127.0.0.2:9000; zone_sync_ssl on;';
  assert.equal(
    errorOf(`${on} zone_sync_ssl_certificate ${pki.file('a.crt')};`),
    `no "zone_sync_ssl_certificate_key" is defined for certificate "${pki.file('a.crt')}"`,
  );
  assert.equal(
    errorOf(`${on} zone_sync_ssl_verify on;`),
    'no zone_sync_ssl_trusted_certificate for zone_sync_ssl_verify',
  );
  assert.match(
    errorOf(`${on} zone_sync_ssl_certificate ${pki.file('a.crt')}; zone_sync_ssl_certificate_key ${pki.file('a.enc.key')};
    zone_sync_ssl_password_file ${writePasswords(['wrong'])};`),
    /^cannot load certificate key ".*a\.enc\.key": PEM_read_bio_PrivateKey\(\) failed/,
  );
  assert.match(
    errorOf(`${on} zone_sync_ssl_ciphers NO-SUCH-CIPHER;`),
    /^SSL_CTX_set_cipher_list\("NO-SUCH-CIPHER"\) failed/,
  );
  assert.match(errorOf(`${on} zone_sync_ssl_protocols TLSv9;`), /^invalid value "TLSv9"$/);
});

test('zone_sync_ssl_conf_command: what Node cannot apply is refused at load, naming the command', () => {
  const on = 'zone_sync_server 127.0.0.2:9000; zone_sync_ssl on;';
  for (const [name, value] of [
    ['Options', '-SessionTicket'],
    ['VerifyMode', 'Peer'],
    ['RecordPadding', '16'],
  ]) {
    assert.match(
      errorOf(`${on} zone_sync_ssl_conf_command ${name} ${value};`),
      new RegExp(
        `^SSL_CONF_cmd\\("${name}", "${value}"\\) failed \\(not supported by this build: only Ciphersuites, CipherString, Groups, Curves, SignatureAlgorithms, MinProtocol and MaxProtocol apply\\)$`,
      ),
    );
  }
  // The ones that apply reach OpenSSL: a group it does not know fails the context.
  assert.match(errorOf(`${on} zone_sync_ssl_conf_command Groups no-such-group;`), /^SSL_CTX_new\(\) failed/);
  for (const [name, value] of [
    ['Ciphersuites', 'TLS_AES_128_GCM_SHA256'],
    ['CipherString', 'HIGH'],
    ['Groups', 'P-256'],
    ['Curves', 'P-256'],
    ['SignatureAlgorithms', 'ECDSA+SHA256'],
    ['MinProtocol', 'TLSv1.2'],
    ['MaxProtocol', 'TLSv1.3'],
  ]) {
    assert.equal(errorOf(`${on} zone_sync_ssl_conf_command ${name} ${value};`), 'ok', name);
  }
});

/** A TLS handshake with a server that takes anything, through `c`'s client context. */
async function handshake(c: ZoneSyncConf): Promise<{ protocol: string | null; cipher: string }> {
  const srv = tls.createServer({
    cert: pki.read('a.crt'),
    key: pki.read('a.key'),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
  });
  srv.on('secureConnection', (s) => s.end());
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    const port = (srv.address() as { port: number }).port;
    return await new Promise((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port,
        secureContext: c.tls?.context,
        rejectUnauthorized: false,
      });
      s.on('error', reject);
      s.on('secureConnect', () => {
        resolve({ protocol: s.getProtocol(), cipher: s.getCipher().standardName });
        s.destroy();
      });
    });
  } finally {
    await new Promise((resolve) => srv.close(resolve));
  }
}

test('zone_sync_ssl_conf_command: the commands that apply change the handshake; the innermost level wins', async () => {
  const on = 'zone_sync_server 127.0.0.2:9000; zone_sync_ssl on;';
  assert.equal((await handshake(conf(on))).protocol, 'TLSv1.3', 'TLSv1.3 by default');
  const max12 = await handshake(conf(`${on} zone_sync_ssl_conf_command MaxProtocol TLSv1.2;`));
  assert.equal(max12.protocol, 'TLSv1.2');
  const suite = await handshake(
    conf(`${on} zone_sync_ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;`),
  );
  assert.deepEqual(suite, { protocol: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256' });
  // As nginx: commands are inherited only when the level has none of its own.
  const inner = conf(
    `${on} zone_sync_ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;`,
    'zone_sync_ssl_conf_command MaxProtocol TLSv1.2;',
  );
  assert.deepEqual(await handshake(inner), { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
  const outer = conf(on, 'zone_sync_ssl_conf_command MaxProtocol TLSv1.2;');
  assert.equal((await handshake(outer)).protocol, 'TLSv1.2');
});
