// The CPU a module adds per request, zonesync and Debian's nginx in the same run:
//   node bench/module_cost.ts [--duration 2] [--rounds 7] [--out FILE]
// Each server serves a base location and the same location with one module added. A round
// measures base, module, module, base back to back on the same process (A B B A), so the
// machine's drift, which moves a server's CPU per request by up to 2x within a minute here,
// cancels out of the difference instead of landing in it (comparing two scenarios run minutes
// apart, as bench/http.ts once did, gave limit_req anything from +0.7 to +8 µs). The cost is
// the median over rounds of (module - base), in CPU µs per request.
// - limit_req: on a try_files fallback (`return` answers in the rewrite phase, before limit_req
//   runs, in both servers), one key per client address in a 1m zone that never refuses; also with
//   16 requests pipelined per connection, where syscalls and wake-ups per request mostly vanish.
// - keyval: `return 200 $kv` with `keyval $arg_k $kv` over 10,000 keys, against `return 200 "ok"`.
//   nginx has keyval only in NGINX Plus; its row is the nearest open equivalent, a `map` of the
//   same 10,000 keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mainConf, measure, median, type ServerKind, startServer, waitQuiet } from './http_harness.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '7' },
    out: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const KEYS = 10_000;
const KEY = 'key04321';

const key = (i: number) => `key${String(i).padStart(5, '0')}`;
const value = (i: number) => `v${String(i).padStart(5, '0')}`;

function conf(port: number, kind: ServerKind): string {
  const lookup =
    kind === 'nginx'
      ? `map_hash_max_size 65536; map $arg_k $kv { ${Array.from({ length: KEYS }, (_, i) => `${key(i)} ${value(i)};`).join(' ')} }`
      : 'keyval_zone zone=kv:4m; keyval $arg_k $kv zone=kv;';
  const fallback = 'try_files /__none @ok;';
  return mainConf(
    `limit_req_zone $binary_remote_addr zone=one:1m rate=1000000r/s;
  ${lookup}
  server {
    listen 127.0.0.1:${port};
    location /base { ${fallback} }
    location /limited { limit_req zone=one burst=100000 nodelay; ${fallback} }
    location @ok { return 200 "ok"; }
    location /return { return 200 "v04321"; }
    location /keyval { return 200 $kv; }
    ${kind === 'zonesync' ? 'location /api/ { api write=on; client_body_buffer_size 1m; }' : ''}
  }`,
    kind === 'nginx',
  );
}

/** zonesync's keyval zone gets the map's 10,000 keys through the API (several only into an empty zone). */
async function fillKeyval(port: number): Promise<void> {
  const body = Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [key(i), value(i)]));
  {
    const res = await fetch(`http://127.0.0.1:${port}/api/9/http/keyvals/kv`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    if (res.status !== 201) throw new Error(`keyval fill: ${res.status} ${await res.text()}`);
  }
}

interface Comparison {
  name: string;
  base: string;
  module: string;
  pipeline: number;
  nginxName?: string;
}

const COMPARISONS: Comparison[] = [
  { name: 'limit_req', base: '/base', module: '/limited', pipeline: 1 },
  { name: 'limit_req, pipelined x16', base: '/base', module: '/limited', pipeline: 16 },
  {
    name: 'keyval lookup',
    base: '/return',
    module: `/keyval?k=${KEY}`,
    pipeline: 1,
    nginxName: 'nginx (map)',
  },
];

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-bench-'));
  const kinds: ServerKind[] = ['nginx', 'zonesync'];
  const servers = {
    nginx: await startServer('nginx', (port) => conf(port, 'nginx'), dir),
    zonesync: await startServer('zonesync', (port) => conf(port, 'zonesync'), dir),
  };
  const lines = [
    `Run ${new Date().toISOString()}, wrk -t1 -c64 -d${DURATION}s, ${ROUNDS} rounds of base, module, module, base on each server; cost = median over rounds of (module - base).`,
    '',
    "| module | server | base CPU µs/req | with module | added µs/req | rounds' range |",
    '|---|---|---:|---:|---:|---|',
  ];
  try {
    await fillKeyval(servers.zonesync.port);
    for (const c of COMPARISONS) {
      const url = (kind: ServerKind, p: string) => `http://127.0.0.1:${servers[kind].port}${p}`;
      const rounds: Record<ServerKind, { base: number; module: number }[]> = { nginx: [], zonesync: [] };
      for (const kind of kinds) {
        for (const p of [c.base, c.module]) measure(servers[kind].proc, url(kind, p), 1, c.pipeline); // warm-up
      }
      for (let i = 0; i < ROUNDS; i++) {
        for (let k = 0; k < kinds.length; k++) {
          const kind = kinds[(i + k) % kinds.length]!;
          await waitQuiet();
          const cpu = (p: string) =>
            measure(servers[kind].proc, url(kind, p), DURATION, c.pipeline, false).cpuUsPerReq;
          const [a1, b1, b2, a2] = [cpu(c.base), cpu(c.module), cpu(c.module), cpu(c.base)];
          rounds[kind].push({ base: (a1 + a2) / 2, module: (b1 + b2) / 2 });
        }
      }
      for (const kind of kinds) {
        const rs = rounds[kind];
        const added = rs.map((r) => r.module - r.base);
        const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
        lines.push(
          `| ${c.name} | ${kind === 'nginx' ? (c.nginxName ?? kind) : kind} | ${median(rs.map((r) => r.base)).toFixed(1)} | ${median(rs.map((r) => r.module)).toFixed(1)} | **${sign(median(added))}** | ${sign(Math.min(...added))} … ${sign(Math.max(...added))} |`,
        );
      }
      console.error(`${c.name}: ${JSON.stringify(rounds)}`);
    }
  } finally {
    for (const s of Object.values(servers)) s.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (values.out) writeFileSync(values.out, text);
}

await main();
