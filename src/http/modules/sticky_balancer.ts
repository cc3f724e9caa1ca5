// The balancer `sticky` puts over round robin, as ngx_http_upstream_sticky_module wraps the peer
// callbacks: every pick passes the server the request is bound to as a hint (a cookie or route
// naming a server id directly, or a learned session's server), which round robin honours while
// that server is usable; otherwise the request is balanced as if unbound. `learn` binds the
// session to the server that answered, when the response is over or (`header`) once its head is
// in; `cookie` tells the client which server answered.
import { createHash } from 'node:crypto';
import type { VariableGetter } from '../../variables/registry.ts';
import type { HttpRequest } from '../types.ts';
import type { AttemptOutcome, Balancer, Peer, PeerSelection } from '../upstream/balancer.ts';
import type { RoundRobin, RoundRobinSelection } from '../upstream/round_robin.ts';
import type { StickyCookie } from './sticky_cookie.ts';
import type { StickySessions } from './sticky_sessions.ts';

const serverIds = new WeakMap<Peer, string>();

/** The id sessions and cookies name a server by: its `route=`, else the MD5 hex of its address. */
export function serverId(peer: Peer): string {
  let sid = serverIds.get(peer);
  if (sid === undefined) {
    sid = peer.route !== '' ? peer.route : createHash('md5').update(peer.name).digest('hex');
    serverIds.set(peer, sid);
  }
  return sid;
}

/** The first non-empty value among `getters` (ngx_http_upstream_sticky_get_id), or ''. */
function firstValue(getters: readonly VariableGetter[], r: HttpRequest): string {
  for (const get of getters) {
    const value = get(r);
    if (value !== undefined && value !== '') return value;
  }
  return '';
}

/** What a mode adds to round robin; set once the cycle's variables and zones exist. */
export interface StickyParts {
  readonly lookup: readonly VariableGetter[];
  /** learn: where sessions live, the session id variables, and when to learn. */
  readonly learn?: {
    readonly sessions: () => StickySessions;
    readonly create: readonly VariableGetter[];
    readonly atHeader: boolean;
  };
  readonly cookie?: StickyCookie;
}

export class StickyBalancer implements Balancer {
  readonly roundRobin: RoundRobin;
  private parts: StickyParts | null = null;

  constructor(roundRobin: RoundRobin) {
    this.roundRobin = roundRobin;
  }

  /** Complete the balancer (the module's init, once variables compile and zones are declared). */
  prepare(parts: StickyParts): void {
    this.parts = parts;
  }

  select(r: HttpRequest, warn: (message: string) => void): PeerSelection {
    const parts = this.parts;
    if (parts === null) throw new Error('sticky balancer used before its module prepared it');
    return new StickySelection(parts, this.roundRobin.select(r, warn), r, firstValue(parts.lookup, r));
  }
}

class StickySelection implements PeerSelection {
  private readonly parts: StickyParts;
  private readonly inner: RoundRobinSelection;
  private readonly r: HttpRequest;
  /** The lookup value: a session id (learn) or a server id (cookie, route); '' when none. */
  private readonly id: string;

  constructor(parts: StickyParts, inner: RoundRobinSelection, r: HttpRequest, id: string) {
    this.parts = parts;
    this.inner = inner;
    this.r = r;
    this.id = id;
  }

  get tries(): number {
    return this.inner.tries;
  }

  set tries(n: number) {
    this.inner.tries = n;
  }

  pick(): Peer | null {
    const sid = this.boundServer();
    return this.inner.pick(sid === undefined ? undefined : (peer) => serverId(peer) === sid);
  }

  report(peer: Peer, outcome: AttemptOutcome): void {
    const learn = this.parts.learn;
    if (outcome === 'ok' && learn !== undefined && !learn.atHeader) this.learn(peer);
    this.inner.report(peer, outcome);
  }

  responseHead(peer: Peer, _status: number, _headers: readonly string[], add: string[]): void {
    if (this.parts.learn?.atHeader) this.learn(peer);
    const cookie = this.parts.cookie;
    if (cookie !== undefined) add.push('Set-Cookie', cookie.value(this.r, serverId(peer), nowSeconds()));
  }

  /** The server id this request asks for; looked up again on every pick, as nginx does. */
  private boundServer(): string | undefined {
    if (this.id === '') return undefined;
    const learn = this.parts.learn;
    return learn === undefined ? this.id : learn.sessions().serverOf(this.id);
  }

  /** The session is the response's `create` value, else the request's own; bind it to `peer`. */
  private learn(peer: Peer): void {
    const learn = this.parts.learn!;
    const created = firstValue(learn.create, this.r);
    const id = created !== '' ? created : this.id;
    if (id !== '') learn.sessions().learn(id, serverId(peer), created !== '');
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
