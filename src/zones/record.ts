// The byte layout of one record inside a zone's SharedArrayBuffer, and the views that read it.
// A record is one slab chunk (16-aligned), so the two f64 fields are naturally aligned:
//
//   0  f64  expireAt    wall ms after which the record is gone; 0 = never
//   8  f64  wall        HLC stamp of the last write: wall ms ...
//  16  u32  logical     ... and counter << 16 | node id
//  20  u32  chain       next record in the same hash bucket (byte offset; 0 = end)
//  24  u32  prev        LRU neighbour towards the most recently used end (0 = none)
//  28  u32  next        LRU neighbour towards the least recently used end (0 = none)
//  32  u32  hash        hash of the key, compared before the key bytes
//  36  u16  keyLength
//  38  u16  flags       bit 0: tombstone (a delete that has to reach the other nodes)
//  40  u32  valueLength
//  44       key bytes, then value bytes (opaque to the store: the module's encoding)
//
// 44 bytes of overhead: a limit_req state (4-byte $binary_remote_addr, 16-byte value) is 64 bytes.
import { makeStamp, type Stamp, stampLogical, stampWall } from '../core/clock.ts';

export const R_EXPIRE = 0;
export const R_WALL = 8;
export const R_LOGICAL = 16;
export const R_CHAIN = 20;
export const R_PREV = 24;
export const R_NEXT = 28;
export const R_HASH = 32;
export const R_KEY_LENGTH = 36;
export const R_FLAGS = 38;
export const R_VALUE_LENGTH = 40;
export const RECORD_HEADER_BYTES = 44;
export const MAX_KEY_LENGTH = 0xffff;
export const F_TOMBSTONE = 1;

/** A record's content, copied out of the zone: safe to keep, send or compare later. */
export interface ZoneRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly stamp: Stamp;
  /** Wall ms; 0 = never expires. */
  readonly expireAt: number;
  /** A tombstone: the key was deleted at `stamp`; `value` is empty. */
  readonly deleted: boolean;
}

/**
 * A peer's record read in place from a received frame (zone_sync's RecordCursor): its key is
 * `bytes[keyStart, +keyLength)` and its value `bytes[valueStart, +valueLength)`, so a zone stores it
 * without making views. Valid only during the call it is passed to (the cursor moves on).
 */
export interface PlacedRecord extends ZoneRecord {
  readonly bytes: Uint8Array;
  readonly keyStart: number;
  readonly keyLength: number;
  readonly valueStart: number;
  readonly valueLength: number;
  readonly wall: number;
  readonly logical: number;
}

/**
 * A record with its stamp unpacked (wall, logical), the stamp's bigint built only when asked for:
 * what the change feed and the wire decoder hand out, so the hot paths never allocate a bigint.
 */
export class StampedRecord implements ZoneRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly wall: number;
  /** `counter << 16 | node id`. */
  readonly logical: number;
  readonly expireAt: number;
  readonly deleted: boolean;
  constructor(
    key: Uint8Array,
    value: Uint8Array,
    wall: number,
    logical: number,
    expireAt: number,
    deleted: boolean,
  ) {
    this.key = key;
    this.value = value;
    this.wall = wall;
    this.logical = logical;
    this.expireAt = expireAt;
    this.deleted = deleted;
  }
  get stamp(): Stamp {
    return makeStamp(this.wall, this.logical);
  }
}

/** The wall part of a record's stamp, without a bigint when the record carries it unpacked. */
export function recordWall(r: ZoneRecord): number {
  const wall = (r as { readonly wall?: unknown }).wall;
  return typeof wall === 'number' ? wall : stampWall(r.stamp);
}

/** The logical part (`counter << 16 | node`) of a record's stamp, as `recordWall`. */
export function recordLogical(r: ZoneRecord): number {
  const logical = (r as { readonly logical?: unknown }).logical;
  return typeof logical === 'number' ? logical >>> 0 : stampLogical(r.stamp);
}

/** Whether stamp (aWall, aLogical) orders after (bWall, bLogical): `a > b` on the packed stamps. */
export function stampAfter(aWall: number, aLogical: number, bWall: number, bLogical: number): boolean {
  return aWall > bWall || (aWall === bWall && aLogical >>> 0 > bLogical >>> 0);
}

/** Typed views over one zone's buffer; every field access goes through these. */
export class ZoneMemory {
  readonly sab: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.u8 = new Uint8Array(sab);
    this.u16 = new Uint16Array(sab, 0, sab.byteLength >> 1);
    this.u32 = new Uint32Array(sab, 0, sab.byteLength >> 2);
    this.i32 = new Int32Array(sab, 0, sab.byteLength >> 2);
    this.f64 = new Float64Array(sab, 0, sab.byteLength >> 3);
  }
}

/**
 * A record read in place: `key` and `value` are views into the zone's buffer, not copies. A view is
 * valid until the next change to the store (any set, delete or eviction may move or free the
 * record); keep `copy()` instead.
 */
export class RecordView implements ZoneRecord {
  /** Byte offset of the record in the zone's buffer. */
  readonly offset: number;
  private readonly m: ZoneMemory;
  constructor(memory: ZoneMemory, offset: number) {
    this.m = memory;
    this.offset = offset;
  }
  get key(): Uint8Array {
    const o = this.offset;
    return this.m.u8.subarray(
      o + RECORD_HEADER_BYTES,
      o + RECORD_HEADER_BYTES + this.m.u16[(o + R_KEY_LENGTH) >> 1],
    );
  }
  get value(): Uint8Array {
    const start = this.offset + RECORD_HEADER_BYTES + this.m.u16[(this.offset + R_KEY_LENGTH) >> 1];
    return this.m.u8.subarray(start, start + this.valueLength);
  }
  get valueLength(): number {
    return this.m.u32[(this.offset + R_VALUE_LENGTH) >> 2];
  }
  get expireAt(): number {
    return this.m.f64[(this.offset + R_EXPIRE) >> 3];
  }
  get wall(): number {
    return this.m.f64[(this.offset + R_WALL) >> 3];
  }
  get logical(): number {
    return this.m.u32[(this.offset + R_LOGICAL) >> 2];
  }
  get stamp(): Stamp {
    return makeStamp(this.wall, this.logical);
  }
  get deleted(): boolean {
    return (this.m.u16[(this.offset + R_FLAGS) >> 1] & F_TOMBSTONE) !== 0;
  }
  copy(): ZoneRecord {
    return {
      key: this.key.slice(),
      value: this.value.slice(),
      stamp: this.stamp,
      expireAt: this.expireAt,
      deleted: this.deleted,
    };
  }
}
