// The CPU a module adds per request, zonesync and Debian's nginx in the same run:
//   node bench/module_cost.ts [--duration 2] [--rounds 9] [--out FILE]
// Each server serves a base location and the same location with one module added. Two identical
// servers of a kind share CPU 0, and wrk (on CPU 1) loads the base location on one while it loads
// the module's location on the other, then the other way round: whatever the machine does in a
// window, it does to both sides of the difference. (Measured one after the other, even on the same
// process, the difference swung by ±2-5 µs with this shared machine's drift, more than the cost.)
// The cost is the median over rounds of (module - base), in CPU µs per request.
// - limit_req: on a try_files fallback (`return` answers in the rewrite phase, before limit_req
//   runs, in both servers), one key per client address in a 1m zone that never refuses; also with
//   16 requests pipelined per connection, where syscalls and wake-ups per request mostly vanish.
// - keyval: `return 200 $kv` with `keyval $arg_k $kv` over 10,000 keys, against `return 200 "v04321"`.
//   nginx has keyval only in NGINX Plus; its row is the nearest open equivalent, a `map` of the
//   same 10,000 keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  mainConf,
  measureTogether,
  median,
  pinToCpu0,
  type ServerKind,
  startServer,
  waitQuiet,
} from './http_harness.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '9' },
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

type Server = Awaited<ReturnType<typeof startServer>>;

/** Two servers of each kind, pinned to CPU 0; zonesync's keyval zones filled. */
async function startPairs(dir: string): Promise<Record<ServerKind, [Server, Server]>> {
  const pairs = {} as Record<ServerKind, [Server, Server]>;
  for (const kind of ['nginx', 'zonesync'] as const) {
    const pair: Server[] = [];
    for (let i = 0; i < 2; i++) {
      const server = await startServer(kind, (port) => conf(port, kind), dir);
      pair.push(server);
      pinToCpu0(server.proc.pid!);
      if (kind === 'zonesync') await fillKeyval(server.port);
    }
    pairs[kind] = pair as [Server, Server];
  }
  return pairs;
}

/** One round on a pair: [cost µs/req, base µs/req, module µs/req], each side having had each path once. */
async function round(pair: [Server, Server], c: Comparison, swap: boolean): Promise<number[]> {
  const [a, b] = swap ? [pair[1], pair[0]] : pair;
  const job = (s: Server, p: string) => ({ pid: s.proc.pid!, url: `http://127.0.0.1:${s.port}${p}` });
  const [aBase, bModule] = await measureTogether([job(a, c.base), job(b, c.module)], DURATION, c.pipeline);
  const [aModule, bBase] = await measureTogether([job(a, c.module), job(b, c.base)], DURATION, c.pipeline);
  const base = (aBase!.cpuUsPerReq + bBase!.cpuUsPerReq) / 2;
  const module = (aModule!.cpuUsPerReq + bModule!.cpuUsPerReq) / 2;
  return [module - base, base, module];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-bench-'));
  const pairs = await startPairs(dir);
  const lines = [
    `Run ${new Date().toISOString()}, wrk -t1 -c64 -d${DURATION}s, ${ROUNDS} rounds; two servers of a kind on CPU 0, one loaded on the base location while the other is on the module's, then swapped; cost = median over rounds of (module - base).`,
    '',
    "| module | server | base CPU µs/req | with module | added µs/req | rounds' range |",
    '|---|---|---:|---:|---:|---|',
  ];
  try {
    for (const c of COMPARISONS) {
      for (const kind of ['nginx', 'zonesync'] as const) {
        await measureTogether(
          pairs[kind].map((s) => ({ pid: s.proc.pid!, url: `http://127.0.0.1:${s.port}${c.module}` })),
          1,
          c.pipeline,
        ); // warm-up
        const rounds: number[][] = [];
        for (let i = 0; i < ROUNDS; i++) {
          await waitQuiet();
          rounds.push(await round(pairs[kind], c, i % 2 === 1));
        }
        const added = rounds.map((r) => r[0]!);
        const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
        lines.push(
          `| ${c.name} | ${kind === 'nginx' ? (c.nginxName ?? kind) : kind} | ${median(rounds.map((r) => r[1]!)).toFixed(1)} | ${median(rounds.map((r) => r[2]!)).toFixed(1)} | **${sign(median(added))}** | ${sign(Math.min(...added))} … ${sign(Math.max(...added))} |`,
        );
        console.error(`${c.name} ${kind}: ${JSON.stringify(rounds)}`);
      }
    }
  } finally {
    for (const pair of Object.values(pairs)) for (const s of pair) s.proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (values.out) writeFileSync(values.out, text);
}

await main();
