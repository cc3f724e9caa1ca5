// zone_sync on loopback, one run: node bench/sync.ts   (prints a markdown table)
//
// Three real nodes (127.0.0.100-102, DNS-found, zone_sync_interval 100ms) and, for comparison,
// HAProxy's peers stick-table replication (two haproxy processes, as the baseline measured it).
//
// How each number is taken:
// - Propagation A → B at 10,000 updates/s. Writes go to A through the keyval variable (`set $kv`)
//   on 8 pipelined keep-alive connections: an HTTP request per update as with the API, without
//   JSON. "B" is a protocol-level peer living in the bench process (ProbePeer): it handshakes with A
//   like a node, so A ships it exactly what it ships node B, and it timestamps each record as its
//   frame is decoded. Write time and arrival time are read from one monotonic clock (performance.now,
//   µs resolution), with no polling: the number is A's request handling + pending set + flush + the
//   socket + decoding; B's zone apply is not in it (a zone-store write, microseconds: bench/zones.ts).
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
import net from 'node:net';
import os from 'node:os';
import { type CatalogueEntry, FrameDecoder, FrameWriter } from '../src/stream/zone_sync/codec.ts';
import { type Cluster, standardConf, standardFiles, startCluster } from '../test/helpers/cluster.ts';
import { haproxyPeers, ms, now, pct, perSec, sleep } from './sync_haproxy.ts';

const BASE = 100;
const PROBE_MAX_FRAME = 16 * 1024 * 1024;
const rows: string[][] = [];
const row = (...cells: (string | number)[]) => {
  rows.push(cells.map(String));
  console.error(`  ${cells.join(' | ')}`);
};

/** HTTP/1.1 keep-alive with pipelining: requests are written at once, answers matched in order. */
class Pipeline {
  private readonly sock: net.Socket;
  private readonly waiting: ((r: { status: number; body: string }) => void)[] = [];
  private buf: Buffer = Buffer.alloc(0);
  constructor(host: string, port: number) {
    this.sock = net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.on('data', (d: Buffer) => this.read(d));
    this.sock.on('error', (e) => console.error(`pipeline ${host}: ${e.message}`));
    // A request without an answer would hang the run: fail loudly instead.
    this.sock.on('close', () => {
      if (this.waiting.length > 0)
        console.error(`pipeline ${host}: closed with ${this.waiting.length} unanswered`);
      for (const w of this.waiting.splice(0)) w({ status: 0, body: '' });
    });
  }
  /** Resolves once connected. */
  ready(): Promise<void> {
    return this.sock.connecting
      ? new Promise((r) => this.sock.once('connect', () => r()))
      : Promise.resolve();
  }
  get pending(): number {
    return this.waiting.length;
  }
  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.sock.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
    });
  }
  private read(d: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.subarray(end + 4, end + 4 + length).toString();
      this.buf = this.buf.subarray(end + 4 + length);
      this.waiting.shift()?.({ status: Number(head.slice(9, 12)), body });
    }
  }
  close() {
    this.waiting.length = 0; // unanswered at the end: not an error
    this.sock.destroy();
  }
}

/**
 * A zone_sync peer in this process: handshakes as a node would, mirrors the node's catalogue,
 * answers PING and acknowledges snapshot chunks, reports every record it receives, and can push
 * records into a zone.
 */
class ProbePeer {
  readonly sock: net.Socket;
  onRecord: (key: string, at: number) => void = () => {};
  private readonly writer = new FrameWriter();
  /** The probe announces 16 MiB frames in its HELLO: its decoder must take them. */
  private readonly decoder = new FrameDecoder({ maxFrame: PROBE_MAX_FRAME });
  private catalogue: CatalogueEntry[] = [];
  private ready!: () => void;
  readonly established = new Promise<void>((r) => {
    this.ready = r;
  });
  private counter = 0;
  private readonly nodeId = 40_000 + Math.floor(Math.random() * 20_000);

  constructor(host: string, port: number) {
    this.sock = net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.on('error', (e) => console.error(`probe ${host}: ${e.message}`));
    this.writer.preamble();
    this.writer.hello({
      instanceId: BigInt(Math.floor(Math.random() * 2 ** 48) + 1),
      nodeId: this.nodeId,
      wall: Date.now(),
      maxFrame: PROBE_MAX_FRAME,
      snapshotWindow: 16 * 1024 * 1024,
      timeoutMs: 60_000,
      nodeName: 'bench-probe',
    });
    this.sock.write(this.writer.take());
    this.sock.on('data', (d: Buffer) => this.read(d));
    // A silent peer is dropped after zone_sync_timeout: say something twice a second.
    const ping = setInterval(() => {
      if (this.writer.length === 0 && this.sock.writableLength === 0) {
        this.writer.ping(Date.now());
        this.sock.write(this.writer.take());
      }
    }, 500);
    this.sock.on('close', () => clearInterval(ping));
  }

