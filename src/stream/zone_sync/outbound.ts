// What one connection still has to send (docs/protocol.md §6-§8): live changes waiting per zone in a
// set keyed by record key (a key changed twice before a flush goes once, in its last state), and
// the snapshots of matched zones, read from the zone chunk by chunk as the peer's credit allows.
// It writes frames into the connection's FrameWriter; the connection decides when (priorities,
// socket backlog) and puts the bytes on the wire.
import type { Level } from '../../core/error_log.ts';
import { R_KEY_LENGTH, R_VALUE_LENGTH, type ZoneMemory, type ZoneRecord } from '../../zones/record.ts';
import type { Zone } from '../../zones/zone.ts';
import { type FrameWriter, ProtocolError } from './codec.ts';

/** Snapshot chunks are cut at about this size, so credit flows back smoothly (§7). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

/** Record frames written by one call: what the API counts as messages and bytes out. */
export interface Written {
  frames: number;
  bytes: number;
}

interface OpenSnapshot {
  readonly index: number;
  readonly zone: Zone;
  /** The zone's hash bucket the walk continues from (Zone.scanSnapshot); -1: all read. */
  bucket: number;
  count: number;
}

/** Records are read from the zone (under its lock) about this many bytes' worth at a time. */
const SCAN_BYTES = 512;

const latin1 = new TextDecoder('latin1');

export class Outbound {
  /** Snapshot bytes the peer accepts unacknowledged (its HELLO window). */
  window = 1;
  private readonly writer: FrameWriter;
  private readonly log: (level: Level, message: string) => void;
  /** Live changes by our zone index, then by key. */
  private readonly pending = new Map<number, Map<string, ZoneRecord>>();
  private pendingCount = 0;
  private readonly queue: { index: number; zone: Zone }[] = [];
  private open: OpenSnapshot | null = null;
  private inFlight = 0;
  /** A CAUGHT_UP is owed once the queued snapshots are sent. */
  private caughtUpOwed = false;

  constructor(writer: FrameWriter, log: (level: Level, message: string) => void) {
    this.writer = writer;
    this.log = log;
  }

  /** Live records waiting, all zones. */
  get pendingRecords(): number {
    return this.pendingCount;
  }

  /** Snapshot work queued or open, or a CAUGHT_UP owed. */
  get snapshotting(): boolean {
    return this.open !== null || this.queue.length > 0 || this.caughtUpOwed;
  }

  /** The keys waiting for `index` (the API's records_pending is their union over peers). */
  pendingKeys(index: number): Iterable<string> {
    return this.pending.get(index)?.keys() ?? [];
  }

  addLive(index: number, record: ZoneRecord): void {
    let zone = this.pending.get(index);
    if (zone === undefined) this.pending.set(index, (zone = new Map()));
    const key = latin1.decode(record.key);
    const size = zone.size;
    zone.set(key, record);
    this.pendingCount += zone.size - size;
  }

  /** Write every waiting live change as RECORDS frames (cut at the peer's maxFrame). */
  writeLive(): Written {
    const framesBefore = this.writer.recordFrames;
    const bytesBefore = this.writer.length;
    for (const [index, records] of this.pending) {
      this.writer.beginRecords('records', index);
      for (const record of records.values()) this.add(index, record);
      this.writer.endRecords();
    }
    this.pending.clear();
    this.pendingCount = 0;
    return { frames: this.writer.recordFrames - framesBefore, bytes: this.writer.length - bytesBefore };
  }

  /** Snapshot these zones (newly matched), then send CAUGHT_UP. */
  enqueue(zones: readonly { index: number; zone: Zone }[]): void {
    for (const z of zones) {
      // A zone matched anew while its snapshot runs starts over.
      if (this.open?.index === z.index) this.endOpen();
      if (!this.queue.some((q) => q.index === z.index)) this.queue.push(z);
    }
    this.caughtUpOwed = true;
  }

  /** Zones that stopped flowing: an open snapshot ends here, queued ones and live changes go. */
  drop(indexes: readonly number[]): void {
    for (const index of indexes) {
      if (this.open?.index === index) this.endOpen();
      const q = this.queue.findIndex((z) => z.index === index);
      if (q >= 0) this.queue.splice(q, 1);
      this.pendingCount -= this.pending.get(index)?.size ?? 0;
      this.pending.delete(index);
    }
  }

  /** Whether the credit window lets another chunk go (one always may when nothing is in flight). */
  get canSendSnapshot(): boolean {
    return this.snapshotting && (this.inFlight === 0 || this.inFlight + SNAPSHOT_CHUNK_BYTES <= this.window);
  }

  /**
   * Write the next piece of snapshot work: a chunk (with the BEGIN before it and the END after the
   * zone's last record), or the CAUGHT_UP `generation` when every snapshot is out.
   */
  writeSnapshotPiece(generation: number): Written {
    if (this.open === null) {
      const next = this.queue.shift();
      if (next === undefined) {
        if (this.caughtUpOwed) this.writer.caughtUp(generation);
        this.caughtUpOwed = false;
        return { frames: 0, bytes: 0 };
      }
      this.open = { ...next, bucket: 0, count: 0 };
      this.writer.snapshotBegin(next.index);
    }
    const open = this.open;
    const framesBefore = this.writer.recordFrames;
    const start = this.writer.length;
    // Frames may grow past the chunk size by one record: a chunk stops after the record that fills it.
    this.writer.beginRecords('snapshot-chunk', open.index);
    for (let room = SNAPSHOT_CHUNK_BYTES; open.bucket >= 0 && room > 0; ) {
      // As many records as fit the room left if each took SCAN_BYTES: the chunk overshoots little.
      open.bucket = open.zone.scanSnapshot(open.bucket, Math.ceil(room / SCAN_BYTES), this.visit);
      room = SNAPSHOT_CHUNK_BYTES - (this.writer.length - start);
    }
    const done = open.bucket < 0;
    this.writer.endRecords();
    const written = { frames: this.writer.recordFrames - framesBefore, bytes: this.writer.length - start };
    this.inFlight += written.bytes;
    if (done) this.endOpen();
    return written;
  }

  /** SNAPSHOT_ACK: credit back; more than is in flight breaks the protocol. */
  ack(bytes: number): void {
    if (bytes > this.inFlight) {
      throw new ProtocolError(`SNAPSHOT_ACK of ${bytes} bytes with ${this.inFlight} in flight`);
    }
    this.inFlight -= bytes;
  }

  private endOpen(): void {
    const open = this.open;
    if (open === null) return;
    this.writer.snapshotEnd(open.index, open.count);
    this.open = null;
  }

  /** A snapshot record, read in place from the open zone's memory (see Zone.scanSnapshot). */
  private readonly visit = (m: ZoneMemory, off: number): void => {
    const open = this.open as OpenSnapshot;
    if (this.writer.recordAt(m, off)) {
      open.count++;
      return;
    }
    const bytes = m.u16[(off + R_KEY_LENGTH) >> 1] + m.u32[(off + R_VALUE_LENGTH) >> 2];
    this.tooLarge(open.index, bytes);
  };

  /** One record; one too large for the peer's frames is logged and skipped, as NGINX does. */
  private add(index: number, record: ZoneRecord): boolean {
    if (this.writer.addRecord(record)) return true;
    this.tooLarge(index, record.key.length + record.value.length);
    return false;
  }

  private tooLarge(index: number, bytes: number): void {
    this.log(
      'error',
      `zone_sync: record of ${bytes} bytes in zone index ${index} does not fit the peer's frame of ${this.writer.maxFrame} bytes, skipped`,
    );
  }
}
