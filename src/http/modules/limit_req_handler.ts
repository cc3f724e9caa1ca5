// ngx_http_limit_req_handler: the preaccess-phase work of one location's limits. Each limit's key
// is assessed in its zone; limit_req_algorithm.ts decides; an accepted request's states are stored
// and a delayed one is held on a timer while other requests go on. It runs at most once per request
// (internal redirects are not limited again), and the outcome is `$limit_req_status`.
import { DECLINED, DONE, type HttpRequest, type PhaseHandler, type PhaseResult } from '../types.ts';
import { checkAll, delayOf, formatExcess, type LimitReqLimit } from './limit_req_algorithm.ts';
import type { Bucket, LimitReqCounter, LimitReqZone } from './limit_req_zone.ts';

/** A request's result now or, when held, later. */
type Verdict = ReturnType<PhaseHandler>;

export type LimitReqLogLevel = 'info' | 'notice' | 'warn' | 'error';

/** One `limit_req` line of the location, resolved against its zone. */
export interface LocationLimit {
  readonly zone: LimitReqZone;
  readonly limit: LimitReqLimit;
}

/** The location's limit_req_status, limit_req_log_level and limit_req_dry_run. */
export interface LimitReqOptions {
  readonly status: number;
  readonly logLevel: LimitReqLogLevel;
  readonly dryRun: boolean;
}

/** nginx logs delays one level below refusals; `info` stays `info`. */
const DELAY_LEVEL: Record<LimitReqLogLevel, LimitReqLogLevel> = {
  error: 'warn',
  warn: 'notice',
  notice: 'info',
  info: 'info',
};

/** nginx skips (and logs) keys longer than a node can hold. */
const MAX_KEY_BYTES = 65535;

interface Applied {
  readonly at: LocationLimit;
  readonly key: Uint8Array;
  readonly bucket: Bucket;
  readonly now: number;
}

export function limitReqHandler(limits: readonly LocationLimit[], options: LimitReqOptions): PhaseHandler {
  const delayLevel = DELAY_LEVEL[options.logLevel];
  const dryRun = options.dryRun ? ', dry run' : '';
  const lone = limits.length === 1 ? limits[0] : undefined;
  let scratch = new Uint8Array(256);

  /** Count the outcome in a zone; dry run has its own counters except for `passed`. */
  const count = (zone: LimitReqZone, outcome: 'delayed' | 'rejected' | 'passed') => {
    const name: LimitReqCounter = options.dryRun && outcome !== 'passed' ? `${outcome}_dry_run` : outcome;
    zone.counters[name]++;
  };

  const reject = (r: HttpRequest): PhaseResult => {
    r.limitReqStatus = options.dryRun ? 'REJECTED_DRY_RUN' : 'REJECTED';
    return options.dryRun ? DECLINED : options.status;
  };

  /** Over the burst of `zone`'s limit: nothing was stored. */
  const refuse = (r: HttpRequest, zone: LimitReqZone, excess: number): PhaseResult => {
    r.logError(
      options.logLevel,
      `limiting requests${dryRun}, excess: ${formatExcess(excess)} by zone "${zone.name}"`,
    );
    count(zone, 'rejected');
    return reject(r);
  };

  /** Accepted, stored and counted; held `delayMs` (for `zone`'s limit) unless 0. */
  const accept = (r: HttpRequest, zone: LimitReqZone, excess: number, delayMs: number): Verdict => {
    if (delayMs === 0) {
      r.limitReqStatus = 'PASSED';
      return DECLINED;
    }
    r.logError(
      delayLevel,
      `delaying request${dryRun}, excess: ${formatExcess(excess)}, by zone "${zone.name}"`,
    );
    if (options.dryRun) {
      r.limitReqStatus = 'DELAYED_DRY_RUN';
      return DECLINED;
    }
    r.limitReqStatus = 'DELAYED';
    // Held without blocking anything else; a client gone meanwhile ends the request silently.
    return new Promise((resolve) => setTimeout(() => resolve(r.aborted ? DONE : DECLINED), delayMs));
  };

  /** nginx skips (and logs) keys longer than a node can hold; latin1 text has a byte per char. */
  const tooLong = (r: HttpRequest, at: LocationLimit, text: string): boolean => {
    if (text.length <= MAX_KEY_BYTES) return false;
    r.logError('error', `the value of the "${at.zone.key.text}" key is more than 65535 bytes: "${text}"`);
    return true;
  };

  /** The limits' verdict on their assessed keys; the accepted states are stored. */
  const settle = (r: HttpRequest, applied: readonly Applied[]): Verdict => {
    if (applied.length === 0) return DECLINED;
    const d = checkAll(applied.map((a) => ({ limit: a.at.limit, assessment: a.bucket })));
    const zone = applied[d.decidedBy].at.zone;
    if (d.outcome === 'reject') return refuse(r, zone, d.excess);
    // A full zone (after eviction) refuses the request as nginx does, without a "limiting" line.
    for (const a of applied) if (!a.at.zone.store(a.key, a.bucket, a.now)) return reject(r);
    for (const a of applied) count(a.at.zone, a.bucket.excess > a.at.limit.delay ? 'delayed' : 'passed');
    return accept(r, zone, d.excess, d.delayMs);
  };

  const general = (r: HttpRequest): Verdict => {
    const applied: Applied[] = [];
    for (const at of limits) {
      const text = at.zone.key.evaluate(r);
      if (text === '' || tooLong(r, at, text)) continue;
      // Variables hold bytes as latin1 text ($binary_remote_addr): keys are those bytes.
      const key = Buffer.from(text, 'latin1');
      const now = at.zone.now();
      applied.push({ at, key, bucket: at.zone.assess(key, now), now });
    }
    return settle(r, applied);
  };

  /** The common lone limit: one lookup and the state updated in place, no per-request objects. */
  const single = (r: HttpRequest, at: LocationLimit): Verdict => {
    const text = at.zone.key.evaluate(r);
    if (text === '' || tooLong(r, at, text)) return DECLINED;
    // The key's bytes as Buffer.from(text, 'latin1') has them, in a buffer reused by every request.
    if (text.length > scratch.length) scratch = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) scratch[i] = text.charCodeAt(i);
    const key = scratch.subarray(0, text.length);
    const hash = at.zone.zone.store.hashOf(key);
    const now = at.zone.now();
    const excess = at.zone.charge(key, hash, now, at.limit.burst);
    if (excess < 0) return settle(r, [{ at, key, bucket: at.zone.assess(key, now, hash), now }]);
    if (excess > at.limit.burst) return refuse(r, at.zone, excess);
    count(at.zone, excess > at.limit.delay ? 'delayed' : 'passed');
    return accept(r, at.zone, excess, delayOf(excess, at.limit));
  };

  return (r) => {
    // Its presence means the request was limited already (before an internal redirect).
    if (r.limitReqStatus !== undefined) return DECLINED;
    return lone === undefined ? general(r) : single(r, lone);
  };
}
