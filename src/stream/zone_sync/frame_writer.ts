// Encodes zone_sync frames (docs/protocol.md) into one growing batch buffer: a flush writes many
// frames, then `take()` hands the batch to the socket in one write. Taken bytes are never written
// again (the next batch continues after them, or in a new buffer when this one is full), so the
// socket may hold them as long as it likes; nothing is copied or allocated per record.

import {
  F_TOMBSTONE,
  R_EXPIRE,
  R_FLAGS,
  R_KEY_LENGTH,
  R_LOGICAL,
  R_VALUE_LENGTH,
  R_WALL,
  recordLogical,
  recordWall,
  RECORD_HEADER_BYTES as STORED_HEADER_BYTES,
  type ZoneMemory,
  type ZoneRecord,
} from '../../zones/record.ts';
import {
  type CatalogueEntry,
  DEFAULT_MAX_FRAME,
  FRAME_HEADER_BYTES,
  FrameType,
  HELLO_FIXED_BYTES,
  type Hello,
  MAGIC,
  MAX_KEY_LENGTH,
  MAX_U48,
  MAX_VERSION,
  MIN_VERSION,
  PREAMBLE_BYTES,
  RECORD_HEADER_BYTES,
  RECORDS_PREFIX_BYTES,
  Tlv,
} from './frames.ts';

const TWO_32 = 2 ** 32;
const DEFAULT_CAPACITY = 64 * 1024;

export interface FrameWriterOptions {
  /** Initial buffer size; it grows when a batch needs more. */
  readonly capacity?: number;
  /** The peer's HELLO maxFrame: no frame written is larger. */
  readonly maxFrame?: number;
}

export class FrameWriter {
  /** The largest frame the peer accepts; set it from the peer's HELLO. */
  maxFrame: number;
  /** RECORDS and SNAPSHOT_CHUNK frames completed so far (what the API counts as messages). */
  recordFrames = 0;
  private buf: Buffer;
  /** Start of the batch not yet taken. */
  private start = 0;
  private pos = 0;
  /** The open RECORDS/SNAPSHOT_CHUNK frame: its offset (-1 = none), type, zone, size cap, count. */
  private frameStart = -1;
  private recordsType = 0;
  private zone = 0;
  private frameLimit = 0;
  private count = 0;

  constructor(options: FrameWriterOptions = {}) {
    this.buf = Buffer.allocUnsafe(options.capacity ?? DEFAULT_CAPACITY);
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.pos - this.start;
  }

