// A limit_req_zone's states in its shared Zone, and the zone's statistics for the API.
// Without `sync` a key's value is nginx's node: excess and last (f64 each, 16 bytes, so a 1m zone
// holds nginx's ~16,000 states of a 4-byte key). With `sync` it is the per-node contribution slots
// of zones/contributions.ts, merged slot by slot, and decided on by assessCluster.
import type { ConfBlock } from '../../config/types.ts';
import type { Clock } from '../../core/clock.ts';
import type { ComplexValue } from '../../variables/types.ts';
import { mergeContributions, readContributions, withContribution } from '../../zones/contributions.ts';
import type { RecordView, ZoneMemory } from '../../zones/record.ts';
import type { Zone, ZoneType } from '../../zones/zone.ts';
import { type Assessment, assess, assessCluster, charged, elapsed } from './limit_req_algorithm.ts';

/** nginx's expire(1) only frees states idle this long (and drained). */
const IDLE_MS = 60_000;
const STATE_BYTES = 16;

/**
 * When an allocation fails even after the module's expire(1) (see LimitReqZone.store), the least
 * recently used state goes, as nginx's expire(0) forces it out.
 */
export const limitReqZoneType: ZoneType = {
  name: 'limit_req',
  logName: 'limit_req zone',
  merge: mergeContributions,
  onFull: (zone) => zone.store.evictLru(1) > 0,
  checkReuse: (name, previous, next) =>
    previous === next
      ? undefined
      : `limit_req "${name}" uses the "${next}" key while previously it used the "${previous}" key`,
};

/** The Plus API's counters of one zone (`GET /api/9/http/limit_reqs/one`). */
export interface LimitReqCounters {
  passed: number;
  delayed: number;
  rejected: number;
  delayed_dry_run: number;
  rejected_dry_run: number;
}

export type LimitReqCounter = keyof LimitReqCounters;

// Kept by Zone, so they live exactly as long as the zone: a reload that reuses it keeps them.
const counters = new WeakMap<Zone, LimitReqCounters>();

function countersOf(zone: Zone): LimitReqCounters {
  let c = counters.get(zone);
  if (c === undefined) {
    c = { passed: 0, delayed: 0, rejected: 0, delayed_dry_run: 0, rejected_dry_run: 0 };
    counters.set(zone, c);
  }
  return c;
}

/** Zero the counters in place: every cycle's LimitReqZone of the zone holds this same object. */
export function resetCounters(c: LimitReqCounters): void {
  c.passed = c.delayed = c.rejected = c.delayed_dry_run = c.rejected_dry_run = 0;
}

/** One key's bucket as assessed: the value to store if the request is accepted. */
export interface Bucket extends Assessment<Uint8Array> {
  /** The key has no state yet: storing it allocates. */
  readonly fresh: boolean;
  /** The key's hash in the zone's store, so that storing does not hash it again. */
  readonly hash: number;
}

/** A limit_req_zone of one cycle: its key, its rate and its Zone (which may outlive the cycle). */
export class LimitReqZone {
  readonly name: string;
  readonly zone: Zone;
  readonly key: ComplexValue;
  readonly rate: number;
  readonly counters: LimitReqCounters;
  private readonly clock: Clock;
  /** The zone's buffer, to read and write states in place (they are not 8-aligned: keys vary). */
  private readonly bytes: DataView;
  // charge()'s request and result, for `rewrite`, which runs under the zone's lock.
  private chargeNow = 0;
  private chargeBurst = 0;
  private chargedExcess = 0;

  constructor(zone: Zone, key: ComplexValue, rate: number, clock: Clock) {
    this.name = zone.name;
    this.zone = zone;
    this.key = key;
    this.rate = rate;
    this.clock = clock;
    this.counters = countersOf(zone);
    this.bytes = new DataView(zone.store.memory.sab);
  }

  /**
   * Milliseconds on the clock states are kept in: nginx's monotonic ngx_current_msec, or for a
   * synced zone wall time, which is what peers can compare.
   */
  now(): number {
    return Math.floor(this.zone.sync ? this.clock.now() : this.clock.monotonic());
  }

