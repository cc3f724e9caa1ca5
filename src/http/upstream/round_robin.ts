// nginx's smooth weighted round robin (ngx_http_upstream_round_robin.c): each pick adds every
// live peer's effective weight to its current weight, takes the highest, and subtracts the total
// from the winner. Failures lower the effective weight (by weight / max_fails) and count toward
// max_fails within fail_timeout; a peer at max_fails is skipped until fail_timeout has passed.
// Backup servers are tried only when no primary is live. A group of exactly one primary and no
// backups is "single": no failure accounting and no retries, as in nginx.
import type { HttpRequest } from '../types.ts';
import type { AttemptOutcome, Balancer, Peer, PeerSelection, UpstreamGroup } from './balancer.ts';

/** What round robin reads of a group. */
type PeerLists = Pick<UpstreamGroup, 'peers' | 'backups'>;

/** The clock, in milliseconds; tests replace it. */
export type Clock = () => number;

const wallClock: Clock = () => Date.now();

/** nginx keeps these times in whole seconds (ngx_time()); so do we, for the same windows. */
function seconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}

/** Is `peer` usable now: not down, not at max_fails within its fail_timeout window. */
export function peerAvailable(peer: Peer, now: number): boolean {
  if (peer.down) return false;
  return !(peer.maxFails > 0 && peer.fails >= peer.maxFails && now - peer.checked <= peer.failTimeout / 1000);
}

/**
 * A session-affinity balancer's wish for a peer (nginx's pc->hint, matched against server ids):
 * `sticky` passes the server its session or cookie names.
 */
export type PeerHint = (peer: Peer) => boolean;

/**
 * ngx_http_upstream_get_rr_peer_by_sid: the first peer of `list` that `hint` names, if it is
 * usable now and not yet tried by this request; otherwise the request balances as if unbound.
 */
function hintedPeer(list: readonly Peer[], tried: Set<Peer>, now: number, hint?: PeerHint): Peer | null {
  if (hint === undefined) return null;
  for (const peer of list) {
    if (hint(peer)) return !tried.has(peer) && peerAvailable(peer, now) ? peer : null;
  }
  return null;
}

/**
 * ngx_http_upstream_get_peer: the smooth WRR step over `list`, skipping peers already tried. A
 * `bound` peer (from a hint) wins over the round-robin choice and is charged for it, so sticky
 * traffic counts toward its share; once it is a whole round ahead (current weight at or below
 * -(total weight - its weight)) it is taken without touching any weights, as nginx does.
 */
export function smoothPick(
  list: readonly Peer[],
  tried: Set<Peer>,
  now: number,
  bound: Peer | null = null,
): Peer | null {
  if (bound !== null && bound.currentWeight <= bound.weight - totalWeight(list)) {
    return markChecked(bound, now);
  }
  let best: Peer | null = null;
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const peer = list[i]!;
    if (tried.has(peer) || !peerAvailable(peer, now)) continue;
    peer.currentWeight += peer.effectiveWeight;
    total += peer.effectiveWeight;
    if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
    if (best === null || peer.currentWeight > best.currentWeight) best = peer;
  }
  if (best === null) return null;
  if (bound !== null) best = bound;
  best.currentWeight -= total;
  return markChecked(best, now);
}

/** Every peer's configured weight, down ones included (nginx's peers->total_weight). */
function totalWeight(list: readonly Peer[]): number {
  let total = 0;
  for (const peer of list) total += peer.weight;
  return total;
}

/** A picked peer starts a new fail window once the last one is over. */
function markChecked(peer: Peer, now: number): Peer {
  if (now - peer.checked > peer.failTimeout / 1000) peer.checked = now;
  return peer;
}

/** ngx_http_upstream_free_round_robin_peer's accounting for a non-single group. */
export function recordOutcome(
  peer: Peer,
  outcome: AttemptOutcome,
  now: number,
  log?: (msg: string) => void,
): void {
  if (outcome === 'failed') {
    peer.fails++;
    peer.accessed = now;
    peer.checked = now;
    if (peer.maxFails > 0) {
      peer.effectiveWeight -= Math.floor(peer.weight / peer.maxFails);
      if (peer.fails >= peer.maxFails) log?.('upstream server temporarily disabled');
    }
    if (peer.effectiveWeight < 0) peer.effectiveWeight = 0;
  } else if (peer.accessed < peer.checked) {
    // A success after the window restarted: the peer is live again.
    peer.fails = 0;
  }
}

/** The tried-set of single-peer selections: always empty. */
const NO_PEERS: Set<Peer> = new Set();

export class RoundRobinSelection implements PeerSelection {
  tries: number;
  private readonly group: PeerLists;
  private readonly clock: Clock;
  private readonly single: boolean;
  /** Peers tried so far (a single peer needs no set: it is never tried twice). */
  private readonly tried: Set<Peer>;
  private list: readonly Peer[];
  private onBackups = false;
  /** Where "upstream server temporarily disabled" goes (the request's error log). */
  private readonly warn: (message: string) => void;

  constructor(group: PeerLists, clock: Clock, warn: (message: string) => void) {
    this.group = group;
    this.clock = clock;
    this.warn = warn;
    this.list = group.peers;
    this.single = group.peers.length === 1 && group.backups.length === 0;
    this.tried = this.single ? NO_PEERS : new Set<Peer>();
    this.tries = group.peers.length + group.backups.length;
  }

  /** The next peer; `hint` (sticky) asks for a bound one, honoured while it is usable. */
  pick(hint?: PeerHint): Peer | null {
    if (this.single) {
      // one peer, no backups: no accounting, nothing else to fall back to
      const only = this.list[0]!;
      if (only.down) return null;
      only.conns++;
      return only;
    }
    const now = seconds(this.clock);
    let peer = smoothPick(this.list, this.tried, now, hintedPeer(this.list, this.tried, now, hint));
    if (peer === null && !this.onBackups && this.group.backups.length > 0) {
      // nginx switches to the backup list and forgets what it tried (its bitmap is reset).
      this.onBackups = true;
      this.list = this.group.backups;
      this.tried.clear();
      peer = smoothPick(this.list, this.tried, now, hintedPeer(this.list, this.tried, now, hint));
    }
    if (peer === null) return null;
    this.tried.add(peer);
    peer.conns++;
    return peer;
  }

  report(peer: Peer, outcome: AttemptOutcome): void {
    peer.conns--;
    if (this.single) {
      this.tries = 0;
      return;
    }
    recordOutcome(peer, outcome, seconds(this.clock), this.warn);
    if (this.tries > 0) this.tries--;
  }
}

export class RoundRobin implements Balancer {
  private readonly group: PeerLists;
  private readonly clock: Clock;
  constructor(group: PeerLists, clock: Clock = wallClock) {
    this.group = group;
    this.clock = clock;
  }

  select(_r: HttpRequest, warn: (message: string) => void): RoundRobinSelection {
    return new RoundRobinSelection(this.group, this.clock, warn);
  }
}
