// What NGINX Plus counts per upstream server for its API (`/api/9/http/upstreams/`): requests,
// responses by status, bytes, failures, and the time spent unavailable. The proxy reports each
// attempt here; the counters hang off the Peer, so they live as long as its cycle does.
import type { Peer } from './balancer.ts';
import { peerAvailable } from './round_robin.ts';

export class PeerStats {
  requests = 0;
  sent = 0;
  received = 0;
  fails = 0;
  unavail = 0;
  /** By status class (`2xx`) and by code. */
  readonly classes = [0, 0, 0, 0, 0];
  /** Responses by code, 100-599 at code - 100 (plain numbers: counted on every response). */
  private readonly byCode: number[] = new Array(500).fill(0);
  /** Codes outside 100-599 (rare). */
  private readonly otherCodes = new Map<number, number>();
  /** Sums over the attempts that got a head, and over those that completed, for the averages. */
  headerTime = 0;
  headers = 0;
  responseTime = 0;
  responses = 0;
  /** Wall ms of the last selection; 0 = never. */
  selected = 0;
  /** Wall ms when the peer became unavailable (0: it is not), and the time it spent so before. */
  downstart = 0;
  downtime = 0;

  /** The peer was picked for an attempt. */
  begin(now: number): void {
    this.requests++;
    this.selected = now;
  }

  /** A response head arrived from the peer. */
  head(status: number, headerMs: number): void {
    if (status >= 100 && status <= 599) {
      this.classes[((status / 100) | 0) - 1]++;
      this.byCode[status - 100]++;
    } else this.otherCodes.set(status, (this.otherCodes.get(status) ?? 0) + 1);
    this.headerTime += headerMs;
    this.headers++;
  }

  /** Responses by code (the codes seen). */
  get codes(): Map<number, number> {
    const out = new Map<number, number>();
    const byCode = this.byCode;
    for (let i = 0; i < byCode.length; i++) if (byCode[i]! > 0) out.set(i + 100, byCode[i]!);
    for (const [code, n] of this.otherCodes) out.set(code, n);
    return out;
  }

  /** The attempt that got a head is complete (or cut short), `ms` after it started. */
  completed(ms: number): void {
    this.responseTime += ms;
    this.responses++;
  }

  /** The attempt is over and the balancer has heard of it: a failure may leave the peer unavailable. */
  end(peer: Peer, failed: boolean, now: number): void {
    if (!failed) return;
    this.fails++;
    this.settle(peer, now);
    if (this.downstart === 0 && !peerAvailable(peer, Math.floor(now / 1000))) {
      this.unavail++;
      this.downstart = now;
    }
  }

  /** Close a period of unavailability that fail_timeout has ended. */
  settle(peer: Peer, now: number): void {
    if (this.downstart === 0 || !peerAvailable(peer, Math.floor(now / 1000))) return;
    this.downtime += Math.min(now, peer.checked * 1000 + peer.failTimeout) - this.downstart;
    this.downstart = 0;
  }

  reset(): void {
    this.requests = this.sent = this.received = this.fails = this.unavail = 0;
    this.classes.fill(0);
    this.byCode.fill(0);
    this.otherCodes.clear();
    this.headerTime = this.headers = this.responseTime = this.responses = 0;
    this.downtime = 0;
  }
}

/** The counters ride on the peer itself (one property load per attempt, no map lookup). */
interface WithStats {
  stats?: PeerStats;
}

export function peerStats(peer: Peer): PeerStats {
  const p = peer as Peer & WithStats;
  return (p.stats ??= new PeerStats());
}