  private read(d: Buffer) {
    const at = now();
    let ack = 0;
    for (const f of this.decoder.push(d)) {
      if (f.type === 'hello') this.writer.maxFrame = f.maxFrame;
      else if (f.type === 'catalogue') {
        this.catalogue = f.entries;
        this.writer.catalogue(f.generation, f.entries);
        for (const e of f.entries) {
          this.writer.snapshotBegin(e.index);
          this.writer.snapshotEnd(e.index, 0);
        }
        this.writer.caughtUp(f.generation);
        this.ready();
      } else if (f.type === 'ping') this.writer.pong(f.wall, Date.now());
      else if (f.type === 'records' || f.type === 'snapshot-chunk') {
        for (const r of f.records) this.onRecord(Buffer.from(r.key).toString('latin1'), at);
        if (f.type === 'snapshot-chunk') ack += f.bytes;
      } else if (f.type === 'close') console.error(`probe: closed by node: ${f.reason}`);
    }
    if (ack > 0) this.writer.snapshotAck(ack);
    if (this.writer.length > 0) this.sock.write(this.writer.take());
  }

  /** Push `count` records `${prefix}${i}` into `zone` as RECORDS frames, honouring backpressure. */
  async push(zone: string, prefix: string, count: number) {
    const index = this.catalogue.find((e) => e.name === zone)?.index;
    if (index === undefined) throw new Error(`zone ${zone} not in the catalogue`);
    const value = Buffer.from('0123456789abcdef');
    const expireAt = Date.now() + 3_600_000;
    for (let i = 0; i < count; ) {
      this.writer.beginRecords('records', index);
      for (const end = Math.min(count, i + 10_000); i < end; i++) {
        const logical = ((this.counter++ & 0xffff) << 16) | this.nodeId;
        this.writer.record(Buffer.from(`${prefix}${i}`), value, Date.now(), logical >>> 0, expireAt, false);
      }
      this.writer.endRecords();
      if (!this.sock.write(this.writer.take())) await new Promise((r) => this.sock.once('drain', r));
    }
  }
  close() {
    this.sock.destroy();
  }
}

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
async function propagation(c: Cluster, rate: number, seconds: number, tag: string) {
  const [a, b] = [c.node(0), c.node(1)];
  const probe = new ProbePeer(a.address, c.syncPort);
  await probe.established;
  const sent = new Map<string, number>();
  const lat: number[] = [];
  /** When A's answer to each write was read: the write is committed on A. */
  const acked = new Map<string, number>();
  const arrived = new Map<string, number>();
  let lastAt = 0;
  probe.onRecord = (key, at) => {
    const t = sent.get(key);
    if (t !== undefined) {
      lat.push(at - t);
      arrived.set(key, at);
      lastAt = at;
      sent.delete(key);
    }
  };
  const writers = Array.from({ length: 8 }, () => new Pipeline(a.address, c.httpPort));
  const pollers = Array.from({ length: 4 }, () => new Pipeline(b.address, c.httpPort));
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
  await Promise.all([...writers, ...pollers].map((p) => p.ready()));
  const samples: Promise<unknown>[] = [];
  const start = now();
  let n = 0;
  while (now() - start < seconds * 1000) {
    const due = Math.floor(((now() - start) / 1000) * rate);
    for (; n < due; n++) {
      const key = `${tag}${n}`;
      const t = now();
      sent.set(key, t);
      void writers[n % writers.length].get(`/set?k=${key}&v=${n}`).then(() => acked.set(key, now()));
      const free = pollers.find((p) => p.pending === 0);
      if (n % 50 === 0 && free) samples.push(sample(free, key, t));
    }
    await sleep(1);
  }
  const elapsed = now() - start;
  const deadline = now() + 10_000;
  while (sent.size > 0 && now() < deadline) await sleep(10);
  await Promise.all(samples);
  for (const p of [...writers, ...pollers]) p.close();
  probe.close();
  // Commit → visible: from A's answer to the record's arrival (negative: it arrived first).
  const committed = [...arrived].flatMap(([k, at]) => (acked.has(k) ? [at - (acked.get(k) as number)] : []));
  return {
    lat,
    committed,
    missing: sent.size,
    writes: n,
    elapsed,
    polled,
    rttP50: pct(rtt, 50),
    spanMs: lastAt - start,
  };
}

async function zonesync() {
  console.error('starting three zonesync nodes ...');
  const c = await startCluster({
    base: BASE,
    size: 3,
    maxSize: 4,
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
    const busy = await propagation(c, 10_000, 5, 'lat-');
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
    const probes = [0, 1, 2].map((i) => new ProbePeer(c.node(i).address, c.syncPort));
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
    await Promise.all([probes[1].push('kv', 'bulk-', N), probes[2].push('kv', 'bulk-', N)]);
    await Promise.all([waitTotal(c, 1, base + N, 50, 300_000), waitTotal(c, 2, base + N, 50, 300_000)]);
    for (const p of probes) p.close();

    const want = await total(c, 0);
    const s0 = now();
    const d = await c.addNode();
    const listening = now();
    const s1 = await waitTotal(c, 3, want, 20, 600_000);
    row(
      'zonesync',
      `new node receives a ${(want / 1e6).toFixed(2)}M-record keyval snapshot`,
      ms(s1 - s0),
      `from spawn (${ms(s1 - listening)} after it listened); 3 peers × ${want.toLocaleString('en-US')} records`,
    );
    await c.stopNode(d.index);
    c.removeFromDns(d.index);

    const limit = await limitRatio(c, 100, 300, 10);
    row(
      'zonesync',
      'limit_req rate=100r/s sync, 3 × 300 r/s for 10 s',
      `admitted/limit ${limit.ratio.toFixed(3)}`,
      limit.detail,
    );
  } finally {
    await c.stop();
  }
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
await haproxyPeers(BASE, row);
console.log(
  `\nzone_sync on loopback, ${os.cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`,
);
console.log('| system | measure | result | notes |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
