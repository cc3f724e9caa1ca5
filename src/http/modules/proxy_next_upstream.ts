// The proxy_next_upstream decision, as ngx_http_upstream_next makes it: whether a failure or an
// error head may go to another peer (the condition is enabled, the method is idempotent or
// non_idempotent is set, no streamed body went out yet, proxy_next_upstream_timeout has not
// passed), and how a try that ends ends. Kept apart from the exchange, which only asks; the
// count of tries left lives in the balancer's PeerSelection.

import type { PeerSelection } from '../upstream/balancer.ts';
import type { ProxyConf } from './proxy_conf.ts';
import { FT, FT_BY_STATUS, STATUS_BY_FT } from './proxy_conf.ts';

const IDEMPOTENT_EXCEPT = new Set(['POST', 'LOCK', 'PATCH']);

export class NextUpstream {
  private readonly conf: ProxyConf;
  private readonly selection: PeerSelection;
  private readonly method: string;
  private readonly streamBody: boolean;
  private readonly started = performance.now();

  /** Also applies proxy_next_upstream_tries to the selection's tries. */
  constructor(conf: ProxyConf, selection: PeerSelection, method: string, streamBody: boolean) {
    this.conf = conf;
    this.selection = selection;
    this.method = method;
    this.streamBody = streamBody;
    if (conf.nextUpstreamTries > 0 && selection.tries > conf.nextUpstreamTries) {
      selection.tries = conf.nextUpstreamTries;
    }
  }

  /** proxy_next_upstream allows another try for this failure now. */
  mayRetry(ft: number, requestSent: boolean): boolean {
    const conf = this.conf;
    let mask = ft;
    if (requestSent && IDEMPOTENT_EXCEPT.has(this.method)) mask |= FT.NON_IDEMPOTENT;
    if ((conf.nextUpstream & mask) !== mask) return false;
    if (requestSent && this.streamBody) return false;
    return !(conf.nextUpstreamTimeout > 0 && performance.now() - this.started >= conf.nextUpstreamTimeout);
  }

  /** The condition a response head with this status asks another peer for; 0 when none may. */
  headCondition(status: number, requestSent: boolean): number {
    const ft = status >= 403 ? FT_BY_STATUS.get(status) : undefined;
    return ft !== undefined && this.selection.tries > 1 && this.mayRetry(ft, requestSent) ? ft : 0;
  }
}

/** How a head-triggered retry counts against its peer: 403 and 404 are no failure of the peer. */
export function headOutcome(ft: number): 'failed' | 'next' {
  return ft === FT.HTTP_403 || ft === FT.HTTP_404 ? 'next' : 'failed';
}

/** The status answered when a condition ends the exchange (nginx's 502 unless it says else). */
export function statusOf(ft: number): number {
  return STATUS_BY_FT.get(ft) ?? 502;
}
