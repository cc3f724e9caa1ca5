// zone_sync on loopback, one run: node bench/sync.ts   (prints a markdown table)
//   [--nodes N]  cluster size (default 3; 2 is like for like with HAProxy's two peers)
//   [--only propagation,throughput,snapshot,limit,haproxy]  some measures only
//
// Three real nodes (127.0.0.100-102, DNS-found, zone_sync_interval 100ms) and, for comparison,
// HAProxy's peers stick-table replication (two haproxy processes, as the baseline measured it).
//
// How each number is taken:
// - Propagation A → B at 10,000 updates/s. Writes go to A through the keyval variable (`set $kv`)
//   on 8 pipelined keep-alive connections: an HTTP request per update as with the API, without
//   JSON. "B" is a protocol-level peer living in the bench process (ProbePeer): it handshakes with A
//   like a node, so A ships it exactly what it ships node B, and it timestamps each record as its
//   frame is decoded. Write time and arrival time are read from one monotonic clock (hrtime, shared
//   by threads), with no polling: the number is A's request handling + pending set + flush + the
//   socket + decoding; B's zone apply is not in it (a zone-store write, microseconds: bench/zones.ts).
//   The writes and the probe each run on a worker thread of their own that keeps no object per
//   write: on the main thread, the bench's own collections (pauses of 5-13 ms) used to fall between
//   an arrival and its timestamp.
//   A second figure starts the clock when A's answer to the write is read (the write is committed),
//   leaving A's HTTP queue out.
//   As a cross-check, sampled writes are also polled on the real node B (resolution: one poll RTT).
// - Throughput over one link: (a) 100,000 HTTP writes on A as fast as it takes them, until the last
//   reaches the probe peer (HAProxy's figure is the same shape); (b) a ProbePeer pushes RECORDS
//   frames of 1,000,000 distinct keys into A; the time until A's records_total holds them all.
// - Snapshot: with the 1,000,000 records on A, B and C, a fourth node is added to DNS; the time from
//   its spawn until its records_total holds them all (it receives three snapshots).
// - limit_req `rate=100r/s sync`, 300 r/s to each of the three nodes for 10 s: admitted / (rate × t).
// - HAProxy peers: single-entry propagation (poll `show table` on B; resolution one CLI RTT),
//   20,000 entries through A's frontend until B holds them, and B's full resync after a restart.

import { once } from 'node:events';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { type Cluster, standardConf, standardFiles, startCluster } from '../test/helpers/cluster.ts';
import { Pipeline, ProbePeer } from './sync_clients.ts';
import { haproxyPeers, ms, now, pct, perSec, sleep } from './sync_haproxy.ts';
import type { ProbeWorkerData } from './sync_probe_worker.ts';
import type { WriterWorkerData } from './sync_writer_worker.ts';

const BASE = 100;
const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '3' }, only: { type: 'string' } },
});
const NODES = Number(values.nodes);
const only = values.only?.split(',');
const wanted = (measure: string) => only === undefined || only.includes(measure);
const rows: string[][] = [];
const row = (...cells: (string | number)[]) => {
  rows.push(cells.map(String));
  console.error(`  ${cells.join(' | ')}`);
};

/** Duplicate connections (§5.2) with the node at `address` that the live nodes logged. */
const duplicates = (c: Cluster, address: string) =>
  c
    .live()
    .flatMap((n) => n.errorLog().split('\n'))
    .filter((l) => l.includes('duplicate connection') && l.includes(address)).length;

const total = async (c: Cluster, i: number, zone = 'kv') =>
  (await c.node(i).syncStatus()).zones[zone]?.records_total ?? 0;
async function waitTotal(c: Cluster, i: number, atLeast: number, pollMs: number, limitMs: number) {
  const deadline = now() + limitMs;
  while ((await total(c, i)) < atLeast) {
    if (now() > deadline) throw new Error(`node ${i}: records_total ${await total(c, i)} < ${atLeast}`);
    await sleep(pollMs);
  }
  return now();
}

/** Writes to A at `rate`/s for `seconds`, each timed to its arrival at a probe peer (and sampled on B). */
/** Run a bench worker thread until it posts its first message (which is returned). */
function runWorker<T>(file: string, data: unknown): { worker: Worker; first: Promise<T> } {
  const worker = new Worker(new URL(file, import.meta.url), { workerData: data });
  const first = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, first };
}

/**
 * Writes to A at `rate`/s for `seconds`, each seen arriving at a probe peer of A's. The writes
 * (sync_writer_worker.ts) and the probe (sync_probe_worker.ts) run on threads of their own and
 * stamp times into shared memory on one clock; this thread samples node B by polling meanwhile.
 */
