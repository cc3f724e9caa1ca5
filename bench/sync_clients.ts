// bench/sync.ts's clients: an HTTP/1.1 pipeline and a zone_sync probe peer, used from its main
// thread and from its worker threads.
import net from 'node:net';
import { type CatalogueEntry, FrameDecoder, FrameWriter } from '../src/stream/zone_sync/codec.ts';
import { RecordCursor } from '../src/stream/zone_sync/frame_parser.ts';
import { now } from './sync_haproxy.ts';

export const PROBE_MAX_FRAME = 16 * 1024 * 1024;

/** What a bench worker thread talks to: a node's address, and the key prefix of this measure. */
export interface WorkerTarget {
  host: string;
  port: number;
  prefix: string;
}

/** HTTP/1.1 keep-alive with pipelining: requests are written at once, answers matched in order. */
export class Pipeline {
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
export class ProbePeer {
  readonly sock: net.Socket;
  /** Each record received: its key is bytes[start, end), read with no object made per record. */
  onRecord: (bytes: Uint8Array, start: number, end: number, at: number) => void = () => {};
  private readonly cursor = new RecordCursor();
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
        const r = this.cursor.reset(f.records);
        while (r.next()) this.onRecord(r.bytes, r.keyStart, r.keyStart + r.keyLength, at);
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
