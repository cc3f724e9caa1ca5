// The stream runtime built from a configuration: nginx's checks and words for servers, listens,
// resolvers and `ssl`, --listen-address, and the hook a stream module fills a server's handler with.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { parseConfig } from '../../src/config/parser.ts';
import { find } from '../../src/config/tree.ts';
import { ConfigError } from '../../src/config/types.ts';
import { type Cycle, loadCycle } from '../../src/core/cycle.ts';
import { CycleZones } from '../../src/core/cycle_zones.ts';
import { ErrorLog } from '../../src/core/error_log.ts';
import type { Module } from '../../src/core/module.ts';
import { modules } from '../../src/modules.ts';
import { buildStream, initStream } from '../../src/stream/build.ts';
import type { ResolverConf } from '../../src/stream/core_module.ts';
import type { StreamServer } from '../../src/stream/types.ts';
import { VariableRegistry } from '../../src/variables/registry.ts';
import { makePrefix } from '../helpers/nginx_oracle.ts';

const prefixes: string[] = [];
after(() => {
  for (const p of prefixes) rmSync(p, { recursive: true, force: true });
});

/** Load `conf` as a whole cycle; the error text (prefix shown as `P/`) or the cycle and its log. */
function load(conf: string, listenAddress?: string): { cycle?: Cycle; error?: string; log: () => string } {
  const prefix = makePrefix({
    'conf/zonesync.conf': `error_log logs/error.log info;\n${conf}`,
    'logs/.keep': '',
  });
  prefixes.push(prefix);
  const log = () => {
    try {
      return readFileSync(`${prefix}logs/error.log`, 'utf8');
    } catch {
      return '';
    }
  };
  try {
    const cycle = loadCycle({ confFile: `${prefix}conf/zonesync.conf`, prefix, listenAddress });
    cycle.log.close();
    return { cycle, log };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { error: err.text.split(prefix).join('P/'), log };
  }
}

const errorOf = (conf: string) => load(conf).error ?? 'ok';

test('a stream server needs a listen and a module serving it', () => {
  assert.equal(
    errorOf('stream {\n  server {\n  }\n}\n'),
    'no "listen" is defined for server in P/conf/zonesync.conf:3',
  );
  assert.equal(
    errorOf('stream {\n  server {\n    listen 9000;\n  }\n}\n'),
    'no handler for server in P/conf/zonesync.conf:3',
  );
  assert.equal(errorOf('stream { server { listen 9000; return ok; } }'), 'ok');
});

test('listen parameters are checked as nginx checks them', () => {
  const listen = (args: string) =>
    errorOf(`stream { server { listen ${args}; return ok; } }`).replace(/ in P\/.*/, '');
  assert.equal(
    listen(
      '*:9000 ssl default_server bind backlog=10 rcvbuf=8k sndbuf=1m fastopen=3 reuseport deferred ipv6only=on so_keepalive=on proxy_protocol',
    ),
    'no "ssl_certificate" is defined for the "listen ... ssl" directive',
  );
  assert.equal(listen('9000 foo'), 'invalid parameter "foo"');
  assert.equal(listen('9000 backlog=0'), 'invalid backlog "backlog=0"');
  assert.equal(listen('9000 rcvbuf=x'), 'invalid rcvbuf "rcvbuf=x"');
  assert.equal(listen('127.0.0.1'), 'no port in "127.0.0.1" of the "listen" directive');
  assert.equal(listen('127.0.0.1:0'), 'invalid port in "127.0.0.1:0" of the "listen" directive');
  assert.equal(listen('9000 udp'), 'udp listeners are not supported in "listen" directive');
});

test('resolver: servers, valid=, ipv4=/ipv6=, status_zone=, and nginx errors', () => {
  const { cycle } = load(
    'stream { resolver 127.0.0.1:49153 [::1] localhost valid=20s ipv6=off status_zone=dns; server { listen 9000; return ok; } }',
  );
  const stream = find(cycle!.main, 'stream')!.block!;
  assert.deepEqual(find(stream, 'resolver')?.value as ResolverConf, {
    servers: [
      { host: '127.0.0.1', port: 49153 },
      { host: '::1', port: 53 },
      { host: '127.0.0.1', port: 53 },
    ],
    valid: 20_000,
    ipv4: true,
    ipv6: false,
    statusZone: 'dns',
  });
  const resolver = (args: string) =>
    errorOf(`stream { resolver ${args}; server { listen 9000; return ok; } }`).replace(/ in P\/.*/, '');
  assert.equal(resolver('valid=1s'), 'no name servers defined');
  assert.equal(resolver('1.2.3.4 valid=x'), 'invalid parameter: valid=x');
  assert.equal(resolver('1.2.3.4 ipv6=yes'), 'invalid parameter: ipv6=yes');
  assert.equal(resolver('1.2.3.4 ipv4=off ipv6=off'), '"ipv4" and "ipv6" cannot both be "off"');
  assert.equal(resolver('1.2.3.4:0'), 'invalid port in resolver "1.2.3.4:0"');
  assert.equal(resolver('dns.example'), 'host not found in resolver "dns.example"');
  assert.equal(
    errorOf('stream { resolver 1.2.3.4; resolver 1.2.3.5; server { listen 9000; return ok; } }').replace(
      / in P\/.*/,
      '',
    ),
    '"resolver" directive is duplicate',
  );
});

