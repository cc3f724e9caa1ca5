// HAProxy's peers stick-table replication, measured as the baseline did
// (/work/shared/reference/baseline/run-peers-test.sh): two haproxy processes sharing
// mypeers/src_rates, runtime API on unix sockets. Run from bench/sync.ts for its comparison rows.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { addressOf, commonFreePort } from '../test/helpers/cluster.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds on the monotonic clock, the same in every thread (performance.now() is not). */
export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : Number.NaN;
};
export const ms = (x: number) => `${x.toFixed(2)} ms`;
export const perSec = (n: number, millis: number) =>
  `${Math.round(n / (millis / 1000)).toLocaleString('en-US')}/s`;
type Row = (...cells: (string | number)[]) => void;

function haproxyConf(peers: string[], peerPort: number, httpPort: number): string {
  return `global
  nbthread 1
  maxconn 5000
  stats socket "\${RUN_DIR}/\${HAPROXY_LOCALPEER}.sock" mode 600 level admin
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
peers mypeers
${peers.map((a, i) => `  peer hap${'AB'[i]} ${a}:${peerPort}`).join('\n')}
  table src_rates type ip size 100k expire 60s store http_req_rate(10s),http_req_cnt,gpc0
frontend fe
  bind "\${BIND_ADDR}:${httpPort}"
  http-request track-sc0 src table mypeers/src_rates
  http-request return status 200 content-type text/plain string "ok"
`;
}

function cli(sock: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = net.connect(sock, () => c.end(`${cmd}\n`));
    c.on('data', (d) => {
      out += d;
    });
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

function hit(host: string, port: number, localAddress: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, localAddress, agent: false }, (r) => {
        r.resume();
        r.on('end', () => resolve());
      })
      .on('error', reject);
  });
}

export async function haproxyPeers(BASE: number, row: Row): Promise<void> {
  if (spawnSync('haproxy', ['-v']).status !== 0) {
    console.error('installing haproxy ...');
    spawnSync('apt-get', ['install', '-y', 'haproxy'], { stdio: 'ignore' });
  }
  if (spawnSync('haproxy', ['-v']).status !== 0)
    return row('haproxy', 'peers', 'n/a', 'haproxy not installable');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-peers-'));
  const addrs = [addressOf(BASE, 20), addressOf(BASE, 21)];
  const [peerPort, httpPort] = [await commonFreePort(addrs), await commonFreePort(addrs)];
  writeFileSync(path.join(dir, 'h.cfg'), haproxyConf(addrs, peerPort, httpPort));
  const procs: (ChildProcess | undefined)[] = [];
  const sock = (i: number) => path.join(dir, `hap${'AB'[i]}.sock`);
  const start = async (i: number) => {
    rmSync(sock(i), { force: true });
    procs[i] = spawn('haproxy', ['-db', '-L', `hap${'AB'[i]}`, '-f', path.join(dir, 'h.cfg')], {
      env: { ...process.env, BIND_ADDR: addrs[i], RUN_DIR: dir },
      stdio: 'ignore',
    });
    while (!existsSync(sock(i))) await sleep(10);
  };
  const stop = async (i: number) => {
    const p = procs[i];
    if (p && p.exitCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  };
  const used = async (i: number) =>
    Number(/used:(\d+)/.exec(await cli(sock(i), 'show table mypeers/src_rates'))?.[1] ?? 0);
  try {
    await start(0);
    await start(1);
    await sleep(3000); // the baseline's settle time: startup collisions and reconnects
    const lat: number[] = [];
    const rtt: number[] = [];
    for (let i = 1; i <= 200; i++) {
      const src = `127.1.${i >> 8}.${i & 255}`;
      const t0 = now();
      await hit(addrs[0], httpPort, src);
      for (;;) {
        const q = now();
        const seen = (await cli(sock(1), `show table mypeers/src_rates key ${src}`)).includes(`key=${src} `);
        rtt.push(now() - q);
        if (seen) break;
      }
      lat.push(now() - t0);
      await sleep(5);
    }
    row(
      'haproxy',
      'propagation A→B, idle (one entry at a time)',
      `p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}`,
      `200 entries; request + poll, CLI RTT p50 ${ms(pct(rtt, 50))} = resolution`,
    );
    // Bulk: entries created through A's runtime API (`set table`, 500 commands per CLI line), which
    // HAProxy replicates like any local update, so the client is not the bottleneck.
    const N = 50_000;
    const before = await used(1);
    const t0 = now();
    for (let i = 0; i < N; i += 500) {
      const keys = Array.from(
        { length: Math.min(500, N - i) },
        (_, k) => `127.2.${(i + k) >> 8}.${(i + k) & 255}`,
      );
      await cli(sock(0), keys.map((k) => `set table mypeers/src_rates key ${k} data.gpc0 1`).join(';'));
    }
    const sentMs = now() - t0;
    while ((await used(1)) < before + N) await sleep(5);
    const t1 = now();
    row(
      'haproxy',
      'replication throughput, one link (local writes on A → B)',
      perSec(N, t1 - t0),
      `${N.toLocaleString('en-US')} entries set on A in ${ms(sentMs)}; all on B after ${ms(t1 - t0)}`,
    );
    const want = await used(0);
    await stop(1);
    const r0 = now();
    await start(1);
    while ((await used(1)) < want) await sleep(5);
    row(
      'haproxy',
      `B restarted: full resync of ${want.toLocaleString('en-US')} entries`,
      ms(now() - r0),
      'from spawn',
    );
    row(
      'haproxy',
      'cluster-wide rate limit',
      'n/a',
      'peers replicate entries; each node limits on its own counters',
    );
  } finally {
    await stop(0);
    await stop(1);
    rmSync(dir, { recursive: true, force: true });
  }
}
