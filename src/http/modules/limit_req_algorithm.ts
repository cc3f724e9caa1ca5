// ngx_http_limit_req_module's arithmetic, pure and storage-agnostic: a leaky bucket kept as
// "excess" in 1/1000 requests, with the clock injected (milliseconds, monotonic). The limit_req
// module owns the zone, the keys and the delay timer; this file only says what nginx would decide
// and which state it would store. All arithmetic is integer, as in nginx (divisions floor).

/** nginx's per-key node: excess in 1/1000 requests beyond the one just accepted, `last` in ms. */
export interface LimitReqState {
  readonly excess: number;
  readonly last: number;
}

/** One `limit_req` as nginx stores it: every quantity scaled by 1000. */
export interface LimitReqLimit {
  /** Requests per 1000 s (`rate=3r/s` is 3000, `30r/m` is 500, `1r/m` is 16). */
  readonly rate: number;
  /** `burst=N` times 1000. */
  readonly burst: number;
  /** `delay=N` times 1000; Infinity for `nodelay`. */
  readonly delay: number;
}

export type LimitReqOutcome = 'pass' | 'delay' | 'reject';

/** What one limit's bucket holds at `now`, and what to store if the request is accepted. */
export interface Assessment<S> {
  /** nginx's excess with this request counted, 1/1000 requests (logged as "excess: E.EEE"). */
  readonly excess: number;
  /** The state to store when the request is accepted; a rejected request stores nothing. */
  readonly newState: S;
}

export interface Decision {
  readonly outcome: LimitReqOutcome;
  /** Milliseconds to hold the request before it goes on; 0 unless `delay`. */
  readonly delayMs: number;
  /** The limit nginx names in its log line: the rejecting one, or the one with the longest delay. */
  readonly decidedBy: number;
  /** That limit's excess. */
  readonly excess: number;
}

/**
 * `rate=` as nginx parses it (the text after `rate=`): `Nr/s`, `Nr/m` or a bare `N` (per second),
 * stored as N*1000/scale truncated. Null where nginx says `invalid rate`.
 */
export function parseRate(text: string): number | null {
  let scale = 1;
  let digits = text;
  if (text.length >= 3 && text.endsWith('r/s')) digits = text.slice(0, -3);
  else if (text.length >= 3 && text.endsWith('r/m')) {
    digits = text.slice(0, -3);
    scale = 60;
  }
  if (!/^[0-9]+$/.test(digits)) return null;
  const n = Number(digits);
  if (n <= 0 || !Number.isSafeInteger(n * 1000)) return null;
  return Math.floor((n * 1000) / scale);
}

/** A limit from the directive's numbers (nginx lets the later of `nodelay` and `delay=` win: the caller's call). */
export function makeLimit(rate: number, burst = 0, delay: number | 'nodelay' = 0): LimitReqLimit {
  return { rate, burst: burst * 1000, delay: delay === 'nodelay' ? Number.POSITIVE_INFINITY : delay * 1000 };
}

/** "excess: 2.500" as nginx prints excess in its log lines. */
export function formatExcess(excess: number): string {
  return `${Math.floor(excess / 1000)}.${String(excess % 1000).padStart(3, '0')}`;
}

/**
 * Milliseconds since `last`, clamped as nginx does: a clock that went back more than a minute
 * counts as 1 ms (so `last` moves to now), a smaller step back as 0 (so `last` stays).
 */
export function elapsed(now: number, last: number): number {
  const ms = now - last;
  if (ms < -60000) return 1;
  if (ms < 0) return 0;
  return ms;
}

/** A state's excess drained for `ms` (from `elapsed`) at `rate`, with one more request counted. */
export function charged(excess: number, ms: number, rate: number): number {
  return Math.max(0, excess - Math.floor((rate * ms) / 1000) + 1000);
}

/** The bucket of one key on one node, as ngx_http_limit_req_lookup computes it. */
export function assess(
  state: LimitReqState | undefined,
  now: number,
  rate: number,
): Assessment<LimitReqState> {
  // A new key is stored with excess 0: its first request is not charged.
  if (state === undefined) return { excess: 0, newState: { excess: 0, last: now } };
  const ms = elapsed(now, state.last);
  const excess = charged(state.excess, ms, rate);
  // Requests within the same millisecond leave `last` alone, as nginx's `if (ms) lr->last = now`.
  return { excess, newState: { excess, last: ms === 0 ? state.last : now } };
}

/** How long nginx holds a request accepted with this excess; 0 within `delay`. */
export function delayOf(excess: number, limit: LimitReqLimit): number {
  return excess <= limit.delay ? 0 : Math.floor(((excess - limit.delay) * 1000) / limit.rate);
}

