// HTTP benchmark: zonesync vs Debian's nginx, one worker each, same machine, same run.
// For each scenario: wrk -t1 -c64 against each server in interleaved rounds; report req/s, p99
// latency and the server's CPU time per request (utime+stime from /proc, steadier than req/s here).
// This shared machine's speed drifts by 2x within a minute, so rounds are short and alternate, and
// each ratio is the median of the rounds' own ratios (zonesync's round against the nginx round
// just before it), not a ratio of medians taken minutes apart.
// The proxy scenario puts a third process, an nginx origin answering `return 200`, behind both.
// `return 200` also runs a bare Node `net` server that writes a fixed answer for every request
// head: the ceiling of any HTTP engine on this Node, measured in the same rounds. The proxy
// scenario likewise runs bare Node proxies (bytes piped to the origin over one connection per
// client, no HTTP at all), the issue's "bare raw-socket keep-alive proxy on Node 24": one on Node's
// streams, one on the engine's own socket primitives (src/http/engine/tcp_fast_path.ts).
// Each round first waits (up to a minute) for this machine to be idle, as the baseline scripts
// do, so that other work on it (a test run) does not land in one server's rounds.
// Usage: node bench/http.ts [--duration 3] [--rounds 9] [--only NAME,...] [--out FILE]
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeTestPki, type TestPki } from '../test/helpers/certs.ts';
import { canConnect, freePort, waitFor } from '../test/helpers/instance.ts';
import {
  mainConf,
  measure,
  median,
  type Run,
  type ServerKind,
  startServer,
  waitQuiet,
} from './http_harness.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '9' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);

interface Scenario {
  name: string;
  path: string;
  /** The server block body, identical for nginx and zonesync. */
  server: string;
  /** Extra `http`-level text (upstream blocks). */
  http?: string;
  tls?: boolean;
  /** Also measure bare Node servers or proxies (what Node alone costs, no HTTP work). */
  bare?: Kind[];
}

const SCENARIOS: Scenario[] = [
  { name: 'return 200', path: '/', server: 'location / { return 200 "ok"; }', bare: ['node net'] },
  { name: 'static file (1 KiB)', path: '/file.html', server: 'root html; location / { }' },
  {
    name: 'proxy_pass, upstream keepalive',
    path: '/',
    http: 'upstream origin { server 127.0.0.1:{{ORIGIN}}; keepalive 32; }',
    server:
      'location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    bare: ['node proxy', 'node proxy, engine sockets'],
  },
  { name: 'TLS listener, return 200', path: '/', tls: true, server: 'location / { return 200 "ok"; }' },
  // The try_files fallback is the base of bench/module_cost.ts's limit_req cost.
  {
    name: 'try_files fallback',
    path: '/',
    server: 'location / { try_files /__none @ok; } location @ok { return 200 "ok"; }',
  },
];

let pki: TestPki | undefined;
let originPort = 0;

function conf(port: number, s: Scenario, nginx: boolean): string {
  pki ??= s.tls ? makeTestPki() : undefined;
  const tls = s.tls
    ? ` ssl; ssl_certificate ${pki!.file('a.crt')}; ssl_certificate_key ${pki!.file('a.key')}`
    : '';
  const upstreams = (s.http ?? '').replace('{{ORIGIN}}', String(originPort));
  return mainConf(`${upstreams}\n  server { listen 127.0.0.1:${port}${tls}; ${s.server} }`, nginx);
}

type Kind = ServerKind | 'node net' | 'node proxy' | 'node proxy, engine sockets';

