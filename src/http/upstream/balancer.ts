// The load-balancing boundary, after nginx's peer.init / peer.get / peer.free: a group's Balancer
// starts one selection per request; the selection picks peers and hears how each attempt went.
// Round robin (round_robin.ts) is the default; a module replaces it for a group by registering a
// factory under the directive that asks for it inside `upstream { }` (as `least_conn`, `hash` or
// `sticky` set uscf->peer.init_upstream in nginx). Factories get the group and may wrap round robin.
import type { ConfEntry } from '../../config/types.ts';
import type { HttpRequest } from '../types.ts';

/** One address of an upstream server, with nginx's per-peer accounting (ngx_http_upstream_rr_peer_t). */
export interface Peer {
  /** `127.0.0.1:8080` or `[::1]:8080`: what $upstream_addr shows. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The `server` argument as written (`backend.local:8080`). */
  readonly server: string;
  readonly weight: number;
  readonly maxFails: number;
  /** Milliseconds. */
  readonly failTimeout: number;
  readonly backup: boolean;
  readonly down: boolean;
  /** `route=` parameter, for session-affinity balancers; '' when absent. */
  readonly route: string;
  /** Index in its list (primary or backup), for tried-sets. */
  readonly index: number;
  // Mutable state shared by all requests of the cycle.
  fails: number;
  /** When the peer last failed and when its fail window started, ms since the epoch (nginx: accessed, checked). */
  accessed: number;
  checked: number;
  conns: number;
  currentWeight: number;
  effectiveWeight: number;
}

/** An `upstream` block (or an implicit one from `proxy_pass http://host:port`). */
export interface UpstreamGroup {
  readonly name: string;
  readonly peers: readonly Peer[];
  readonly backups: readonly Peer[];
  /** Whether the group was written as an `upstream` block (implicit ones come from proxy_pass). */
  readonly explicit: boolean;
  /** keepalive N (0: no cache), keepalive_requests, keepalive_timeout (ms). */
  readonly keepalive: number;
  readonly keepaliveRequests: number;
  readonly keepaliveTimeout: number;
  /** The `upstream` directive, for error positions; null for implicit groups. */
  readonly entry: ConfEntry | null;
  balancer: Balancer;
}

/** How an attempt on a peer ended, as nginx's free(pc, state) is told. */
export type AttemptOutcome = 'ok' | 'failed' | 'next';

/** One request's walk through the peers. */
export interface PeerSelection {
  /** Attempts left (nginx's pc->tries): the proxy stops retrying at 0. */
  tries: number;
  /** The next peer to try, or null when none is live (nginx's NGX_BUSY, "no live upstreams"). */
  pick(): Peer | null;
  /** The attempt on `peer` is over. `failed` counts toward max_fails; `next` (403/404) does not. */
  report(peer: Peer, outcome: AttemptOutcome): void;
  /**
   * The peer answered with this head (flat name/value list). Session-affinity balancers learn
   * here and may append response headers (e.g. a Set-Cookie) to `add`.
   */
  responseHead?(peer: Peer, status: number, headers: readonly string[], add: string[]): void;
}

export interface Balancer {
  /** Start one request's selection; `warn` writes to the request's error log. */
  select(r: HttpRequest, warn: (message: string) => void): PeerSelection;
}

/** Builds a group's balancer from its directive (`entry`), e.g. `sticky learn ...`. */
export type BalancerFactory = (group: UpstreamGroup, entry: ConfEntry) => Balancer;

const factories = new Map<string, BalancerFactory>();

/** Register the balancer a directive inside `upstream { }` switches the group to. */
export function registerBalancer(directive: string, factory: BalancerFactory): void {
  factories.set(directive, factory);
}

/** The factory for the group's balancing directive, if the block has one. */
export function balancerFactoryFor(
  entries: readonly ConfEntry[],
): { factory: BalancerFactory; entry: ConfEntry } | null {
  for (const e of entries) {
    const factory = factories.get(e.name);
    if (factory !== undefined) return { factory, entry: e };
  }
  return null;
}