  /** ngx_http_limit_req_lookup without storing anything; `hash` is the key's store.hashOf(). */
  assess(key: Uint8Array, now: number, hash = this.zone.store.hashOf(key)): Bucket {
    const record = this.zone.getHashed(key, hash);
    const fresh = record === undefined;
    if (this.zone.sync) {
      const value = record?.value;
      const a = assessCluster(value ? readContributions(value) : [], this.zone.hlc.nodeId, now, this.rate);
      return { excess: a.excess, newState: withContribution(value, a.newState), fresh, hash };
    }
    const a = assess(record === undefined ? undefined : this.decode(record.value), now, this.rate);
    const value = new Uint8Array(STATE_BYTES);
    const v = new DataView(value.buffer);
    v.setFloat64(0, a.newState.excess, true);
    v.setFloat64(8, a.newState.last, true);
    return { excess: a.excess, newState: value, fresh, hash };
  }

  /**
   * assess, decide and store at once for a lone limit on a key this (unsynced) zone has a state
   * for: one lookup, the state rewritten in place, nothing allocated. Returns the excess, the state
   * stored unless it is over `burst` (rejected: nothing stored); -1 when the key has no state here,
   * or the zone is synced: assess and store then.
   */
  charge(key: Uint8Array, hash: number, now: number, burst: number): number {
    if (this.zone.sync) return -1;
    this.chargeNow = now;
    this.chargeBurst = burst;
    const result = this.zone.updateHashed(key, hash, STATE_BYTES, this.rewrite);
    return result === 'absent' ? -1 : this.chargedExcess;
  }

  /** assess() on the state at byte `at`, stored over it unless rejected (see charge). */
  private readonly rewrite = (_memory: ZoneMemory, at: number): boolean => {
    const v = this.bytes;
    const last = v.getFloat64(at + 8, true);
    const ms = elapsed(this.chargeNow, last);
    const excess = charged(v.getFloat64(at, true), ms, this.rate);
    this.chargedExcess = excess;
    if (excess > this.chargeBurst) return false;
    v.setFloat64(at, excess, true);
    // As assess(): requests within the same millisecond leave `last` alone.
    if (ms !== 0) v.setFloat64(at + 8, this.chargeNow, true);
    return true;
  };

  /**
   * Store an accepted request's state. A new key first frees up to two idle, drained states (nginx's
   * expire(1)); false when the zone is full all the same (the zone has logged nginx's alert).
   */
  store(key: Uint8Array, bucket: Bucket, now: number): boolean {
    if (bucket.fresh) this.zone.store.evictLru(2, (r) => this.spent(r, now));
    return this.zone.setHashed(key, bucket.hash, bucket.newState) === 'ok';
  }

  /** The state in `value`, a view into this zone's buffer. */
  private decode(value: Uint8Array): { excess: number; last: number } {
    const at = value.byteOffset;
    return { excess: this.bytes.getFloat64(at, true), last: this.bytes.getFloat64(at + 8, true) };
  }

  /** Idle for a minute and drained to nothing: nginx's test for a "zero rate" state. */
  private spent(record: RecordView, now: number): boolean {
    const drained = (amount: number, at: number) => {
      const ms = Math.abs(now - at);
      return ms >= IDLE_MS && amount - Math.floor((this.rate * ms) / 1000) <= 0;
    };
    // A slot's amount counts its last request too (contributions.ts): nginx's excess is 1000 less.
    if (this.zone.sync) return readContributions(record.value).every((s) => drained(s.amount - 1000, s.at));
    const state = this.decode(record.value);
    return drained(state.excess, state.last);
  }
}

// The limit_req_zones of each cycle by its `http` block, for the API, which finds the block from
// the request it serves. Built on first use: the Zones exist only once the cycle has built them.
const cycles = new WeakMap<ConfBlock, () => ReadonlyMap<string, LimitReqZone>>();

export function setCycleZones(http: ConfBlock, zones: () => ReadonlyMap<string, LimitReqZone>): void {
  cycles.set(http, zones);
}

/** The limit_req_zones of the cycle whose `http` block this is, in configuration order. */
export function cycleZonesOf(http: ConfBlock): ReadonlyMap<string, LimitReqZone> {
  return cycles.get(http)?.() ?? new Map();
}
