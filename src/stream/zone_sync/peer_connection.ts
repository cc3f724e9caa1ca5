// One zone_sync connection, either direction (docs/protocol.md §5-§8): the handshake (preamble,
// HELLO, the node's identity checks, CATALOGUE), then snapshots both ways under the credit window,
// live RECORDS, PING/PONG and the silence timeout. Anything the peer gets wrong closes this
// connection only, logged with the reason; no record of a bad frame is applied.
import type { Socket } from 'node:net';
import { PROGRAM, VERSION } from '../../core/version.ts';
import type { ZoneRecord } from '../../zones/record.ts';
import type { LocalZone } from './catalogue.ts';
import { CloseCode, type Frame, FrameDecoder, FrameWriter, type Hello, ProtocolError } from './codec.ts';
import type { ConnectionHost } from './connection_host.ts';
import { RecordCursor, type WireRecords } from './frame_parser.ts';
import { Heartbeat } from './heartbeat.ts';
import { Outbound } from './outbound.ts';
import { type MatchChange, PeerZones } from './peer_zones.ts';

/** Records applied per event-loop turn before the socket pauses for a turn (§7). */
const RECORDS_PER_TURN = 10_000;
/**
 * Live records waiting for one peer that are written at once instead of at the end of the
 * event-loop turn. A turn that handles a backlog (a burst of pipelined requests after the process
 * got the CPU back) would otherwise hold every record until the last request of the burst is done:
 * at 10,000 writes/s that put hundreds of records in one frame and 15-30 ms between a write's answer
 * and its record leaving. Steady load batches about a dozen records a turn, below the cap.
 */
const LIVE_BATCH_RECORDS = 16;
/** How long a closing connection may take to flush its CLOSE. */
const LINGER_MS = 1000;

const CLOSE_NAMES = ['shutdown', 'protocol error', 'self', 'duplicate', 'node id conflict', 'timeout'];

export type ConnectionState = 'hello' | 'catalogue' | 'established' | 'closed';

export class PeerConnection {
  readonly outbound: boolean;
  state: ConnectionState = 'hello';
  /** It reached ESTABLISHED (its closing is a peer leaving, not a failed handshake). */
  wasEstablished = false;
  hello: Hello | undefined;
  /** The CLOSE code the peer sent, or we sent: why it ended (the dialer reads self/duplicate). */
  closeCode: number | undefined;
  readonly heartbeat: Heartbeat;
  readonly zones: PeerZones;
  private readonly socket: Socket;
  private readonly host: ConnectionHost;
  /** How the peer is named before its HELLO says better (the dialed or the remote address). */
  private readonly address: string;
  private readonly decoder: FrameDecoder;
  private readonly writer = new FrameWriter();
  private readonly cursor = new RecordCursor();
  private readonly out: Outbound;
  private frames: Iterator<Frame> | null = null;
  private ownGeneration = 0;
  private pendingAck = 0;
  private liveTimer: NodeJS.Timeout | undefined;
  private flushQueued = false;
  private socketError: string | undefined;
  private wasReady = false;
  private readonly rejections = new Set<string>();

  constructor(socket: Socket, host: ConnectionHost, options: { outbound: boolean; address: string }) {
    this.socket = socket;
    this.host = host;
    this.outbound = options.outbound;
    this.address = options.address;
    this.decoder = new FrameDecoder({ maxFrame: host.maxFrame });
    this.out = new Outbound(this.writer, (level, message) => host.log(level, message));
    this.heartbeat = new Heartbeat(host.timeoutMs, {
      ping: () => {
        if (this.hello === undefined) return;
        this.writer.ping(Date.now());
        this.send();
      },
      timedOut: () => {
        host.log('error', `zone_sync: peer ${this.name} timed out`);
        this.close(CloseCode.Timeout, 'timed out');
      },
      skewed: (offset) =>
        host.log('warn', `zone_sync: the clock of peer ${this.name} is ${offset} ms off this node's`),
    });
    this.zones = new PeerZones(
      (level, message) => host.log(level, message),
      () => this.name,
    );
  }

  /** The peer as logs name it: its NODE_NAME (its listen address) once known. */
  get name(): string {
    return this.outbound ? this.address : (this.hello?.nodeName ?? this.address);
  }

  get ready(): boolean {
    return this.state === 'established' && this.zones.ready;
  }

  /** The peer's address as the socket has it (a joiner is recognised by it: node.ts). */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** Live records waiting for this peer. */
  pendingKeys(index: number): Iterable<string> {
    return this.out.pendingKeys(index);
  }

