// A zone's records in one SharedArrayBuffer of exactly the declared size: a chained hash index, an
// LRU list and a slab allocator, all inside the buffer. No per-record JS objects exist, so memory is
// bounded by the zone size, garbage collection does not see the records, and another thread mapping
// the same buffer (`ZoneStore.attach`) sees the same store. Every public method takes the buffer's
// lock. The store is policy-free: stamps, expiry and tombstones are stored, never interpreted, except
// by `expire()`; what to do when full is the caller's choice (see zone.ts).
//
// Buffer layout:
//   0    store header, HEADER_WORDS u32 words (lock, magic, counts, LRU ends, bucket count, sweep cursor)
//   64   buckets: u32 record offsets (0 = empty), one per 320 bytes of zone
//   ...  the slab region (slab.ts) that holds the records (record.ts)

import { acquire, release } from './lock.ts';
import {
  F_TOMBSTONE,
  MAX_KEY_LENGTH,
  R_CHAIN,
  R_EXPIRE,
  R_FLAGS,
  R_HASH,
  R_KEY_LENGTH,
  R_LOGICAL,
  R_VALUE_LENGTH,
  R_WALL,
  RECORD_HEADER_BYTES,
  RecordView,
  ZoneMemory,
  type ZoneRecord,
} from './record.ts';
import { Slab, type SlabStats } from './slab.ts';
import { chainFind, chainUnlink } from './zone_chain.ts';
import { copyBytes, hashBytes, type Key, keyBytes } from './zone_key.ts';
import { lruMoveToHead, lruPushHead, lruUnlink, W_LRU_TAIL } from './zone_lru.ts';

export type { Key };

const W_LOCK = 0;
const W_MAGIC = 1;
const W_RECORDS = 2;
const W_TOMBSTONES = 3;
// words 4 and 5: W_LRU_HEAD, W_LRU_TAIL (zone_lru.ts)
const W_BUCKETS = 6;
const W_SWEEP = 7;
const W_BYTES = 8;
const HEADER_BYTES = 64;
const MAGIC = 0x7a6e3031; // "zn01": bump when the layout changes
/** One hash bucket per this many bytes of zone: chains of ~5 when full of 64-byte records (limit_req). */
const BYTES_PER_BUCKET = 320;

export interface WriteOptions {
  /** Wall ms after which the record expires; 0 or absent = never. */
  readonly expireAt?: number;
  /** The HLC stamp, unpacked (Hlc.wall / Hlc.logical); absent = 0. */
  readonly wall?: number;
  readonly logical?: number;
  /** Store a tombstone: the value must be empty. */
  readonly tombstone?: boolean;
}

export interface StoreStats extends SlabStats {
  /** Records, tombstones included. */
  records: number;
  tombstones: number;
  /** Bytes of chunks holding records. */
  bytesUsed: number;
}

export class ZoneStore {
  readonly memory: ZoneMemory;
  private readonly slab: Slab;
  private readonly bucketCount: number;
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;

  /** A new, empty store in a buffer of `size` bytes (the zone's declared size). */
  constructor(size: number);
  /** Map a buffer another store formatted (another thread's view of the same zone). */
  constructor(sab: SharedArrayBuffer);
  constructor(sizeOrBuffer: number | SharedArrayBuffer) {
    const init = typeof sizeOrBuffer === 'number';
    const sab = init ? new SharedArrayBuffer(sizeOrBuffer) : sizeOrBuffer;
    const m = (this.memory = new ZoneMemory(sab));
    this.u8 = m.u8;
    this.u16 = m.u16;
    this.u32 = m.u32;
    this.f64 = m.f64;
    this.bucketCount = Math.max(16, Math.floor(sab.byteLength / BYTES_PER_BUCKET));
    const slabStart = Math.ceil((HEADER_BYTES + this.bucketCount * 4) / 8) * 8;
    this.slab = new Slab(sab, slabStart, sab.byteLength - slabStart, init);
    if (init) {
      this.u32[W_MAGIC] = MAGIC;
      this.u32[W_BUCKETS] = this.bucketCount;
    } else if (this.u32[W_MAGIC] !== MAGIC || this.u32[W_BUCKETS] !== this.bucketCount) {
      throw new Error('not a zone store buffer (or one of another layout version)');
    }
  }

  static attach(sab: SharedArrayBuffer): ZoneStore {
    return new ZoneStore(sab);
  }

  /** Records, tombstones included. */
  get size(): number {
    return this.u32[W_RECORDS];
  }
  get tombstones(): number {
    return this.u32[W_TOMBSTONES];
  }
  get bytesUsed(): number {
    return this.u32[W_BYTES];
  }

  /** The record, tombstone or expired alike (the zone filters), or undefined. */
  get(key: Key): RecordView | undefined {
    const k = keyBytes(key);
    return this.getHashed(k, hashBytes(k));
  }

  /** The hash get/setHashed take for key bytes `key[start, end)` (one hash for a read and a write). */
  hashOf(key: Uint8Array, start = 0, end = key.length): number {
    return hashBytes(key, start, end);
  }

