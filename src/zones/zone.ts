// A zone: a named, sized store owned by one module type (limit_req, keyval, sticky), with what
// zone_sync needs from it: a change feed of local writes stamped by the hybrid logical clock, a
// snapshot, and `applyRemote`, which merges a peer's record by the type's rule. Remote applies are
// not fed back into the change feed (that would echo them around the mesh); `onRemote` sees them.
import type { Clock, Hlc } from '../core/clock.ts';
import { systemClock } from '../core/clock.ts';
import type { Level } from '../core/error_log.ts';
import {
  MAX_KEY_LENGTH,
  type PlacedRecord,
  type RecordView,
  recordLogical,
  recordWall,
  StampedRecord,
  stampAfter,
  type ZoneMemory,
  type ZoneRecord,
} from './record.ts';
import { hashBytes, keyBytes } from './zone_key.ts';
import { type Key, type StoreStats, type WriteOptions, ZoneStore } from './zone_store.ts';

/** A peer's record wins ('take'), ours stays ('keep'), or the two combine into a new value. */
export type MergeDecision = 'take' | 'keep' | Uint8Array;

/** 'stale': the merge kept ours (or the record had expired); 'rejected': refused, see the reason. */
export type ApplyResult = 'applied' | 'stale' | 'rejected';

/** What a module supplies for its zones; the framework never looks inside values. */
export interface ZoneType {
  /** The owning module (`limit_req`): with name and size, what makes a zone reusable on reload. */
  readonly name: string;
  /** How nginx's logs name such a zone: `limit_req zone`, `sticky session zone`, `keyval zone`. */
  readonly logName: string;
  /** zone_sync's record-encoding version of this type (its CATALOGUE entry); default 1. */
  readonly syncVersion?: number;
  /**
   * Merge a peer's record into ours. `local` is undefined when we hold no live record; it may be a
   * tombstone. A merged value is stored with the greater of the two stamps.
   */
  merge(local: RecordView | undefined, remote: ZoneRecord): MergeDecision;
  /**
   * An allocation failed: free room by the module's nginx rule and return true to retry once
   * (limit_req: `zone.store.evictLru(1, notInUse)` then `evictLru(2, spent)`; sticky: log a warn,
   * `evictLru(1)`; keyval: `zone.store.expire(zone.now()) > 0`, never dropping live data). When the
   * retry fails too, the zone logs nginx's alert and the write returns 'full'.
   */
  onFull(zone: Zone): boolean;
  /**
   * Reload: the zone keeps its records; return nginx's error to refuse (limit_req: `limit_req "one"
   * uses the "$b" key while previously it used the "$a" key`). `previous`/`next` are ZoneDecl.params.
   */
  checkReuse?(zone: string, previous: unknown, next: unknown): string | undefined;
}

/**
 * Merge rule for keyval and sticky: the record with the greater HLC stamp wins, tombstones included.
 * Stamps end in the writer's node id, so two nodes never tie; an equal stamp is the same write again.
 */
export function lastWriterWins(local: RecordView | undefined, remote: ZoneRecord): MergeDecision {
  if (local === undefined) return 'take';
  return stampAfter(recordWall(remote), recordLogical(remote), local.wall, local.logical) ? 'take' : 'keep';
}

export type ZoneLog = (level: Level, message: string) => void;
export type ChangeListener = (change: ZoneRecord) => void;
export type RemoteListener = (record: ZoneRecord, result: ApplyResult, reason?: string) => void;

export interface ZoneOptions {
  readonly name: string;
  readonly type: ZoneType;
  /** The declared size in bytes: the zone's whole memory. */
  readonly size: number;
  readonly sync: boolean;
  /** The node's clock; shared by all zones of a process. */
  readonly hlc: Hlc;
  /** Wall time for expiry; the clock the Hlc was built with. Default: the system clock. */
  readonly clock?: Clock;
  readonly log?: ZoneLog;
  /** How long a tombstone of a record without expiry lives. Default: 1 hour. */
  readonly tombstoneTtlMs?: number;
}

const EMPTY = new Uint8Array(0);
const STALE: { readonly result: ApplyResult } = { result: 'stale' };
const APPLIED: { readonly result: ApplyResult } = { result: 'applied' };
const encoder = new TextEncoder();

export class Zone {
  readonly name: string;
  readonly type: ZoneType;
  readonly size: number;
  readonly sync: boolean;
  readonly store: ZoneStore;
  readonly hlc: Hlc;
  /** ` in limit_req zone "one"`: nginx's log context, appended to allocation errors. */
  readonly logContext: string;
  private readonly clock: Clock;
  private readonly logger: ZoneLog | undefined;
  private readonly tombstoneTtlMs: number;
  private readonly changeListeners = new Set<ChangeListener>();
  private readonly remoteListeners = new Set<RemoteListener>();
  /** A local write's stamp for ZoneStore.updateHashed; reused, as the store reads it at once. */
  private readonly stamp = { wall: 0, logical: 0 };
  private readonly stampLocal = (): WriteOptions => {
    this.hlc.advance();
    this.stamp.wall = this.hlc.wall;
    this.stamp.logical = this.hlc.logical;
    return this.stamp;
  };

