// Reads the body of one complete frame (docs/protocol.md §4). Every count and length is checked
// against the bytes between `start` and `end` before it is used, bodies must be consumed exactly,
// and any violation throws ProtocolError: a bad frame yields nothing, never a partial or wrong frame.
// RECORDS and SNAPSHOT_CHUNK bodies are validated whole here but not unpacked: the apply loop reads
// them in place with a RecordCursor, so a record costs no object and no Buffer views.
import { makeStamp, type Stamp } from '../../core/clock.ts';
import type { PlacedRecord } from '../../zones/record.ts';
import {
  type CatalogueEntry,
  type Frame,
  FrameType,
  HELLO_FIXED_BYTES,
  MAX_MAX_FRAME,
  MIN_MAX_FRAME,
  ProtocolError,
  RECORD_HEADER_BYTES,
  RECORDS_PREFIX_BYTES,
  Tlv,
  WireRecord,
} from './frames.ts';

const TWO_32 = 2 ** 32;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');
/** The smallest catalogue entry: index, 1-byte name and type with their lengths, version. */
const MIN_ENTRY_BYTES = 8;

const FRAME_NAMES: Readonly<Record<number, string>> = {
  [FrameType.Hello]: 'HELLO',
  [FrameType.Catalogue]: 'CATALOGUE',
  [FrameType.Ping]: 'PING',
  [FrameType.Pong]: 'PONG',
  [FrameType.Close]: 'CLOSE',
  [FrameType.Records]: 'RECORDS',
  [FrameType.SnapshotBegin]: 'SNAPSHOT_BEGIN',
  [FrameType.SnapshotChunk]: 'SNAPSHOT_CHUNK',
  [FrameType.SnapshotEnd]: 'SNAPSHOT_END',
  [FrameType.SnapshotAck]: 'SNAPSHOT_ACK',
  [FrameType.CaughtUp]: 'CAUGHT_UP',
};

/** Parse the body `b[start, end)` of a frame of type `type` that took `frameBytes` on the wire. */
export function parseFrame(
  type: number,
  b: Uint8Array,
  start: number,
  end: number,
  frameBytes: number,
): Frame {
  const size = end - start;
  switch (type) {
    case FrameType.Hello:
      return parseHello(b, start, end);
    case FrameType.Catalogue:
      return parseCatalogue(b, start, end);
    case FrameType.Ping:
      exact(type, size, 6);
      return { type: 'ping', wall: u48(b, start) };
    case FrameType.Pong:
      exact(type, size, 12);
      return { type: 'pong', echo: u48(b, start), wall: u48(b, start + 6) };
    case FrameType.Close:
      if (size < 2) throw short(type, size, 2);
      return { type: 'close', code: u16(b, start), reason: lenientUtf8.decode(b.subarray(start + 2, end)) };
    case FrameType.Records:
      return parseRecords('records', b, start, end, frameBytes);
    case FrameType.SnapshotChunk:
      return parseRecords('snapshot-chunk', b, start, end, frameBytes);
    case FrameType.SnapshotBegin:
      exact(type, size, 2);
      return { type: 'snapshot-begin', zone: u16(b, start) };
    case FrameType.SnapshotEnd:
      exact(type, size, 6);
      return { type: 'snapshot-end', zone: u16(b, start), count: u32(b, start + 2) };
    case FrameType.SnapshotAck: {
      exact(type, size, 4);
      const bytes = u32(b, start);
      if (bytes === 0) throw new ProtocolError('SNAPSHOT_ACK of 0 bytes');
      return { type: 'snapshot-ack', bytes };
    }
    case FrameType.CaughtUp:
      exact(type, size, 4);
      return { type: 'caught-up', generation: u32(b, start) };
  }
  // The decoder filters frame types before parsing; this guards a caller that does not.
  throw new ProtocolError(`unknown frame type 0x${type.toString(16)}`);
}