/**
 * nginx's verdict over all limits of a request, in configuration order (limits whose key was
 * empty are left out by the caller: nginx skips them). The first limit over its burst rejects
 * and nothing is charged anywhere (ngx_http_limit_req_handler un-counts the earlier nodes); when
 * all pass, all are charged and the delay is the longest of them (ngx_http_limit_req_account,
 * which starts from the last limit and lets an earlier one win only with a strictly longer delay).
 */
export function decide(items: readonly { limit: LimitReqLimit; excess: number }[]): Decision {
  for (let i = 0; i < items.length; i++) {
    const { limit, excess } = items[i];
    if (excess > limit.burst) return { outcome: 'reject', delayMs: 0, decidedBy: i, excess };
  }
  const lastIndex = items.length - 1;
  let decidedBy = lastIndex;
  let delayMs = delayOf(items[lastIndex].excess, items[lastIndex].limit);
  for (let i = lastIndex - 1; i >= 0; i--) {
    const d = delayOf(items[i].excess, items[i].limit);
    if (d > delayMs) {
      delayMs = d;
      decidedBy = i;
    }
  }
  return { outcome: delayMs > 0 ? 'delay' : 'pass', delayMs, decidedBy, excess: items[decidedBy].excess };
}

export interface CheckAllResult<S> extends Decision {
  /** The states to store, one per limit, or null when rejected (store nothing). */
  readonly newStates: S[] | null;
}

/** Several limits of one request: assessments (from `assess` or `assessCluster`) to one verdict. */
export function checkAll<S>(
  items: readonly { limit: LimitReqLimit; assessment: Assessment<S> }[],
): CheckAllResult<S> {
  const decision = decide(items.map((x) => ({ limit: x.limit, excess: x.assessment.excess })));
  const newStates = decision.outcome === 'reject' ? null : items.map((x) => x.assessment.newState);
  return { ...decision, newStates };
}

export interface CheckResult {
  readonly outcome: LimitReqOutcome;
  readonly delayMs: number;
  readonly excess: number;
  /** The state to store: the input state unchanged when rejected (undefined for a new key). */
  readonly newState: LimitReqState | undefined;
}

/** One limit on one node: nginx's whole decision for a request. */
export function check(state: LimitReqState | undefined, now: number, limit: LimitReqLimit): CheckResult {
  const assessment = assess(state, now, limit.rate);
  const d = decide([{ limit, excess: assessment.excess }]);
  return {
    outcome: d.outcome,
    delayMs: d.delayMs,
    excess: d.excess,
    newState: d.outcome === 'reject' ? state : assessment.newState,
  };
}

// The cluster form (limit_req_zone ... sync). Each node publishes its own contribution per key and
// decides on the sum of all contributions, so a limit holds cluster-wide (DESIGN.md). The shape
// matches src/zones/contributions.ts so its slots can be passed as they are read.

/** One node's slot: what its accepted requests still weigh in the key's bucket. */
export interface NodeContribution {
  readonly node: number;
  /**
   * 1/1000 requests, the node's latest accepted request included: nginx's stored excess plus
   * 1000, so that slots add up (nginx's excess leaves the request just accepted out).
   */
  readonly amount: number;
  /** When the owner measured it, on the clock `now` is read from (the sync layer converts). */
  readonly at: number;
}

/** Each slot drained to `now` when the bucket's `rate` is shared by `n` slots. */
function drained(slots: readonly NodeContribution[], now: number, rate: number, n: number): number[] {
  return slots.map((s) => Math.max(0, s.amount - Math.floor((rate * elapsed(now, s.at)) / (1000 * n))));
}

/**
 * The key's bucket across the cluster, seen from node `self`, and this node's new slot.
 * The bucket drains at `rate` in total, shared equally by the slots that still hold something
 * (the sharing is found by a fixed point: slots that empty at one share stop taking one). With a
 * single contributor this is exactly nginx's arithmetic; with several it approximates one bucket
 * fed by all of them, never draining faster than `rate`. Peers' slots are read, never changed.
 */
export function assessCluster(
  slots: readonly NodeContribution[],
  self: number,
  now: number,
  rate: number,
): Assessment<NodeContribution> {
  let n = Math.max(1, slots.filter((s) => s.amount > 0).length);
  let values = drained(slots, now, rate, n);
  for (;;) {
    const holding = Math.max(1, values.filter((v) => v > 0).length);
    if (holding >= n) break;
    n = holding;
    values = drained(slots, now, rate, n);
  }
  let excess = 0;
  let own = 0;
  let at = now;
  for (let i = 0; i < slots.length; i++) {
    excess += values[i];
    if (slots[i].node !== self) continue;
    own = values[i];
    // As nginx's `if (ms) lr->last = now`: a clock that stepped back a little leaves the time alone.
    if (elapsed(now, slots[i].at) === 0) at = slots[i].at;
  }
  return { excess, newState: { node: self, amount: own + 1000, at } };
}