test('servers share the stream-level resolver; a server may have its own, and its own timeout', () => {
  const { cycle } = load(`stream {
    resolver 127.0.0.1:49153 valid=20s;
    server { listen 9000; return a; }
    server { listen 9001; return b; }
    server { listen 9002; resolver_timeout 5s; return c; }
    server { listen 9003; resolver 127.0.0.2; return d; }
  }`);
  const [a, b, c, d] = cycle!.stream!.servers;
  assert.ok(a.resolver !== null && a.resolver === b.resolver);
  assert.equal(a.resolverTimeout, 30_000);
  assert.equal(c.resolverTimeout, 5000);
  assert.notEqual(c.resolver, a.resolver);
  assert.deepEqual(c.resolver?.servers, [{ host: '127.0.0.1', port: 49153 }]);
  assert.deepEqual(d.resolver?.servers, [{ host: '127.0.0.2', port: 53 }]);
  assert.equal(load('stream { server { listen 9000; return a; } }').cycle!.stream!.servers[0].resolver, null);
});

test('listen groups: the default server, duplicates, and the warning for a shared address', () => {
  const shared = load(`stream {
    server { listen 127.0.0.1:9000; return a; }
    server { listen 127.0.0.1:9000 default_server; listen 9001 ssl; ssl_certificate_key k; ssl_reject_handshake on; return b; }
  }`);
  const [group, ssl] = shared.cycle!.stream!.groups;
  assert.equal(group.text, '127.0.0.1:9000');
  assert.equal(group.defaultServer, shared.cycle!.stream!.servers[1]);
  assert.equal(ssl.text, '0.0.0.0:9001');
  assert.equal(ssl.ssl, true);
  assert.match(shared.log(), /\[warn\] \d+#0: conflicting server name "" on 127\.0\.0\.1:9000, ignored/);
  assert.equal(
    errorOf('stream {\n server { listen 9000; listen *:9000; return a; }\n}'),
    'a duplicate listen 0.0.0.0:9000 in P/conf/zonesync.conf:3',
  );
  assert.equal(
    errorOf(
      'stream {\n server { listen 9000 default_server; return a; }\n server { listen 9000 default_server; return b; }\n}',
    ),
    'a duplicate default server for 0.0.0.0:9000 in P/conf/zonesync.conf:4',
  );
});

test('--listen-address binds port-only and wildcard stream listens to that address', () => {
  const { cycle } = load(
    'stream { server { listen 9000; listen *:9001; listen 127.0.0.1:9002; return a; } }',
    '127.0.0.2',
  );
  assert.deepEqual(
    cycle!.stream!.groups.map((g) => g.text),
    ['127.0.0.2:9000', '127.0.0.2:9001', '127.0.0.1:9002'],
  );
});

test('listen ... ssl needs a certificate, named at the server', () => {
  assert.equal(
    errorOf('stream {\n  server {\n    listen 9000 ssl;\n    return a;\n  }\n}'),
    'no "ssl_certificate" is defined for the "listen ... ssl" directive in P/conf/zonesync.conf:3',
  );
  assert.match(
    errorOf(
      'stream { ssl_certificate /nonexistent.crt; ssl_certificate_key /nonexistent.key; server { listen 9000 ssl; return a; } }',
    ),
    /^cannot load certificate "\/nonexistent\.crt": BIO_new_file\(\) failed/,
  );
});

test('stream return takes text with stream variables; an unknown one is refused as nginx does', () => {
  assert.equal(errorOf(`stream { server { listen 9000; return "$remote_addr:\${remote_port}"; } }`), 'ok');
  assert.equal(
    errorOf('stream { server { listen 9000; return $request_uri; } }'),
    'unknown "request_uri" variable',
  );
  assert.match(errorOf(`stream { server { listen 9000; return "\${remote_addr"; } }`), /closing bracket/);
});

test('a stream module serves a server by setting its handler in the server hook', () => {
  const seen: string[] = [];
  const peerModule: Module = {
    name: 'test_peer',
    directives: [{ name: 'test_peer', contexts: ['stream_server'], args: [0] }],
    stream: {
      init: (stream) => seen.push(`init ${stream.context}`),
      server(srv: StreamServer) {
        if (find(srv.block, 'test_peer') === undefined) return;
        seen.push(`server ${srv.listens[0].port} resolver ${srv.resolver?.servers[0].port}`);
        srv.conf.set('test_peer', true);
        srv.handler = (socket) => socket.end();
      },
    },
  };
  const all = [...modules, peerModule];
  const prefix = makePrefix({
    'nginx.conf': 'stream { resolver 127.0.0.1:49153; server { listen 9000; test_peer; } }',
  });
  prefixes.push(prefix);
  const { main } = parseConfig({ file: 'nginx.conf', prefix, directives: all.flatMap((m) => m.directives) });
  const log = new ErrorLog([]);
  const cx = {
    variables: new VariableRegistry(),
    log,
    zones: new CycleZones(undefined, log),
    prefix,
    resolvePath: (p: string) => prefix + p,
  };
  const stream = find(main, 'stream')!.block!;
  initStream(stream, all, cx);
  const runtime = buildStream(stream, all, cx);
  assert.deepEqual(seen, ['init stream', 'server 9000 resolver 49153']);
  assert.equal(typeof runtime.servers[0].handler, 'function');
  assert.equal(runtime.servers[0].conf.get('test_peer'), true);
});
