// Time, injectable: wall time for records that travel between nodes (expiry, HLC stamps), a
// monotonic clock for intervals. Tests pass a ManualClock so expiry and ordering are deterministic.
// The hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014) stamps every change of
// a shared zone so that "last writer wins" is a total order that survives clock skew between nodes.

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private wall: number;
  private mono: number;
  constructor(wall = Date.UTC(2026, 0, 1), mono = 0) {
    this.wall = wall;
    this.mono = mono;
  }
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
  /** Move both clocks forward. */
  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
  /** Set the wall clock alone (it may jump backwards, as NTP makes real ones do). */
  setWall(ms: number): void {
    this.wall = ms;
  }
}

/**
 * An HLC timestamp packed into one bigint: wall ms (48 bits) | counter (16 bits) | node id (16 bits).
 * Plain `<` on two stamps is the total order (wall, counter, node); equal walls and counters tie-break
 * on the node id, so every node decides the same way.
 */
export type Stamp = bigint;

export const MAX_NODE_ID = 0xffff;
const MAX_COUNTER = 0xffff;

/** The low 32 bits of a stamp: `counter << 16 | node`. Records store a stamp as (wall, logical). */
export function makeStamp(wall: number, logical: number): Stamp {
  return (BigInt(wall) << 32n) | BigInt(logical >>> 0);
}
export function stampWall(s: Stamp): number {
  return Number(s >> 32n);
}
export function stampLogical(s: Stamp): number {
  return Number(s & 0xffffffffn);
}
export function stampNode(s: Stamp): number {
  return Number(s & 0xffffn);
}
export function stampCounter(s: Stamp): number {
  return Number((s >> 16n) & 0xffffn);
}

/** A remote stamp the clock refused to follow; zone_sync logs it and drops the record. */
export class ClockSkewError extends Error {
  readonly code = 'CLOCK_SKEW';
  readonly aheadMs: number;
  constructor(aheadMs: number, maxSkewMs: number) {
    super(`remote timestamp is ${aheadMs} ms ahead of the local clock (limit ${maxSkewMs} ms)`);
    this.name = 'ClockSkewError';
    this.aheadMs = aheadMs;
  }
}

export interface HlcOptions {
  /**
   * How far ahead of our wall clock a remote stamp may be. Following a stamp from a peer whose
   * clock is an hour fast would drag every later local write an hour into the future (and make
   * it win every conflict), so such stamps are refused instead. Default: 1 hour.
   */
  readonly maxSkewMs?: number;
}

export class Hlc {
  readonly nodeId: number;
  readonly maxSkewMs: number;
  private readonly clock: Clock;
  /** The last stamp issued or observed, unpacked so hot paths need no bigint. */
  private lastWall = 0;
  private counter = 0;

  constructor(nodeId: number, clock: Clock = systemClock, options: HlcOptions = {}) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) {
      throw new RangeError(`HLC node id must be an integer in 0..${MAX_NODE_ID}, not ${nodeId}`);
    }
    this.nodeId = nodeId;
    this.clock = clock;
    this.maxSkewMs = options.maxSkewMs ?? 3_600_000;
  }

  /** Wall part of the last stamp (after `advance()`). */
  get wall(): number {
    return this.lastWall;
  }
  /** Counter and node of the last stamp (after `advance()`): `counter << 16 | node`. */
  get logical(): number {
    return ((this.counter << 16) | this.nodeId) >>> 0;
  }

  /** A stamp for a local event, greater than every stamp issued or observed before. */
  now(): Stamp {
    this.advance();
    return makeStamp(this.lastWall, this.logical);
  }

  /** `now()` without building the bigint: read the stamp from `wall` and `logical`. */
  advance(): void {
    const pt = this.clock.now();
    if (pt > this.lastWall) {
      this.lastWall = pt;
      this.counter = 0;
    } else {
      this.tick();
    }
  }

  /**
   * Observe a remote stamp: the local clock moves to max(local, remote, wall clock), so any later
   * local write is ordered after it. Returns the receive stamp. Throws ClockSkewError (and changes
   * nothing) when the remote wall is more than `maxSkewMs` ahead of our wall clock.
   */
  update(remote: Stamp): Stamp {
    this.observe(stampWall(remote), stampLogical(remote));
    return makeStamp(this.lastWall, this.logical);
  }

  /**
   * `update()` of the stamp (`rWall`, `rLogical`) without building bigints (the replication hot
   * path); read the receive stamp from `wall` and `logical`. `pt` is the wall clock: a caller that
   * observes a batch of stamps at once may read it once for all of them, as if they arrived at that
   * instant. The result is still an HLC (at least every stamp seen, never going back, and within
   * skew of the wall clock), as the next `advance()` reads the clock afresh.
   */
  observe(rWall: number, rLogical: number, pt = this.clock.now()): void {
    if (rWall - pt > this.maxSkewMs) throw new ClockSkewError(rWall - pt, this.maxSkewMs);
    const rCounter = rLogical >>> 16;
    const wall = Math.max(this.lastWall, rWall, pt);
    if (wall === this.lastWall && wall === rWall) {
      this.counter = Math.max(this.counter, rCounter);
      this.tick();
    } else if (wall === this.lastWall) {
      this.tick();
    } else if (wall === rWall) {
      this.lastWall = wall;
      this.counter = rCounter;
      this.tick();
    } else {
      this.lastWall = wall;
      this.counter = 0;
    }
  }

  /** Next counter in the same millisecond; past 65535 it borrows the next millisecond instead. */
  private tick(): void {
    if (this.counter < MAX_COUNTER) {
      this.counter++;
    } else {
      this.lastWall++;
      this.counter = 0;
    }
  }
}