  /** get() of key bytes `k[start, +length)` whose hashOf() is `hash`. */
  getHashed(k: Uint8Array, hash: number, start = 0, length = k.length): RecordView | undefined {
    this.lock();
    try {
      const off = this.find(k, hash, start, length);
      return off === 0 ? undefined : new RecordView(this.memory, off);
    } finally {
      this.unlock();
    }
  }

  /**
   * Create or replace the record and make it the most recently used. 'full' when no chunk is free
   * (the old record, if any, is left as it was). Throws RangeError for a key over 65535 bytes.
   */
  set(key: Key, value: Uint8Array, options: WriteOptions = {}): 'ok' | 'full' {
    const k = keyBytes(key);
    return this.setHashed(k, hashBytes(k), value, options);
  }

  /** set() of key `k[kStart, +kLength)` whose hashOf() is `hash` to `value[vStart, +vLength)`. */
  setHashed(
    k: Uint8Array,
    hash: number,
    value: Uint8Array,
    options: WriteOptions = {},
    kStart = 0,
    kLength = k.length,
    vStart = 0,
    vLength = value.length,
  ): 'ok' | 'full' {
    if (kLength > MAX_KEY_LENGTH)
      throw new RangeError(`zone key of ${kLength} bytes exceeds ${MAX_KEY_LENGTH}`);
    const need = RECORD_HEADER_BYTES + kLength + vLength;
    this.lock();
    try {
      let off = this.find(k, hash, kStart, kLength);
      if (off !== 0 && this.slab.capacity(off) >= need) {
        lruUnlink(this.u32, off);
        if (this.u16[(off + R_FLAGS) >> 1] & F_TOMBSTONE) this.u32[W_TOMBSTONES]--;
      } else {
        const fresh = this.slab.alloc(need);
        if (fresh === 0) return 'full';
        if (off !== 0) this.unlink(off);
        off = fresh;
        this.u32[W_BYTES] += this.slab.capacity(off);
        this.u32[W_RECORDS]++;
        const b = this.bucketOf(hash);
        this.u32[(off + R_CHAIN) >> 2] = this.u32[b];
        this.u32[b] = off;
        this.u32[(off + R_HASH) >> 2] = hash;
        this.u16[(off + R_KEY_LENGTH) >> 1] = kLength;
        copyBytes(this.u8, off + RECORD_HEADER_BYTES, k, kStart, kLength);
      }
      this.stampAt(off, options);
      this.u16[(off + R_FLAGS) >> 1] = options.tombstone ? F_TOMBSTONE : 0;
      if (options.tombstone) this.u32[W_TOMBSTONES]++;
      this.u32[(off + R_VALUE_LENGTH) >> 2] = vLength;
      copyBytes(this.u8, off + RECORD_HEADER_BYTES + kLength, value, vStart, vLength);
      lruPushHead(this.u32, off);
      return 'ok';
    } finally {
      this.unlock();
    }
  }

  /**
   * set() of a same-length value in place: under the lock, `rewrite(memory, at)` reads k's value at
   * byte `at` and returns true once it wrote the new one there; the record then takes `stamp()`'s
   * expiry and stamp (keeps its own with no `stamp`) and becomes the most recently used, as set()
   * leaves it. 'absent' (rewrite not
   * called) for no record, a tombstone, a record with an expiry or a value not `length` bytes long.
   */
  updateHashed(
    k: Uint8Array,
    hash: number,
    length: number,
    rewrite: (memory: ZoneMemory, at: number) => boolean,
    stamp: (() => WriteOptions) | null,
  ): 'updated' | 'kept' | 'absent' {
    const { u16, u32, f64 } = this;
    this.lock();
    try {
      const off = this.find(k, hash);
      if (off === 0 || u32[(off + R_VALUE_LENGTH) >> 2] !== length) return 'absent';
      if (u16[(off + R_FLAGS) >> 1] & F_TOMBSTONE || f64[(off + R_EXPIRE) >> 3] !== 0) return 'absent';
      if (!rewrite(this.memory, off + RECORD_HEADER_BYTES + k.length)) return 'kept';
      if (stamp !== null) this.stampAt(off, stamp());
      lruMoveToHead(u32, off);
      return 'updated';
    } finally {
      this.unlock();
    }
  }

  /** Remove the record outright (no tombstone); false if absent. */
  delete(key: Key): boolean {
    const k = keyBytes(key);
    this.lock();
    try {
      const off = this.find(k, hashBytes(k));
      if (off !== 0) this.unlink(off);
      return off !== 0;
    } finally {
      this.unlock();
    }
  }

  /** Make the record the most recently used; false if absent. */
  touch(key: Key): boolean {
    const k = keyBytes(key);
    this.lock();
    try {
      const off = this.find(k, hashBytes(k));
      if (off !== 0) lruMoveToHead(this.u32, off);
      return off !== 0;
    } finally {
      this.unlock();
    }
  }