  /** The batch so far, to write to the socket. No records frame may be open. */
  take(): Buffer {
    if (this.frameStart >= 0) throw new Error('take() with a records frame open');
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  preamble(minVersion = MIN_VERSION, maxVersion = MAX_VERSION): void {
    this.ensure(PREAMBLE_BYTES);
    const b = this.buf;
    b.set(MAGIC, this.pos);
    b[this.pos + 4] = minVersion;
    b[this.pos + 5] = maxVersion;
    b[this.pos + 6] = 0;
    b[this.pos + 7] = 0;
    this.pos += PREAMBLE_BYTES;
  }

  hello(hello: Hello): void {
    if (hello.instanceId <= 0n || hello.instanceId >= 1n << 64n) throw new RangeError('instance id');
    const name = tlvValue(hello.nodeName);
    const software = tlvValue(hello.software);
    const tlvs = (name ? 4 + name.length : 0) + (software ? 4 + software.length : 0);
    const o = this.open(FrameType.Hello, HELLO_FIXED_BYTES + tlvs);
    const b = this.buf;
    b.writeBigUInt64LE(hello.instanceId, o);
    this.u16(o + 8, hello.nodeId);
    this.u48(o + 10, hello.wall);
    this.u32(o + 16, hello.maxFrame);
    this.u32(o + 20, hello.snapshotWindow);
    this.u32(o + 24, hello.timeoutMs);
    let p = o + HELLO_FIXED_BYTES;
    for (const [type, value] of [
      [Tlv.NodeName, name],
      [Tlv.Software, software],
    ] as const) {
      if (value === undefined) continue;
      this.u16(p, type);
      this.u16(p + 2, value.length);
      b.set(value, p + 4);
      p += 4 + value.length;
    }
  }

  catalogue(generation: number, entries: readonly CatalogueEntry[]): void {
    const encoded = entries.map((e) => ({ e, name: str8(e.name, 'zone name'), type: str8(e.type, 'type') }));
    const size = encoded.reduce((n, x) => n + 4 + x.name.length + 2 + x.type.length, 6);
    let p = this.open(FrameType.Catalogue, size);
    this.u32(p, generation);
    this.u16(p + 4, entries.length);
    p += 6;
    for (const { e, name, type } of encoded) {
      this.u16(p, e.index);
      this.buf[p + 2] = name.length;
      this.buf.set(name, p + 3);
      p += 3 + name.length;
      this.buf[p] = type.length;
      this.buf.set(type, p + 1);
      p += 1 + type.length;
      this.u16(p, e.version);
      p += 2;
    }
  }

  ping(wall: number): void {
    this.u48(this.open(FrameType.Ping, 6), wall);
  }

  pong(echo: number, wall: number): void {
    const o = this.open(FrameType.Pong, 12);
    this.u48(o, echo);
    this.u48(o + 6, wall);
  }

  close(code: number, reason: string): void {
    const text = Buffer.from(reason, 'utf8').subarray(0, 1024);
    const o = this.open(FrameType.Close, 2 + text.length);
    this.u16(o, code);
    this.buf.set(text, o + 2);
  }

  snapshotBegin(zone: number): void {
    this.u16(this.open(FrameType.SnapshotBegin, 2), zone);
  }

  snapshotEnd(zone: number, count: number): void {
    const o = this.open(FrameType.SnapshotEnd, 6);
    this.u16(o, zone);
    this.u32(o + 2, count);
  }

  snapshotAck(bytes: number): void {
    this.u32(this.open(FrameType.SnapshotAck, 4), bytes);
  }

  caughtUp(generation: number): void {
    this.u32(this.open(FrameType.CaughtUp, 4), generation);
  }

  /**
   * Open a RECORDS (live) or SNAPSHOT_CHUNK frame for one zone. Records that would take the frame
   * past `frameLimit` bytes (a smaller cap suits snapshot chunks) continue in a new frame.
   */
  beginRecords(kind: 'records' | 'snapshot-chunk', zone: number, frameLimit = this.maxFrame): void {
    if (this.frameStart >= 0) throw new Error('a records frame is already open');
    this.recordsType = kind === 'records' ? FrameType.Records : FrameType.SnapshotChunk;
    this.zone = zone;
    this.frameLimit = Math.min(frameLimit, this.maxFrame);
    this.openRecords();
  }

  /**
   * Append one record to the open frame. False when it can never be sent: it would not fit a frame
   * of the peer's maxFrame (the caller logs and skips it, as NGINX does).
   */
  record(
    key: Uint8Array,
    value: Uint8Array,
    wall: number,
    logical: number,
    expireAt: number,
    deleted: boolean,
  ): boolean {
    if (this.frameStart < 0) throw new Error('record() without beginRecords()');
    const k = key.length;
    const v = value.length;
    if (k === 0 || k > MAX_KEY_LENGTH) throw new RangeError(`key length ${k}`);
    if (deleted && v !== 0) throw new RangeError('a tombstone carries no value');
    if (!(wall >= 0 && wall <= MAX_U48 && expireAt >= 0 && expireAt <= MAX_U48)) {
      throw new RangeError(`wall ${wall} or expireAt ${expireAt} out of range`);
    }
    const p = this.recordHeader(deleted, k, v, logical, wall, expireAt);
    if (p < 0) return false;
    copy(this.buf, p + RECORD_HEADER_BYTES, key, 0, k);
    copy(this.buf, p + RECORD_HEADER_BYTES + k, value, 0, v);
    return true;
  }

  /**
   * record() for the record at byte `off` of a zone's buffer (record.ts), read in place: the key
   * and value are copied once, from the zone's memory straight into the frame.
   */
  recordAt(m: ZoneMemory, off: number): boolean {
    const k = m.u16[(off + R_KEY_LENGTH) >> 1];
    const v = m.u32[(off + R_VALUE_LENGTH) >> 2];
    const deleted = (m.u16[(off + R_FLAGS) >> 1] & F_TOMBSTONE) !== 0;
    if (this.frameStart < 0) throw new Error('record() without beginRecords()');
    if (deleted && v !== 0) throw new RangeError('a tombstone carries no value');
    const wall = m.f64[(off + R_WALL) >> 3];
    const expireAt = m.f64[(off + R_EXPIRE) >> 3];
    if (k === 0 || !(wall >= 0 && wall <= MAX_U48 && expireAt >= 0 && expireAt <= MAX_U48)) {
      throw new RangeError(`key length ${k}, wall ${wall} or expireAt ${expireAt} out of range`);
    }
    const p = this.recordHeader(deleted, k, v, m.u32[(off + R_LOGICAL) >> 2], wall, expireAt);
    if (p < 0) return false;
    copy(this.buf, p + RECORD_HEADER_BYTES, m.u8, off + STORED_HEADER_BYTES, k + v);
    return true;
  }

  /**
   * Room for a record of key length k and value length v, in this frame or a new one, with its
   * header written; the offset where its key goes minus RECORD_HEADER_BYTES, or -1 if the record
   * is too big for any frame the peer accepts. The caller copies key and value behind it.
   */
  private recordHeader(
    deleted: boolean,
    k: number,
    v: number,
    logical: number,
    wall: number,
    expireAt: number,
  ): number {
    const size = RECORD_HEADER_BYTES + k + v;
    if (FRAME_HEADER_BYTES + RECORDS_PREFIX_BYTES + size > this.maxFrame) return -1;
    if (this.count > 0 && this.pos + size - this.frameStart > this.frameLimit) {
      this.endRecords();
      this.openRecords();
    }
    this.ensure(size);
    const b = this.buf;
    const p = this.pos;
    b[p] = deleted ? 1 : 0;
    b[p + 1] = k;
    b[p + 2] = k >>> 8;
    this.u32(p + 3, v);
    this.u32(p + 7, logical);
    this.u48(p + 11, wall);
    this.u48(p + 17, expireAt);
    this.pos = p + size;
    this.count++;
    return p;
  }

  /** record() for a record as the zones hand it out (a change, a snapshot copy). */
  addRecord(r: ZoneRecord): boolean {
    return this.record(r.key, r.value, recordWall(r), recordLogical(r), r.expireAt, r.deleted);
  }

  /** Close the open records frame; one that received no record is dropped. */
  endRecords(): void {
    const f = this.frameStart;
    if (f < 0) throw new Error('endRecords() without beginRecords()');
    if (this.count === 0) this.pos = f;
    else {
      this.recordFrames++;
      this.u32(f, this.pos - f - FRAME_HEADER_BYTES);
      this.u32(f + FRAME_HEADER_BYTES + 2, this.count);
    }
    this.frameStart = -1;
    this.count = 0;
  }

  private openRecords(): void {
    const o = this.open(this.recordsType, RECORDS_PREFIX_BYTES);
    this.frameStart = o - FRAME_HEADER_BYTES;
    this.u16(o, this.zone);
    this.count = 0;
  }

  /** Write a frame header for a body of `size` bytes; returns the body's offset. */
  private open(type: number, size: number): number {
    if (this.frameStart >= 0) throw new Error('a records frame is open');
    this.ensure(FRAME_HEADER_BYTES + size);
    const p = this.pos;
    this.u32(p, size);
    this.buf[p + 4] = type;
    this.pos = p + FRAME_HEADER_BYTES + size;
    return p + FRAME_HEADER_BYTES;
  }

  /** Room for `n` more bytes; a full buffer is left to the bytes already taken from it. */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length, 2 * (pending + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    if (this.frameStart >= 0) this.frameStart -= this.start;
    this.buf = next;
    this.pos = pending;
    this.start = 0;
  }

  private u16(p: number, x: number): void {
    this.buf[p] = x;
    this.buf[p + 1] = x >>> 8;
  }

  private u32(p: number, x: number): void {
    const b = this.buf;
    b[p] = x;
    b[p + 1] = x >>> 8;
    b[p + 2] = x >>> 16;
    b[p + 3] = x >>> 24;
  }

  private u48(p: number, x: number): void {
    const lo = x >>> 0;
    this.u32(p, lo);
    this.u16(p + 4, (x - lo) / TWO_32);
  }
}

/** Short keys and values are copied faster by hand than by TypedArray.set. */
function copy(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  if (n > 32) dst.set(src.subarray(from, from + n), at);
  else for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
}

function tlvValue(text: string | undefined): Buffer | undefined {
  if (text === undefined) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 255) throw new RangeError(`HELLO text longer than 255 bytes: ${text}`);
  return bytes;
}

function str8(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0 || bytes.length > 255) throw new RangeError(`${what} must be 1-255 bytes: ${text}`);
  return bytes;
}
