// `/api/{v}/http/upstreams/` and `/http/upstreams/{name}`: the upstream groups of the cycle serving
// the API request, in NGINX Plus's shape. As in Plus, a group is reported only when it has a `zone`
// (there the zone holds the group's run-time state; here the counters of peer_stats.ts).
// DELETE on a group resets its servers' statistics.
import { enclosing, find } from '../config/tree.ts';
import type { ConfBlock } from '../config/types.ts';
import type { HttpRequest } from '../http/types.ts';
import type { Peer, UpstreamGroup } from '../http/upstream/balancer.ts';
import { peerStats } from '../http/upstream/peer_stats.ts';
import { peerAvailable } from '../http/upstream/round_robin.ts';
import { keepaliveCacheOf, upstreamsOf } from '../http/upstream/upstream.ts';
import { ApiError } from './errors.ts';
import type { ApiEndpoint, ApiRequest } from './router.ts';

/** The `zone` of a group, or undefined when it has none (and so is not reported). */
function zoneName(group: UpstreamGroup): string | undefined {
  const block = group.entry?.block;
  return block === undefined ? undefined : find(block, 'zone')?.args[0];
}

function groupsOf(r: HttpRequest): Map<string, UpstreamGroup> {
  const http = enclosing(r.server.block, 'http') as ConfBlock;
  const out = new Map<string, UpstreamGroup>();
  for (const group of upstreamsOf(http).explicitGroups()) {
    if (zoneName(group) !== undefined) out.set(group.name, group);
  }
  return out;
}

function groupOf(req: ApiRequest): UpstreamGroup {
  const group = groupsOf(req.http).get(req.params.upstream);
  if (group === undefined) throw new ApiError(404, 'UpstreamNotFound', 'upstream not found');
  return group;
}

const iso = (ms: number) => new Date(ms).toISOString();

function stateOf(peer: Peer, now: number): string {
  if (peer.down) return 'down';
  return peerAvailable(peer, Math.floor(now / 1000)) ? 'up' : 'unavail';
}

function peerJson(peer: Peer, id: number, now: number): Record<string, unknown> {
  const s = peerStats(peer);
  s.settle(peer, now);
  const [r1, r2, r3, r4, r5] = s.classes;
  const out: Record<string, unknown> = {
    id,
    server: peer.name,
    name: peer.server,
    backup: peer.backup,
    weight: peer.weight,
    state: stateOf(peer, now),
    active: peer.conns,
    requests: s.requests,
    responses: {
      '1xx': r1,
      '2xx': r2,
      '3xx': r3,
      '4xx': r4,
      '5xx': r5,
      codes: Object.fromEntries([...s.codes].sort(([a], [b]) => a - b)),
      total: s.headers,
    },
    sent: s.sent,
    received: s.received,
    fails: s.fails,
    unavail: s.unavail,
    health_checks: { checks: 0, fails: 0, unhealthy: 0 },
    downtime: s.downtime + (s.downstart === 0 ? 0 : now - s.downstart),
  };
  if (s.downstart !== 0) out.downstart = iso(s.downstart);
  if (s.selected !== 0) out.selected = iso(s.selected);
  if (s.headers > 0) out.header_time = Math.round(s.headerTime / s.headers);
  if (s.responses > 0) out.response_time = Math.round(s.responseTime / s.responses);
  return out;
}

function groupJson(group: UpstreamGroup): Record<string, unknown> {
  const now = Date.now();
  const peers = [...group.peers, ...group.backups].map((peer, id) => peerJson(peer, id, now));
  return {
    peers,
    keepalive: keepaliveCacheOf(group)?.size ?? 0,
    zombies: 0,
    zone: zoneName(group),
  };
}

export const upstreamsEndpoint: ApiEndpoint = {
  path: ['http', 'upstreams'],
  shape: 'collection',
  methods: {
    GET: (req) => {
      const body: Record<string, unknown> = {};
      for (const [name, group] of groupsOf(req.http)) body[name] = groupJson(group);
      return { status: 200, body };
    },
  },
};

export const upstreamEndpoint: ApiEndpoint = {
  path: ['http', 'upstreams', '{upstream}'],
  methods: {
    GET: (req) => ({ status: 200, body: groupJson(groupOf(req)) }),
    DELETE: (req) => {
      const group = groupOf(req);
      for (const peer of [...group.peers, ...group.backups]) peerStats(peer).reset();
      return { status: 204 };
    },
  },
};