function parseHello(b: Uint8Array, start: number, end: number): Frame {
  if (end - start < HELLO_FIXED_BYTES) throw short(FrameType.Hello, end - start, HELLO_FIXED_BYTES);
  const instanceId = (BigInt(u32(b, start + 4)) << 32n) | BigInt(u32(b, start));
  if (instanceId === 0n) throw new ProtocolError('HELLO with instance id 0');
  const maxFrame = u32(b, start + 16);
  if (maxFrame < MIN_MAX_FRAME || maxFrame > MAX_MAX_FRAME) {
    throw new ProtocolError(`HELLO maxFrame ${maxFrame} outside ${MIN_MAX_FRAME}..${MAX_MAX_FRAME}`);
  }
  const snapshotWindow = u32(b, start + 20);
  const timeoutMs = u32(b, start + 24);
  if (snapshotWindow === 0 || timeoutMs === 0) throw new ProtocolError('HELLO with a zero window or timeout');
  let nodeName: string | undefined;
  let software: string | undefined;
  let p = start + HELLO_FIXED_BYTES;
  while (p < end) {
    if (end - p < 4) throw new ProtocolError(`${end - p} stray bytes after the HELLO TLVs`);
    const type = u16(b, p);
    const length = u16(b, p + 2);
    p += 4;
    if (length > end - p) throw new ProtocolError(`HELLO TLV ${type} of ${length} bytes runs past the frame`);
    if (type === Tlv.NodeName || type === Tlv.Software) {
      if ((type === Tlv.NodeName ? nodeName : software) !== undefined) {
        throw new ProtocolError(`HELLO TLV ${type} appears twice`);
      }
      if (length > 255) throw new ProtocolError(`HELLO TLV ${type} longer than 255 bytes`);
      const text = utf8(b, p, p + length, `HELLO TLV ${type}`);
      if (type === Tlv.NodeName) nodeName = text;
      else software = text;
    }
    p += length;
  }
  return {
    type: 'hello',
    instanceId,
    nodeId: u16(b, start + 8),
    wall: u48(b, start + 10),
    maxFrame,
    snapshotWindow,
    timeoutMs,
    nodeName,
    software,
  };
}

function parseCatalogue(b: Uint8Array, start: number, end: number): Frame {
  if (end - start < 6) throw short(FrameType.Catalogue, end - start, 6);
  const generation = u32(b, start);
  const count = u16(b, start + 4);
  let p = start + 6;
  if (count > (end - p) / MIN_ENTRY_BYTES) {
    throw new ProtocolError(`CATALOGUE of ${count} zones cannot fit in ${end - p} bytes`);
  }
  const entries: CatalogueEntry[] = [];
  const indexes = new Set<number>();
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    if (end - p < MIN_ENTRY_BYTES) throw new ProtocolError(`CATALOGUE entry ${i} is truncated`);
    const index = u16(b, p);
    const name = str8(b, p + 2, end, `CATALOGUE entry ${i} name`);
    p += 3 + name.bytes;
    const type = str8(b, p, end, `CATALOGUE entry ${i} type`);
    p += 1 + type.bytes;
    if (end - p < 2) throw new ProtocolError(`CATALOGUE entry ${i} is truncated`);
    const version = u16(b, p);
    p += 2;
    if (indexes.has(index)) throw new ProtocolError(`CATALOGUE lists zone index ${index} twice`);
    if (names.has(name.text)) throw new ProtocolError(`CATALOGUE lists zone "${name.text}" twice`);
    indexes.add(index);
    names.add(name.text);
    entries.push({ index, name: name.text, type: type.text, version });
  }
  if (p !== end) throw new ProtocolError(`${end - p} bytes after the last CATALOGUE entry`);
  return { type: 'catalogue', generation, entries };
}

function parseRecords(
  type: 'records' | 'snapshot-chunk',
  b: Uint8Array,
  start: number,
  end: number,
  frameBytes: number,
): Frame {
  const name = type === 'records' ? 'RECORDS' : 'SNAPSHOT_CHUNK';
  if (end - start < RECORDS_PREFIX_BYTES) throw new ProtocolError(`${name} of ${end - start} bytes`);
  const zone = u16(b, start);
  const count = u32(b, start + 2);
  let p = start + RECORDS_PREFIX_BYTES;
  // Every record takes at least its header and a 1-byte key.
  if (count > (end - p) / (RECORD_HEADER_BYTES + 1)) {
    throw new ProtocolError(`${name} of ${count} records cannot fit in ${end - p} bytes`);
  }
  const first = p;
  for (let i = 0; i < count; i++) {
    if (end - p < RECORD_HEADER_BYTES) throw new ProtocolError(`${name} record ${i} is truncated`);
    const flags = b[p];
    if (flags > 1) throw new ProtocolError(`${name} record ${i} has reserved flags 0x${flags.toString(16)}`);
    const k = b[p + 1] | (b[p + 2] << 8);
    const v = u32(b, p + 3);
    if (k === 0) throw new ProtocolError(`${name} record ${i} has an empty key`);
    if (flags === 1 && v !== 0) throw new ProtocolError(`${name} record ${i} is a tombstone with a value`);
    p += RECORD_HEADER_BYTES;
    if (k + v > end - p) {
      throw new ProtocolError(`${name} record ${i} (key ${k}, value ${v} bytes) runs past the frame`);
    }
    p += k + v;
  }
  if (p !== end) throw new ProtocolError(`${end - p} bytes after the last ${name} record`);
  return { type, zone, records: new WireRecords(b, first, count), bytes: frameBytes };
}