  constructor(options: ZoneOptions) {
    this.name = options.name;
    this.type = options.type;
    this.size = options.size;
    this.sync = options.sync;
    this.hlc = options.hlc;
    this.clock = options.clock ?? systemClock;
    this.logger = options.log;
    this.tombstoneTtlMs = options.tombstoneTtlMs ?? 3_600_000;
    this.logContext = ` in ${options.type.logName} "${options.name}"`;
    this.store = new ZoneStore(options.size);
  }

  /** Wall ms by the zone's clock. */
  now(): number {
    return this.clock.now();
  }

  log(level: Level, message: string): void {
    this.logger?.(level, message);
  }

  /** The live record for `key`; tombstones and expired records read as absent (and expired go). */
  get(key: Key): RecordView | undefined {
    const k = keyBytes(key);
    return this.getHashed(k, hashBytes(k));
  }

  /** get() of key bytes whose store.hashOf() is `hash`. */
  getHashed(k: Uint8Array, hash: number): RecordView | undefined {
    const record = this.store.getHashed(k, hash);
    if (record === undefined || record.deleted) return undefined;
    const at = record.expireAt;
    if (at !== 0 && at <= this.clock.now()) {
      this.store.delete(k);
      return undefined;
    }
    return record;
  }

  /** A local write: stamp it, store it as the most recently used, feed it to the listeners. */
  set(key: Key, value: Uint8Array, expireAt = 0): 'ok' | 'full' {
    // A fed change needs the key's bytes anyway: encode a string once, for the store and the feed.
    const own = typeof key === 'string' && this.changeListeners.size > 0;
    const k = own ? encoder.encode(key as string) : keyBytes(key);
    return this.setLocal(k, hashBytes(k), value, expireAt, own);
  }

  /** set() of key bytes whose store.hashOf() is `hash`. */
  setHashed(k: Uint8Array, hash: number, value: Uint8Array, expireAt = 0): 'ok' | 'full' {
    return this.setLocal(k, hash, value, expireAt, false);
  }

  /**
   * set() of a record's value, without expiry, by rewriting it in place (ZoneStore.updateHashed).
   * 'absent' when the store says so, and for a fed zone, whose changes need the set() path.
   */
  updateHashed(
    k: Uint8Array,
    hash: number,
    length: number,
    rewrite: (memory: ZoneMemory, at: number) => boolean,
  ): 'updated' | 'kept' | 'absent' {
    if (this.changeListeners.size > 0) return 'absent';
    // Stamps order writes between nodes; an unsynced zone's never leave this one, so its in-place
    // rewrites (limit_req's every request) skip the clock reading a stamp costs.
    return this.store.updateHashed(k, hash, length, rewrite, this.sync ? this.stampLocal : null);
  }

  /**
   * A local delete. A synced zone keeps a tombstone, stamped now, so the delete reaches the peers and
   * beats older copies of the record; it expires with the record (or after the tombstone TTL when the
   * record had no expiry). False when there was no live record.
   */
  delete(key: Key): boolean {
    const record = this.get(key);
    if (record === undefined) return false;
    const expireAt = record.expireAt || this.clock.now() + this.tombstoneTtlMs;
    this.hlc.advance();
    const wall = this.hlc.wall;
    const logical = this.hlc.logical;
    // A tombstone fits in the record's own chunk, so this cannot run out of memory.
    if (this.sync) this.store.set(key, EMPTY, { expireAt, wall, logical, tombstone: true });
    else this.store.delete(key);
    if (this.changeListeners.size > 0) this.emit(key, EMPTY, wall, logical, expireAt, true);
    return true;
  }

  /** Mark the record most recently used (not a change: nothing is fed or stamped). */
  touch(key: Key): boolean {
    return this.store.touch(key);
  }

  /** Drop expired records, visiting at most `maxVisits` hash buckets (see ZoneStore.expire). */
  expire(maxVisits?: number): number {
    return this.store.expire(this.clock.now(), maxVisits);
  }

  /** Listen to local creates, updates and deletes; returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Listen to every applyRemote outcome (statistics, debugging); returns the unsubscribe function. */
  onRemote(listener: RemoteListener): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  /** Copies of every unexpired record, tombstones included: what a peer needs on (re)connect. */
  *snapshot(): Generator<ZoneRecord> {
    for (const record of this.store.records()) {
      if (record.expireAt === 0 || record.expireAt > this.clock.now()) yield record;
    }
  }

  /**
   * `snapshot()` without copies: visit the unexpired records of hash bucket `bucket` onwards, in
   * place (`off` into `memory`, see record.ts; valid only during the call, which must not change
   * the store), until at least `minRecords` were visited or the buckets run out. Returns the bucket
   * to continue from, or -1 when the walk is done.
   */
  scanSnapshot(bucket: number, minRecords: number, visit: (memory: ZoneMemory, off: number) => void): number {
    return this.store.scan(bucket, minRecords, this.clock.now(), visit);
  }