  /**
   * Remove up to `max` least recently used records, stopping at the first one `canEvict` refuses
   * (nginx's ngx_http_limit_req_expire walks its LRU queue the same way). Returns how many went.
   * `canEvict` runs under the store's lock: it may read the view but must not call the store.
   */
  evictLru(max: number, canEvict?: (record: RecordView) => boolean): number {
    this.lock();
    try {
      let n = 0;
      for (let tail = this.u32[W_LRU_TAIL]; n < max && tail !== 0; tail = this.u32[W_LRU_TAIL]) {
        if (canEvict && !canEvict(new RecordView(this.memory, tail))) break;
        this.unlink(tail);
        n++;
      }
      return n;
    } finally {
      this.unlock();
    }
  }

  /**
   * Remove records whose expiry is at or before `now`, visiting at most `maxVisits` buckets from
   * where the previous call stopped: repeated calls cover the whole zone at a bounded cost each.
   * Returns how many records went.
   */
  expire(now: number, maxVisits = this.bucketCount): number {
    this.lock();
    try {
      let removed = 0;
      let b = this.u32[W_SWEEP];
      for (let visits = Math.min(maxVisits, this.bucketCount); visits > 0; visits--) {
        for (let off = this.u32[(HEADER_BYTES >> 2) + b]; off !== 0; ) {
          const next = this.u32[(off + R_CHAIN) >> 2];
          const at = this.f64[(off + R_EXPIRE) >> 3];
          if (at !== 0 && at <= now) {
            this.unlink(off);
            removed++;
          }
          off = next;
        }
        b = b + 1 === this.bucketCount ? 0 : b + 1;
      }
      this.u32[W_SWEEP] = b;
      return removed;
    } finally {
      this.unlock();
    }
  }

  /** Remove every record. */
  clear(): void {
    this.lock();
    try {
      while (this.u32[W_LRU_TAIL] !== 0) this.unlink(this.u32[W_LRU_TAIL]);
    } finally {
      this.unlock();
    }
  }

  /**
   * Copies of all records, bucket by bucket; the lock is held while a bucket is copied, never
   * across a yield, so the consumer may change the store while iterating (a record written
   * meanwhile may or may not be seen; each record seen is consistent).
   */
  *records(): Generator<ZoneRecord> {
    const batch: ZoneRecord[] = [];
    const copy = (m: ZoneMemory, off: number) => batch.push(new RecordView(m, off).copy());
    for (let b = 0; b >= 0; batch.length = 0) {
      b = this.scan(b, 1, -Infinity, copy);
      yield* batch;
    }
  }

  /**
   * Visit the records whose expiry is after `now` (or never) in place, bucket by bucket from
   * `bucket`, until at least `minRecords` were visited or the buckets run out; returns the next
   * bucket, or -1 at the end. The lock is held during the call: `visit` reads the record at `off`
   * and must not call the store. As with records(), a record written between calls may be missed.
   */
  scan(
    bucket: number,
    minRecords: number,
    now: number,
    visit: (memory: ZoneMemory, off: number) => void,
  ): number {
    const { u32, f64, memory } = this;
    let b = bucket;
    let n = 0;
    this.lock();
    try {
      for (; b < this.bucketCount && n < minRecords; b++) {
        for (let off = u32[(HEADER_BYTES >> 2) + b]; off !== 0; off = u32[(off + R_CHAIN) >> 2]) {
          const at = f64[(off + R_EXPIRE) >> 3];
          if (at !== 0 && at <= now) continue;
          visit(memory, off);
          n++;
        }
      }
    } finally {
      this.unlock();
    }
    return b < this.bucketCount ? b : -1;
  }

  stats(): StoreStats {
    this.lock();
    try {
      return {
        ...this.slab.stats(),
        records: this.size,
        tombstones: this.tombstones,
        bytesUsed: this.bytesUsed,
      };
    } finally {
      this.unlock();
    }
  }

  private lock(): void {
    acquire(this.memory.i32, W_LOCK);
  }

  private unlock(): void {
    release(this.memory.i32, W_LOCK);
  }

  /** Word index of the bucket for `hash` (multiply-shift: any bucket count, no modulo). */
  private bucketOf(hash: number): number {
    return (HEADER_BYTES >> 2) + Math.floor((hash * this.bucketCount) / 4294967296);
  }

  private stampAt(off: number, options: WriteOptions): void {
    this.f64[(off + R_EXPIRE) >> 3] = options.expireAt ?? 0;
    this.f64[(off + R_WALL) >> 3] = options.wall ?? 0;
    this.u32[(off + R_LOGICAL) >> 2] = options.logical ?? 0;
  }

  private find(k: Uint8Array, hash: number, start = 0, length = k.length): number {
    return chainFind(this.memory, this.bucketOf(hash), k, start, length, hash);
  }

  /** Take the record out of its bucket and the LRU list and free its chunk. */
  private unlink(off: number): void {
    const u32 = this.u32;
    chainUnlink(u32, this.bucketOf(u32[(off + R_HASH) >> 2]), off);
    lruUnlink(u32, off);
    if (this.u16[(off + R_FLAGS) >> 1] & F_TOMBSTONE) u32[W_TOMBSTONES]--;
    u32[W_RECORDS]--;
    u32[W_BYTES] -= this.slab.capacity(off);
    this.slab.free(off);
  }
}
