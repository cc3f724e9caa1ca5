// How long the runner waits before it starts a crashed node again: 0.5 s, doubling up to 10 s, and
// back to 0.5 s for a node that had stayed up at least as long as the longest wait.

export interface BackoffOptions {
  /** The first wait, in milliseconds (default 500). */
  readonly initialMs?: number;
  /** The longest wait (default 10 000); also how long a run must last to reset the waits. */
  readonly maxMs?: number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private current: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 10_000;
    this.current = this.initialMs;
  }

  /** The wait before the next start of a node that died after running `uptimeMs`. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.maxMs) this.current = this.initialMs;
    const wait = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return wait;
  }
}
