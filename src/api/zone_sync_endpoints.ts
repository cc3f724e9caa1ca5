// `GET /api/{v}/stream/zone_sync/` (API 3+): NGINX Plus's `status` and `zones` objects, exactly as
// Plus names them, plus our own `zonesync` object (Plus has no readiness signal): this node's
// identity, each peer's state, and whether the peers' snapshots of every synced zone are in.
// Without a zone_sync server the path is not found, as Plus leaves zone_sync out of `/stream/`.
import type { Membership } from '../stream/zone_sync/membership.ts';
import { instanceText, type ZoneSyncNode } from '../stream/zone_sync/node.ts';
import type { PeerConnection } from '../stream/zone_sync/peer_connection.ts';
import { pathNotFound } from './errors.ts';
import type { ApiEndpoint } from './router.ts';

/** The running zone_sync, or null when the live cycle has none. */
export type ZoneSyncRuntimeView = () => {
  readonly node: ZoneSyncNode;
  readonly membership: Membership;
} | null;

interface PeerStatus {
  address: string;
  /** established, handshake (connected, HELLO/CATALOGUE not done), connecting, waiting (to retry). */
  state: string;
  /** Its snapshots of every zone synced with it are in. */
  ready: boolean;
  direction?: 'outbound' | 'inbound';
  instance?: string;
  node_id?: number;
  rtt_ms?: number;
  clock_offset_ms?: number;
  /** Why the last connection attempt failed. */
  error?: string;
  zones: Record<string, { snapshot_received: boolean }>;
}

function connectionStatus(c: PeerConnection): PeerStatus {
  const zones: Record<string, { snapshot_received: boolean }> = {};
  for (const [name, received] of c.zones.snapshotReceived) zones[name] = { snapshot_received: received };
  return {
    address: c.name,
    state: c.state === 'established' ? 'established' : 'handshake',
    ready: c.ready,
    direction: c.outbound ? 'outbound' : 'inbound',
    instance: c.hello === undefined ? undefined : instanceText(c.hello.instanceId),
    node_id: c.hello?.nodeId,
    rtt_ms: c.heartbeat.rttMs,
    clock_offset_ms: c.heartbeat.clockOffsetMs,
    zones,
  };
}

/** Connections first (a peer connected the other way merges with its dialer by address), then dialers. */
function peers(node: ZoneSyncNode, membership: Membership): PeerStatus[] {
  const byAddress = new Map<string, PeerStatus>();
  for (const c of node.connections) {
    if (c.state === 'closed') continue;
    const seen = byAddress.get(c.name);
    if (seen === undefined || (seen.state !== 'established' && c.state === 'established')) {
      byAddress.set(c.name, connectionStatus(c));
    }
  }
  for (const d of membership.dialers.values()) {
    if (byAddress.has(d.address) || d.state === 'self' || d.state === 'stopped') continue;
    byAddress.set(d.address, {
      address: d.address,
      state: d.state,
      ready: false,
      error: d.lastError,
      zones: {},
    });
  }
  return [...byAddress.values()];
}

export function zoneSyncEndpoint(runtime: ZoneSyncRuntimeView): ApiEndpoint {
  return {
    path: ['stream', 'zone_sync'],
    since: 3,
    present: () => runtime() !== null,
    methods: {
      GET: () => {
        const running = runtime();
        if (running === null) throw pathNotFound();
        const { node, membership } = running;
        const zones: Record<string, { records_pending: number; records_total: number }> = {};
        for (const local of node.localZones()) {
          zones[local.entry.name] = {
            records_pending: node.pendingRecords(local),
            records_total: local.zone.stats().records,
          };
        }
        return {
          status: 200,
          body: {
            status: { nodes_online: node.nodesOnline, ...node.counters },
            zones,
            zonesync: {
              node: { instance: instanceText(node.instanceId), node_id: node.nodeId, name: node.nodeName },
              ready: node.ready,
              peers: peers(node, membership),
            },
          },
        };
      },
    },
  };
}
