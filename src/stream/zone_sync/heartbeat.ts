// A connection's liveness (docs/protocol.md §8-§9): PING when nothing was written for a third of the
// shorter of the two sides' timeouts (at most every 100 ms), close when nothing was read for our
// zone_sync_timeout, and the round trip and clock offset PONGs measure.
/** PINGs go no more often than this. */
const MIN_PING_MS = 100;
/** A clock offset beyond this is worth a warning. */
const SKEW_WARN_MS = 1000;

export interface HeartbeatEvents {
  /** Nothing written for a while: send a PING (only once the peer's HELLO is in). */
  ping(): void;
  /** Nothing read for zone_sync_timeout. */
  timedOut(): void;
  /** The peer's clock is more than a second off ours (once per connection). */
  skewed(offsetMs: number): void;
}

export class Heartbeat {
  rttMs: number | undefined;
  clockOffsetMs: number | undefined;
  private readonly timeoutMs: number;
  private readonly events: HeartbeatEvents;
  private lastRead = performance.now();
  private lastWrite = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private skewWarned = false;

  constructor(timeoutMs: number, events: HeartbeatEvents) {
    this.timeoutMs = timeoutMs;
    this.events = events;
  }

  /** (Re)start with the shorter of our timeout and the peer's (`peerTimeoutMs`, once known). */
  start(peerTimeoutMs = this.timeoutMs): void {
    clearInterval(this.timer);
    const pingMs = Math.max(MIN_PING_MS, Math.floor(Math.min(this.timeoutMs, peerTimeoutMs) / 3));
    this.timer = setInterval(
      () => {
        const now = performance.now();
        if (now - this.lastRead >= this.timeoutMs) this.events.timedOut();
        else if (now - this.lastWrite >= pingMs) this.events.ping();
      },
      Math.min(pingMs, this.timeoutMs),
    ).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  read(): void {
    this.lastRead = performance.now();
  }

  wrote(): void {
    this.lastWrite = performance.now();
  }

  /** A PONG: `echo` is our PING's wall clock, `wall` the peer's when it answered. */
  pong(echo: number, wall: number): void {
    this.rttMs = Math.max(0, Date.now() - echo);
    this.clockOffsetMs = Math.round(wall - (echo + this.rttMs / 2));
    if (!this.skewWarned && Math.abs(this.clockOffsetMs) > SKEW_WARN_MS) {
      this.skewWarned = true;
      this.events.skewed(this.clockOffsetMs);
    }
  }
}