/**
 * The records of a RECORDS or SNAPSHOT_CHUNK frame, validated by parseRecords, in the received
 * bytes (which the decoder never writes to once handed out; they keep that chunk alive).
 */
export class WireRecords implements Iterable<WireRecord> {
  readonly data: Uint8Array;
  /** Offset of the first record in `data`. */
  readonly start: number;
  readonly length: number;
  constructor(data: Uint8Array, start: number, length: number) {
    this.data = data;
    this.start = start;
    this.length = length;
  }

  /** Each record as an object, key and value viewing `data` (for tests and tools; applying uses a cursor). */
  *[Symbol.iterator](): Generator<WireRecord> {
    for (const r = new RecordCursor().reset(this); r.next(); ) {
      yield new WireRecord(r.key, r.value, r.wall, r.logical, r.expireAt, r.deleted);
    }
  }
}

/**
 * Reads validated WireRecords one record at a time, in place: `next()` moves to the next record and
 * the fields describe it until the following call. Reused across frames; as a ZoneRecord it makes
 * its `key` and `value` views only when asked (a merge rule that reads the value).
 */
export class RecordCursor implements PlacedRecord {
  bytes: Uint8Array = new Uint8Array(0);
  keyStart = 0;
  keyLength = 0;
  valueStart = 0;
  valueLength = 0;
  wall = 0;
  logical = 0;
  expireAt = 0;
  deleted = false;
  /** Offset of the record `next()` reads. */
  private at = 0;
  private left = 0;

  reset(records: WireRecords): this {
    this.bytes = records.data;
    this.at = records.start;
    this.left = records.length;
    return this;
  }

  /** Move to the next record; false when there is none. */
  next(): boolean {
    if (this.left === 0) return false;
    this.left--;
    const b = this.bytes;
    const p = this.at;
    this.deleted = b[p] === 1;
    this.keyLength = u16(b, p + 1);
    this.valueLength = u32(b, p + 3);
    this.logical = u32(b, p + 7);
    this.wall = u48(b, p + 11);
    this.expireAt = u48(b, p + 17);
    this.keyStart = p + RECORD_HEADER_BYTES;
    this.valueStart = this.keyStart + this.keyLength;
    this.at = this.valueStart + this.valueLength;
    return true;
  }

  get key(): Uint8Array {
    return this.bytes.subarray(this.keyStart, this.keyStart + this.keyLength);
  }
  get value(): Uint8Array {
    return this.bytes.subarray(this.valueStart, this.valueStart + this.valueLength);
  }
  get stamp(): Stamp {
    return makeStamp(this.wall, this.logical);
  }
}

function exact(type: number, size: number, expected: number): void {
  if (size !== expected) {
    throw new ProtocolError(`${FRAME_NAMES[type]} body of ${size} bytes, expected ${expected}`);
  }
}

function short(type: number, size: number, min: number): ProtocolError {
  return new ProtocolError(`${FRAME_NAMES[type]} body of ${size} bytes, at least ${min} expected`);
}

function str8(b: Uint8Array, p: number, end: number, what: string): { text: string; bytes: number } {
  if (p >= end) throw new ProtocolError(`${what} is truncated`);
  const n = b[p];
  if (n === 0) throw new ProtocolError(`${what} is empty`);
  if (n > end - p - 1) throw new ProtocolError(`${what} of ${n} bytes runs past the frame`);
  return { text: utf8(b, p + 1, p + 1 + n, what), bytes: n };
}

function utf8(b: Uint8Array, start: number, end: number, what: string): string {
  try {
    return strictUtf8.decode(b.subarray(start, end));
  } catch {
    throw new ProtocolError(`${what} is not valid UTF-8`);
  }
}

function u16(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8);
}

export function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
}

function u48(b: Uint8Array, p: number): number {
  return u32(b, p) + u16(b, p + 4) * TWO_32;
}
