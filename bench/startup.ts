// Time from `npm start` to a meshed cluster: node bench/startup.ts [--runs 5]   (prints markdown)
//
// Each run spawns `npm start` in the repository (bin/zonesync cluster -p examples -c cluster.conf:
// three nodes on 127.0.0.1-3) and polls every node's GET /api/9/stream/zone_sync every 20 ms until
// each reports nodes_online = 2; the time is from the spawn (performance.now) to the first poll
// round that sees all three meshed. npm's own start-up (it runs on the system's node) is in it, as a
// reader typing `npm start` gets it. Then SIGINT to the process group (a Ctrl-C), wait until npm
// exited and every example address is free, and go again. The banner's time (the runner printed
// its walkthrough: every node started) is shown beside it.
//
// Node's compile cache is inherited by npm, the runner and the nodes when set:
// `NODE_COMPILE_CACHE=/tmp/zonesync-cc node bench/startup.ts` measures with it (the header says).
//
// Uses examples/cluster.conf's fixed addresses: takes the lock test/e2e/readme.test.ts takes.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDRESSES, alive, busy, lock } from '../test/helpers/example_cluster_lock.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLL_MS = 20;
const TIMEOUT_MS = 60_000;

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** nodes_online of the node at `address`, or -1 when it does not answer (yet). */
function online(address: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: address, port: 8090, path: '/api/9/stream/zone_sync', timeout: 1000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 ? JSON.parse(body).status.nodes_online : -1);
          } catch {
            resolve(-1);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(-1));
  });
}

function nodePids(): number[] {
  const pids: number[] = [];
  for (let i = 1; i <= 8; i++) {
    try {
      pids.push(Number(readFileSync(path.join(ROOT, `examples/nodes/${i}/logs/zonesync.pid`), 'latin1')));
    } catch {}
  }
  return pids.filter((p) => Number.isInteger(p) && p > 0);
}

let current: ChildProcess | null = null;
function killAll(): void {
  if (current?.pid !== undefined && current.exitCode === null && current.signalCode === null) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {}
  }
  for (const pid of nodePids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}
let release: (() => void) | undefined;
process.on('exit', () => {
  killAll();
  release?.();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    process.exit(130);
  });

async function run(): Promise<{ banner: number; meshed: number }> {
  const t0 = performance.now();
  const proc = spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  current = proc;
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  let output = '';
  let banner = Number.NaN;
  const collect = (d: Buffer) => {
    output += d;
    if (Number.isNaN(banner) && /^Try it:$/m.test(output)) banner = performance.now() - t0;
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  let meshed = Number.NaN;
  while (Number.isNaN(meshed)) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`npm start exited (${proc.exitCode ?? proc.signalCode}):\n${output}`);
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`not meshed after ${TIMEOUT_MS} ms:\n${output}`);
    const counts = await Promise.all(ADDRESSES.map(online));
    if (counts.every((n) => n === 2)) meshed = performance.now() - t0;
    else await sleep(POLL_MS);
  }
  const pids = nodePids();
  process.kill(-(proc.pid as number), 'SIGINT');
  await exited;
  current = null;
  for (let i = 0; pids.some(alive) || (await busy()).length > 0; i++) {
    if (i > 500) throw new Error(`the cluster did not stop: ${(await busy()).join(' ')}`);
    await sleep(20);
  }
  return { banner, meshed };
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

release = await lock(10 * 60_000);
const taken = await busy();
if (taken.length > 0) {
  console.error(`in use by something else: ${taken.join(' ')}`);
  process.exit(1);
}
const results: { banner: number; meshed: number }[] = [];
for (let i = 1; i <= RUNS; i++) {
  const r = await run();
  results.push(r);
  console.error(`  run ${i}: banner ${s(r.banner)}, meshed ${s(r.meshed)}`);
}
const meshed = results.map((r) => r.meshed);
const banner = results.map((r) => r.banner);
const cache = process.env.NODE_COMPILE_CACHE ? ', NODE_COMPILE_CACHE set' : '';
console.log(`| measure (${RUNS} runs, ${os.cpus().length} CPUs${cache}) | median | min | max |`);
console.log('|---|---|---|---|');
console.log(
  `| \`npm start\` → 3 nodes meshed (nodes_online = 2 on each) | ${s(median(meshed))} | ${s(Math.min(...meshed))} | ${s(Math.max(...meshed))} |`,
);
console.log(
  `| \`npm start\` → banner printed (every node started) | ${s(median(banner))} | ${s(Math.min(...banner))} | ${s(Math.max(...banner))} |`,
);
