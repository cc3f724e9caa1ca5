// The books of the exchange's current try at one peer: the peer the balancer picked, the API's
// counters of it (peer_stats) and the try's $upstream_* record (variables). Opened when a peer is
// picked, closed when the try ends; the exchange says what happened, this keeps the accounts.

import type { UpstreamResponseParser } from '../engine/upstream_response_parser.ts';
import type { Request } from '../request.ts';
import type { Peer, PeerSelection } from '../upstream/balancer.ts';
import { type PeerStats, peerStats } from '../upstream/peer_stats.ts';
import { type AttemptRecord, beginAttempt, recordUpstreamHead } from '../upstream/variables.ts';

export class UpstreamTry {
  private readonly r: Request;
  private readonly selection: PeerSelection;
  /** The peer tried now; null between tries. */
  peer: Peer | null = null;
  /** The API's counters of `peer`. */
  private stats: PeerStats | null = null;
  /** The try's $upstream_* record. */
  attempt: AttemptRecord | null = null;

  constructor(r: Request, selection: PeerSelection) {
    this.r = r;
    this.selection = selection;
  }

  /** No peer was left to pick: the record of a 502 that took no time. */
  nonePicked(groupName: string): void {
    const rec = beginAttempt(this.r, groupName);
    rec.status = 502;
    rec.responseTime = 0;
  }

  /** A try at `peer` starts now. */
  begin(peer: Peer): AttemptRecord {
    this.peer = peer;
    this.stats = peerStats(peer);
    this.stats.begin(Date.now());
    return (this.attempt = beginAttempt(this.r, peer.name));
  }

  sent(bytes: number): void {
    if (this.stats !== null) this.stats.sent += bytes;
  }

  received(bytes: number): void {
    if (this.stats !== null) this.stats.received += bytes;
  }

  /** The response head arrived: its status and time, and $upstream_cookie_* from it. */
  head(p: UpstreamResponseParser): AttemptRecord {
    const rec = this.attempt as AttemptRecord;
    rec.status = p.status;
    rec.headerTime = performance.now() - rec.start;
    this.stats?.head(p.status, rec.headerTime);
    recordUpstreamHead(this.r, p);
    return rec;
  }

  releasePeer(outcome: 'ok' | 'failed' | 'next'): void {
    const peer = this.peer;
    if (peer !== null) this.selection.report(peer, outcome);
    // success changes no availability: the clock is read for failures only
    if (peer !== null && outcome === 'failed') this.stats?.end(peer, true, Date.now());
    this.peer = null;
    this.stats = null;
  }

  finishAttempt(status: number): void {
    const rec = this.attempt;
    if (rec === null) return;
    this.attempt = null;
    if (status > 0 && rec.status === 0) rec.status = status;
    rec.responseTime = performance.now() - rec.start;
    if (rec.headerTime >= 0) this.stats?.completed(rec.responseTime);
  }
}