/** The bare server: one fixed answer per request head, as the issue's "throwaway raw net server". */
const BARE_NODE_SERVER = `
const net = require('node:net');
const answer = Buffer.from('HTTP/1.1 200 OK\\r\\nServer: bare\\r\\nContent-Type: text/html\\r\\nContent-Length: 2\\r\\nConnection: keep-alive\\r\\n\\r\\nok');
net.createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => {});
  s.on('data', (d) => { for (let i = d.indexOf('\\r\\n\\r\\n'); i !== -1; i = d.indexOf('\\r\\n\\r\\n', i + 4)) s.write(answer); });
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

/** The bare proxy: each client's bytes piped to its own origin connection and back. */
const BARE_NODE_PROXY = `
const net = require('node:net');
const [port, origin] = process.argv.slice(1).map(Number);
net.createServer({ noDelay: true }, (c) => {
  const u = net.connect({ port: origin, host: '127.0.0.1', noDelay: true });
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(port, '127.0.0.1');
`;

/** The same on the engine's socket primitives: shared read buffers, writes straight to the handle. */
const BARE_ENGINE_PROXY = `
import net from 'node:net';
const { readIntoSharedBuffer, writeDirect } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../src/http/engine/tcp_fast_path.ts'))});
const [port, origin] = process.argv.slice(1).map(Number);
const fromOrigin = Buffer.allocUnsafe(65536);
const send = (to, buf, n) => {
  const data = Buffer.from(buf.subarray(0, n));
  if (to.connecting || !writeDirect(to, data, () => {})) to.write(data);
  return true;
};
net.createServer({ noDelay: true }, (c) => {
  const u = net.connect({ port: origin, host: '127.0.0.1', noDelay: true,
    onread: { buffer: fromOrigin, callback: (n, buf) => send(c, buf, n) } });
  readIntoSharedBuffer(c, (n, buf) => (n < 0 ? (c.destroy(), false) : send(u, buf, n)));
  c.on('error', () => u.destroy());
  c.on('close', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(port, '127.0.0.1');
`;

function bareScript(kind: Kind): string[] {
  if (kind === 'node net') return ['-e', BARE_NODE_SERVER];
  if (kind === 'node proxy') return ['-e', BARE_NODE_PROXY];
  return ['--input-type=module', '-e', BARE_ENGINE_PROXY];
}

async function start(kind: Kind, s: Scenario, dir: string): Promise<{ proc: ChildProcess; port: number }> {
  if (kind === 'nginx' || kind === 'zonesync')
    return startServer(kind, (port) => conf(port, s, kind === 'nginx'), dir);
  const port = await freePort();
  const proc = spawn(process.execPath, [...bareScript(kind), String(port), String(originPort)], {
    stdio: 'ignore',
  });
  await waitFor(() => canConnect(port), 10000, `${kind} listening`);
  return { proc, port };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-bench-'));
  const lines: string[] = [];
  const nginxVersion = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr;
  lines.push(
    `Run ${new Date().toISOString()} on ${os.cpus().length} cores, wrk -t1 -c64 -d${DURATION}s, ${ROUNDS} interleaved rounds (medians; ratios are medians of per-round ratios). ${nginxVersion.trim()}`,
  );
  lines.push('');
  lines.push('| scenario | server | req/s | p99 ms | CPU µs/req | req/s ratio | CPU ratio | p99 ratio |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  const only = values.only?.split(',');
  const origin = await start(
    'nginx',
    { name: 'origin', path: '/', server: 'location / { return 200 "ok"; }' },
    dir,
  );
  originPort = origin.port;
  try {
    for (const s of SCENARIOS.filter((x) => only === undefined || only.some((o) => x.name.startsWith(o)))) {
      const kinds: Kind[] = ['nginx', 'zonesync', ...(s.bare ?? [])];
      const runs: Record<string, Run[]> = {};
      const servers: Record<string, { proc: ChildProcess; port: number }> = {};
      for (const kind of kinds) {
        runs[kind] = [];
        servers[kind] = await start(kind, s, dir);
      }
      try {
        for (let i = 0; i < ROUNDS; i++) {
          // rotate who goes first, so no server always runs in another's wake
          for (let k = 0; k < kinds.length; k++) {
            const kind = kinds[(i + k) % kinds.length]!;
            const url = `${s.tls ? 'https' : 'http'}://127.0.0.1:${servers[kind]!.port}${s.path}`;
            await waitQuiet();
            runs[kind]!.push(measure(servers[kind]!.proc, url, DURATION));
          }
        }
      } finally {
        for (const x of Object.values(servers)) x.proc.kill('SIGTERM');
      }
      const m = (kind: string, k: keyof Run) => median(runs[kind]!.map((r) => r[k]));
      const pairRatio = (kind: string, k: keyof Run) =>
        median(runs[kind]!.map((z, i) => z[k] / runs.nginx![i]![k]));
      for (const kind of kinds) {
        const ratio = (k: keyof Run) => (kind === 'nginx' ? '1.00' : pairRatio(kind, k).toFixed(2));
        lines.push(
          `| ${s.name} | ${kind} | ${Math.round(m(kind, 'rps'))} | ${m(kind, 'p99ms').toFixed(2)} | ${m(kind, 'cpuUsPerReq').toFixed(1)} | ${ratio('rps')} | ${ratio('cpuUsPerReq')} | ${ratio('p99ms')} |`,
        );
      }
      console.error(`${s.name}: ${kinds.map((k) => `${k} ${JSON.stringify(runs[k])}`).join(' ')}`);
    }
  } finally {
    origin.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  if (values.out) writeFileSync(values.out, text);
}

await main();