async function propagation(c: Cluster, rate: number, seconds: number, tag: string, warmup = 0) {
  const [a, b] = [c.node(0), c.node(1)];
  const max = Math.ceil(rate * seconds);
  const shared = (bytes: number) => new SharedArrayBuffer(bytes);
  const probeData: ProbeWorkerData = {
    host: a.address,
    port: c.syncPort,
    prefix: tag,
    arrivals: shared(max * 8),
    received: shared(4),
  };
  const probe = runWorker<string>('./sync_probe_worker.ts', probeData);
  await probe.first;
  const writerData: WriterWorkerData = {
    host: a.address,
    port: c.httpPort,
    rate,
    seconds,
    warmup,
    prefix: tag,
    sentAt: shared(max * 8),
    ackedAt: shared(max * 8),
    progress: shared(4),
  };
  const arrivals = new Float64Array(probeData.arrivals);
  const received = new Int32Array(probeData.received);
  const sentAt = new Float64Array(writerData.sentAt);
  const ackedAt = new Float64Array(writerData.ackedAt);
  const progress = new Int32Array(writerData.progress);
  const pollers = Array.from({ length: 4 }, () => new Pipeline(b.address, c.httpPort));
  await Promise.all(pollers.map((p) => p.ready()));
  const polled: number[] = [];
  const rtt: number[] = [];
  const sample = async (p: Pipeline, key: string, t0: number) => {
    for (;;) {
      const q = now();
      const { status, body } = await p.get(`/kv?k=${key}`);
      rtt.push(now() - q);
      if (body !== '') return polled.push(now() - t0);
      if (status !== 200 || now() - t0 > 5000) return;
    }
  };
  const writer = runWorker<number>('./sync_writer_worker.ts', writerData);
  let done = false;
  let elapsed = 0;
  void writer.first.then((ms) => {
    done = true;
    elapsed = ms;
  });
  // every 50th write, while a poller is free, is also looked for on the real node B
  const samples: Promise<unknown>[] = [];
  for (let next = 0; !done; await sleep(1)) {
    for (const sent = Atomics.load(progress, 0); next < sent; next += 50) {
      const free = pollers.find((p) => p.pending === 0);
      if (free) samples.push(sample(free, `${tag}${next}`, sentAt[next]!));
    }
  }
  const writes = Atomics.load(progress, 0);
  const deadline = now() + 10_000;
  while (Atomics.load(received, 0) < writes && now() < deadline) await sleep(10);
  await Promise.all(samples);
  for (const p of pollers) p.close();
  probe.worker.postMessage('close');
  await Promise.all([once(probe.worker, 'exit'), once(writer.worker, 'exit')]);
  const lat: number[] = [];
  // Commit → visible: from A's answer to the record's arrival (negative: it arrived first).
  const committed: number[] = [];
  let lastAt = 0;
  for (let i = 0; i < writes; i++) {
    const at = arrivals[i]!;
    if (at === 0) continue;
    lat.push(at - sentAt[i]!);
    if (ackedAt[i]! > 0) committed.push(at - ackedAt[i]!);
    lastAt = Math.max(lastAt, at);
  }
  return {
    lat,
    committed,
    missing: writes - lat.length,
    writes,
    elapsed,
    polled,
    rttP50: pct(rtt, 50),
    spanMs: lastAt - sentAt[0]!,
  };
}

async function zonesync() {
  console.error(`starting ${NODES} zonesync nodes ...`);
  const c = await startCluster({
    base: BASE,
    size: NODES,
    maxSize: NODES + 1,
    // Pipelined connections carry many thousand requests each.
    conf: (n) =>
      standardConf(n, {
        rate: '100r/s',
        kvSize: '160m',
        timeout: '30s',
        http: 'keepalive_requests 100000000; keepalive_timeout 600s;',
      }),
    files: standardFiles,
  });
  try {
    if (wanted('propagation')) await propagations(c);
    if (wanted('throughput') || wanted('snapshot')) await throughputAndSnapshot(c);
    if (wanted('limit')) {
      const limit = await limitRatio(c, 100, 300, 10);
      row(
        'zonesync',
        `limit_req rate=100r/s sync, ${NODES} × 300 r/s for 10 s`,
        `admitted/limit ${limit.ratio.toFixed(3)}`,
        limit.detail,
      );
    }
  } finally {
    await c.stop();
  }
}