  /** Send the preamble and HELLO, and start reading. */
  start(): void {
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('end', () => this.onEnd());
    s.on('error', (err: NodeJS.ErrnoException) => {
      this.socketError ??= err.code ? `${err.code}: ${err.message}` : err.message;
    });
    s.on('close', () => this.finish(this.socketError ?? 'connection closed'));
    s.on('drain', () => this.pump());
    this.writer.preamble();
    this.writer.hello({
      instanceId: this.host.instanceId,
      nodeId: this.host.nodeId,
      wall: Date.now(),
      maxFrame: this.host.maxFrame,
      snapshotWindow: this.host.snapshotWindow,
      timeoutMs: this.host.timeoutMs,
      nodeName: this.host.nodeName,
      software: `${PROGRAM}/${VERSION}`,
    });
    this.send();
    this.heartbeat.start();
  }

  /** A local change of a zone: queued when the zone flows to this peer, flushed soon. */
  addLive(index: number, record: ZoneRecord): void {
    if (this.state !== 'established' || !this.zones.matched.has(index)) return;
    this.out.addLive(index, record);
    // A full batch goes now (unless the socket has a backlog), the rest at the end of the turn.
    if (this.out.pendingRecords >= LIVE_BATCH_RECORDS) this.pump();
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.pump();
      });
    }
    // Never later than zone_sync_interval, whatever the socket's backlog.
    this.liveTimer ??= setTimeout(() => {
      this.liveTimer = undefined;
      this.pump(true);
    }, this.host.intervalMs).unref();
  }

  /** Our catalogue changed (a reload): the peer gets the new one, new matches are snapshotted. */
  setCatalogue(local: readonly LocalZone[]): void {
    if (this.state !== 'catalogue' && this.state !== 'established') return;
    const change = this.zones.setLocal(local);
    this.out.drop(change.removed);
    this.writer.catalogue(
      ++this.ownGeneration,
      local.map((z) => z.entry),
    );
    // A new generation always ends in its CAUGHT_UP, even with nothing new to snapshot.
    this.out.enqueue(change.added);
    this.pump();
    this.send();
  }

  /** Close on purpose: CLOSE with `code` first when given. */
  close(code: number | undefined, reason: string): void {
    if (this.state === 'closed') return;
    if (code !== undefined && !this.socket.destroyed) {
      this.closeCode = code;
      this.writer.close(code, reason);
      this.send();
    }
    this.finish(reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private finish(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.heartbeat.stop();
    clearTimeout(this.liveTimer);
    this.frames = null;
    this.host.closed(this, reason);
  }

  private onEnd(): void {
    try {
      this.decoder.end();
    } catch (err) {
      if (err instanceof ProtocolError) this.socketError = err.reason;
    }
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.heartbeat.read();
    if (this.state === 'closed') return;
    this.frames = this.decoder.push(chunk);
    this.readFrames();
  }

  /** Handle frames of the current chunk until the receive budget is spent, then yield a turn. */
  private readFrames(): void {
    let budget = RECORDS_PER_TURN;
    try {
      while (this.frames !== null) {
        const next = this.frames.next();
        if (next.done) {
          this.frames = null;
          break;
        }
        budget -= this.handle(next.value);
        if (budget <= 0 && this.state !== 'closed') {
          this.socket.pause();
          setImmediate(() => {
            this.readFrames();
            if (this.frames === null && this.state !== 'closed') this.socket.resume();
          });
          break;
        }
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.pendingAck > 0 && this.state !== 'closed') {
      this.writer.snapshotAck(this.pendingAck);
      this.pendingAck = 0;
      this.send();
    }
  }

  private fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.host.log(
        'error',
        `zone_sync: protocol error from peer ${this.name}: ${err.reason}, closing connection`,
      );
      this.close(CloseCode.ProtocolError, err.reason);
    } else {
      const message = (err as Error).message;
      this.host.log('alert', `zone_sync: peer ${this.name}: ${message}, closing connection`);
      this.close(CloseCode.ProtocolError, 'internal error');
    }
  }

  /** One frame; returns how many records it applied (the receive budget). */
  private handle(frame: Frame): number {
    if (this.state === 'closed') return 0;
    const type = frame.type;
    if (this.state === 'hello' && type !== 'preamble' && type !== 'hello' && type !== 'close') {
      throw new ProtocolError(`${type} frame before HELLO`);
    }
    if (this.state === 'catalogue' && !['catalogue', 'ping', 'pong', 'close'].includes(type)) {
      throw new ProtocolError(`${type} frame before CATALOGUE`);
    }
    switch (frame.type) {
      case 'preamble':
        return 0;
      case 'hello':
        this.onHello(frame);
        return 0;
      case 'catalogue':
        this.onCatalogue(this.zones.setPeer(frame.generation, frame.entries));
        return 0;
      case 'ping':
        this.writer.pong(frame.wall, Date.now());
        this.send();
        return 0;
      case 'pong':
        this.heartbeat.pong(frame.echo, frame.wall);
        return 0;
      case 'close':
        this.closeCode = frame.code;
        this.host.log(
          'info',
          `zone_sync: peer ${this.name} closed the connection: ${CLOSE_NAMES[frame.code] ?? frame.code}${frame.reason ? ` (${frame.reason})` : ''}`,
        );
        this.close(undefined, `closed by peer: ${CLOSE_NAMES[frame.code] ?? frame.code}`);
        return 0;
      case 'records':
        this.host.count('in', { frames: 1, bytes: frame.bytes });
        return this.apply(this.zones.zoneFor(frame.zone), frame.records);
      case 'snapshot-begin':
        this.zones.beginSnapshot(frame.zone);
        return 0;
      case 'snapshot-chunk': {
        this.host.count('in', { frames: 1, bytes: frame.bytes });
        const zone = this.zones.snapshotChunk(frame.zone, frame.records.length);
        this.pendingAck += frame.bytes;
        return this.apply(zone, frame.records);
      }
      case 'snapshot-end': {
        const done = this.zones.endSnapshot(frame.zone, frame.count);
        if (done !== null) {
          this.host.log(
            'info',
            `zone_sync: snapshot of zone "${done.name}" received from peer ${this.name}, ${done.count} records`,
          );
        }
        this.checkReady();
        return 0;
      }
      case 'snapshot-ack':
        this.out.ack(frame.bytes);
        this.pump();
        return 0;
      case 'caught-up':
        this.zones.caughtUpTo(frame.generation);
        this.checkReady();
        return 0;
    }
  }

  private onHello(hello: Hello): void {
    if (this.hello !== undefined) throw new ProtocolError('a second HELLO');
    this.hello = hello;
    this.writer.maxFrame = hello.maxFrame;
    this.out.window = hello.snapshotWindow;
    this.heartbeat.start(hello.timeoutMs);
    const refusal = this.host.admit(this, hello);
    if (refusal !== null) {
      this.host.log(refusal.level, `zone_sync: ${refusal.reason}`);
      this.close(refusal.code, refusal.reason);
      return;
    }
    this.state = 'catalogue';
    const local = this.host.localZones();
    this.zones.setLocal(local);
    this.writer.catalogue(
      ++this.ownGeneration,
      local.map((z) => z.entry),
    );
    this.send();
  }

  private onCatalogue(change: MatchChange): void {
    const first = this.state === 'catalogue';
    this.out.drop(change.removed);
    // The first catalogue always owes a CAUGHT_UP, even with nothing to snapshot.
    if (first || change.added.length > 0) this.out.enqueue(change.added);
    if (first) {
      this.state = 'established';
      this.wasEstablished = true;
      this.host.established(this);
    }
    this.pump();
  }

  /** Merge a frame's records (null zone: not synced here, dropped). Refusals are logged, not fatal. */
  private apply(zone: ReturnType<PeerZones['zoneFor']>, records: WireRecords): number {
    if (zone === null) return 0;
    // One clock reading for the frame: it is applied in one go, as if it arrived at that instant.
    const now = zone.now();
    const record = this.cursor.reset(records);
    while (record.next()) {
      if (zone.applyRemote(record, now) !== 'rejected') continue;
      // The zone's listeners saw the reason; log each kind once per connection.
      const key = zone.name;
      if (this.rejections.has(key)) continue;
      this.rejections.add(key);
      this.host.log('warn', `zone_sync: zone "${zone.name}" refused a record from peer ${this.name}`);
    }
    return records.length;
  }

  private checkReady(): void {
    if (this.wasReady || !this.zones.ready) return;
    this.wasReady = true;
    this.host.caughtUp(this);
  }

  /**
   * Write what is due, in the protocol's order: live RECORDS (held back while the socket has a
   * backlog, unless `force`: zone_sync_interval ran out), then snapshot pieces while the socket
   * takes them and the peer's credit allows. Control frames go out as they arise.
   */
  private pump(force = false): void {
    if (this.state !== 'established') return;
    const s = this.socket;
    if (this.out.pendingRecords > 0 && (force || !s.writableNeedDrain)) {
      this.host.count('out', this.out.writeLive());
      clearTimeout(this.liveTimer);
      this.liveTimer = undefined;
    }
    while (this.out.canSendSnapshot && !s.writableNeedDrain && !s.destroyed) {
      this.host.count('out', this.out.writeSnapshotPiece(this.ownGeneration));
      this.send();
    }
    this.send();
  }

  private send(): void {
    if (this.writer.length === 0 || this.socket.destroyed) return;
    this.heartbeat.wrote();
    this.socket.write(this.writer.take());
  }
}