  /**
   * Merge a record from a peer. The HLC observes its stamp first, so later local writes order after
   * it; a stamp too far in the future is refused (see Hlc.update). Nothing is fed to `subscribe`.
   * `now` is the wall time the merge happens at: a caller applying a whole frame in one go may read
   * the clock once for it, as if the frame arrived at that instant. A PlacedRecord is stored from its
   * bytes, without views; listeners may read it only during their call.
   */
  applyRemote(record: ZoneRecord | PlacedRecord, now = this.clock.now()): ApplyResult {
    const result = this.applyChecked(record, now);
    if (this.remoteListeners.size > 0) {
      for (const listener of this.remoteListeners) listener(record, result.result, result.reason);
    }
    return result.result;
  }

  stats(): StoreStats {
    return this.store.stats();
  }

  /** The zone left the configuration: drop the listeners (zone_sync stops shipping it). */
  close(): void {
    this.changeListeners.clear();
    this.remoteListeners.clear();
  }

  private applyChecked(
    record: ZoneRecord | PlacedRecord,
    now: number,
  ): { readonly result: ApplyResult; readonly reason?: string } {
    if (!this.sync) return { result: 'rejected', reason: `zone "${this.name}" is not synced` };
    const placed = 'keyStart' in record ? record : undefined;
    const k = placed ? placed.bytes : record.key;
    const kStart = placed ? placed.keyStart : 0;
    const kLength = placed ? placed.keyLength : k.length;
    if (kLength > MAX_KEY_LENGTH) return { result: 'rejected', reason: 'key too long' };
    let wall = recordWall(record);
    let logical = recordLogical(record);
    try {
      this.hlc.observe(wall, logical, now);
    } catch (err) {
      return { result: 'rejected', reason: (err as Error).message };
    }
    if (record.expireAt !== 0 && record.expireAt <= now) return STALE;
    const hash = this.store.hashOf(k, kStart, kStart + kLength);
    const stored = this.store.getHashed(k, hash, kStart, kLength);
    const local = stored && (stored.expireAt === 0 || stored.expireAt > now) ? stored : undefined;
    const decision = this.type.merge(local, record);
    if (decision === 'keep') return STALE;
    const tombstone = decision === 'take' && record.deleted;
    let expireAt = record.expireAt;
    let value: Uint8Array = EMPTY;
    let vStart = 0;
    let vLength = 0;
    if (decision !== 'take') {
      value = decision;
      vLength = value.length;
      if (local !== undefined && stampAfter(local.wall, local.logical, wall, logical)) {
        wall = local.wall;
        logical = local.logical;
        expireAt = local.expireAt;
      }
    } else if (!tombstone) {
      value = placed ? placed.bytes : record.value;
      vStart = placed ? placed.valueStart : 0;
      vLength = placed ? placed.valueLength : value.length;
    }
    const options = { expireAt, wall, logical, tombstone };
    if (!this.write(k, hash, value, options, kStart, kLength, vStart, vLength)) {
      return { result: 'rejected', reason: 'zone is full' };
    }
    return APPLIED;
  }

  /** set() once the key is bytes and hashed; `own`: the feed may keep `k` (a fresh encoding). */
  private setLocal(
    k: Uint8Array,
    hash: number,
    value: Uint8Array,
    expireAt: number,
    own: boolean,
  ): 'ok' | 'full' {
    this.hlc.advance();
    const wall = this.hlc.wall;
    const logical = this.hlc.logical;
    if (!this.write(k, hash, value, { expireAt, wall, logical })) return 'full';
    if (this.changeListeners.size > 0) this.emit(k, value, wall, logical, expireAt, false, own);
    return 'ok';
  }

  /**
   * Store (ranges as ZoneStore.setHashed), making room by the type's rule once; logs nginx's alert
   * when that fails too.
   */
  private write(
    key: Uint8Array,
    hash: number,
    value: Uint8Array,
    options: WriteOptions,
    kStart = 0,
    kLength = key.length,
    vStart = 0,
    vLength = value.length,
  ): boolean {
    const store = this.store;
    if (store.setHashed(key, hash, value, options, kStart, kLength, vStart, vLength) === 'ok') return true;
    if (
      this.type.onFull(this) &&
      store.setHashed(key, hash, value, options, kStart, kLength, vStart, vLength) === 'ok'
    ) {
      return true;
    }
    this.log('alert', `could not allocate node${this.logContext}`);
    return false;
  }

  private emit(
    key: Key,
    value: Uint8Array,
    wall: number,
    logical: number,
    expireAt: number,
    deleted: boolean,
    ownKey = false,
  ) {
    const change = new StampedRecord(
      typeof key === 'string' ? encoder.encode(key) : ownKey ? key : key.slice(),
      value.slice(),
      wall,
      logical,
      expireAt,
      deleted,
    );
    for (const listener of this.changeListeners) listener(change);
  }
}