async function propagations(c: Cluster) {
  const idle = await propagation(c, 200, 1, 'idle-');
  row(
    'zonesync',
    'propagation A→B, idle (200 writes/s)',
    `p50 ${ms(pct(idle.lat, 50))}, p99 ${ms(pct(idle.lat, 99))}`,
    `${idle.lat.length} writes, ${idle.missing} missing; from the write's send`,
  );
  row(
    'zonesync',
    'same, from A committing the write',
    `p50 ${ms(pct(idle.committed, 50))}, p99 ${ms(pct(idle.committed, 99))}`,
    "from reading A's 204 to the record's arrival (negative: the record came first)",
  );
  // Three seconds at this rate go first, not counted: A's CPU profile shows it 86-98 % busy for
  // the first two (compiling its request and sync paths, growing its heap), 50-60 % after; and
  // the writer and probe threads are new isolates that compile too.
  const busy = await propagation(c, 10_000, 5, 'lat-', 3);
  row(
    'zonesync',
    'propagation A→B at 10,000 updates/s',
    `p50 ${ms(pct(busy.lat, 50))}, p99 ${ms(pct(busy.lat, 99))}, max ${ms(pct(busy.lat, 100))}`,
    `${busy.writes} writes at ${perSec(busy.writes, busy.elapsed)}, ${busy.missing} missing; from the write's send (A's HTTP queue included)`,
  );
  row(
    'zonesync',
    'same, from A committing the write',
    `p50 ${ms(pct(busy.committed, 50))}, p99 ${ms(pct(busy.committed, 99))}`,
    "from reading A's 204 to the record's arrival (negative: the record came first)",
  );
  row(
    'zonesync',
    'same, polled on the real node B (sampled)',
    `p50 ${ms(pct(busy.polled, 50))}, p99 ${ms(pct(busy.polled, 99))}`,
    `${busy.polled.length} samples, poll RTT p50 ${ms(busy.rttP50)} = resolution`,
  );
}

/** Replication over one link, then (unless only throughput is wanted) a new node's snapshot. */
async function throughputAndSnapshot(c: Cluster) {
  // As fast as A takes writes: 100,000 due at once, pipelined; until the last reaches the peer.
  const flood = await propagation(c, 50_000, 2, 'tp-');
  row(
    'zonesync',
    'replication throughput, one link (local writes on A → B)',
    perSec(flood.lat.length, flood.spanMs),
    `${flood.writes.toLocaleString('en-US')} HTTP writes, all on the peer after ${ms(flood.spanMs)}; ${flood.missing} missing`,
  );
  const N = 1_000_000;
  const base = await total(c, 0);
  const probes = c.live().map((n) => new ProbePeer(n.address, c.syncPort));
  await Promise.all(probes.map((p) => p.established));
  const t0 = now();
  await probes[0].push('kv', 'bulk-', N);
  const tw = now();
  const t1 = await waitTotal(c, 0, base + N, 20, 300_000);
  row(
    'zonesync',
    'replication throughput, one link (RECORDS pushed into A)',
    perSec(N, t1 - t0),
    `${N.toLocaleString('en-US')} records in ${ms(t1 - t0)} (written in ${ms(tw - t0)})`,
  );
  const others = probes
    .slice(1)
    .map((p, i) => p.push('kv', 'bulk-', N).then(() => waitTotal(c, i + 1, base + N, 50, 300_000)));
  await Promise.all(others);
  for (const p of probes) p.close();
  if (!wanted('snapshot')) return;

  const want = await total(c, 0);
  const s0 = now();
  const d = await c.addNode();
  const listening = now();
  const s1 = await waitTotal(c, d.index, want, 20, 600_000);
  row(
    'zonesync',
    `new node receives a ${(want / 1e6).toFixed(2)}M-record keyval snapshot`,
    ms(s1 - s0),
    `from spawn (${ms(s1 - listening)} after it listened); ${NODES} peers × ${want.toLocaleString('en-US')} records; ${duplicates(c, d.address)} duplicate connections`,
  );
  await c.stopNode(d.index);
  c.removeFromDns(d.index);
}

async function limitRatio(c: Cluster, rate: number, perNode: number, seconds: number) {
  const pipes = c.live().map((n) => new Pipeline(n.address, c.httpPort));
  const counts = pipes.map(() => ({ ok: 0, limited: 0 }));
  const replies: Promise<unknown>[] = [];
  const start = now();
  let n = 0;
  while (now() - start < seconds * 1000) {
    for (const due = Math.floor(((now() - start) / 1000) * perNode); n < due; n++) {
      pipes.forEach((p, i) => {
        replies.push(
          p.get('/rl?k=bench').then((r) => (r.status === 200 ? counts[i].ok++ : counts[i].limited++)),
        );
      });
    }
    await sleep(1);
  }
  const t = (now() - start) / 1000;
  await Promise.all(replies);
  for (const p of pipes) p.close();
  const admitted = counts.reduce((s, x) => s + x.ok, 0);
  const detail = `${counts.map((x) => x.ok).join('+')} = ${admitted} admitted of ${n * pipes.length} in ${t.toFixed(2)} s; ideal ${Math.round(rate * t)}`;
  return { ratio: admitted / (rate * t), detail };
}

// Killed: exit, so instance.ts's exit hook kills the nodes.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
await zonesync();
if (wanted('haproxy')) await haproxyPeers(BASE, row);
console.log(
  `\nzone_sync on loopback, ${os.cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`,
);
console.log('| system | measure | result | notes |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
