// This node of the zone_sync mesh: its identity (a random instance id per process, the HLC node id),
// the synced zones it offers, its live connections with the protocol's identity rules (self,
// duplicate, node-id conflict: docs/protocol.md §5), the fan-out of local changes to every peer,
// and the counters the API reports. Who to connect to is membership.ts's business.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Level } from '../../core/error_log.ts';
import type { Zone } from '../../zones/zone.ts';
import { Catalogue, type LocalZone } from './catalogue.ts';
import { CloseCode, DEFAULT_MAX_FRAME, type Hello } from './codec.ts';
import type { ConnectionHost } from './connection_host.ts';
import type { Written } from './outbound.ts';
import { PeerConnection } from './peer_connection.ts';

/** Snapshot bytes a peer may send unacknowledged (HELLO window, §7). */
const SNAPSHOT_WINDOW = 256 * 1024;

export interface NodeSettings {
  readonly nodeId: number;
  /** How this node names itself to peers: its zone_sync listen address, `127.0.0.2:9000`. */
  readonly nodeName: string;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly maxFrame?: number;
  /** Random when absent (a process start); tests fix it to order instances. */
  readonly instanceId?: bigint;
}

export type NodeLog = (level: Level, message: string) => void;

/** The counters of `GET /api/9/stream/zone_sync` (§13). */
export interface SyncCounters {
  msgs_in: number;
  msgs_out: number;
  bytes_in: number;
  bytes_out: number;
}

function randomInstanceId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64LE();
    if (id !== 0n) return id;
  }
}

export function instanceText(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

export class ZoneSyncNode implements ConnectionHost {
  readonly instanceId: bigint;
  readonly nodeId: number;
  nodeName: string;
  timeoutMs: number;
  intervalMs: number;
  readonly maxFrame: number;
  readonly snapshotWindow = SNAPSHOT_WINDOW;
  readonly counters: SyncCounters = { msgs_in: 0, msgs_out: 0, bytes_in: 0, bytes_out: 0 };
  readonly connections = new Set<PeerConnection>();
  log: NodeLog;
  private readonly catalogue = new Catalogue();
  private readonly subscriptions = new Map<Zone, () => void>();
  private readonly closeListeners = new Map<PeerConnection, (conn: PeerConnection) => void>();

  constructor(settings: NodeSettings, log: NodeLog) {
    this.instanceId = settings.instanceId ?? randomInstanceId();
    this.nodeId = settings.nodeId;
    this.nodeName = settings.nodeName;
    this.timeoutMs = settings.timeoutMs;
    this.intervalMs = settings.intervalMs;
    this.maxFrame = settings.maxFrame ?? DEFAULT_MAX_FRAME;
    this.log = log;
  }

  localZones(): readonly LocalZone[] {
    return this.catalogue.current;
  }

  /** Offer the synced zones of a (new) cycle: feed their changes to peers, tell peers of the change. */
  setZones(zones: Iterable<Zone>): void {
    const before = this.catalogue.current;
    const local = this.catalogue.update(zones);
    for (const [zone, unsubscribe] of this.subscriptions) {
      if (local.some((z) => z.zone === zone)) continue;
      unsubscribe();
      this.subscriptions.delete(zone);
    }
    for (const { zone, entry } of local) {
      if (this.subscriptions.has(zone)) continue;
      const index = entry.index;
      this.subscriptions.set(
        zone,
        zone.subscribe((change) => {
          for (const conn of this.connections) conn.addLive(index, change);
        }),
      );
    }
    const same = before.length === local.length && before.every((z, i) => sameEntry(z, local[i]));
    if (!same) for (const conn of this.connections) conn.setCatalogue(local);
  }

  /** Run the protocol on a connected socket (TLS done, if any). */
  attach(
    socket: Socket,
    options: { outbound: boolean; address: string; onClose?: (conn: PeerConnection) => void },
  ): PeerConnection {
    const conn = new PeerConnection(socket, this, options);
    if (options.onClose !== undefined) this.closeListeners.set(conn, options.onClose);
    this.connections.add(conn);
    conn.start();
    return conn;
  }

  /** The instance of a live peer that connected from `ip` and names itself `address`, if any. */
  instanceAt(ip: string, address: string): bigint | undefined {
    for (const c of this.connections) {
      if (c.outbound || c.state === 'hello' || c.state === 'closed' || c.hello?.nodeName !== address)
        continue;
      if (c.remoteAddress?.replace(/^::ffff:/, '') === ip) return c.hello.instanceId;
    }
    return undefined;
  }

  /** Whether a connection to this instance has passed its handshake and is open. */
  isConnectedTo(instanceId: bigint): boolean {
    for (const c of this.connections)
      if (c.state !== 'hello' && c.hello?.instanceId === instanceId) return true;
    return false;
  }

  /** Peers with an established connection: `nodes_online`. */
  get nodesOnline(): number {
    let n = 0;
    for (const c of this.connections) if (c.state === 'established') n++;
    return n;
  }

  /** Every established peer has sent its snapshots of every matched zone (vacuously true alone). */
  get ready(): boolean {
    for (const c of this.connections) if (c.state === 'established' && !c.ready) return false;
    return true;
  }

  /** Live records not yet written to every peer, per zone: the union of the peers' pending sets. */
  pendingRecords(zone: LocalZone): number {
    const keys = new Set<string>();
    for (const c of this.connections) for (const k of c.pendingKeys(zone.entry.index)) keys.add(k);
    return keys.size;
  }

  /** A peer left the cluster: close its connections, whichever side opened them. */
  closePeer(address: string, instanceId: bigint | undefined, reason: string): void {
    for (const c of [...this.connections]) {
      if (c.name === address || (instanceId !== undefined && c.hello?.instanceId === instanceId)) {
        c.close(CloseCode.Shutdown, reason);
      }
    }
  }

  /** CLOSE `shutdown` on every connection (a stop, or a reload that changed zone_sync). */
  closeAll(reason: string): void {
    for (const c of [...this.connections]) c.close(CloseCode.Shutdown, reason);
  }

  /** Stop for good: connections closed, zones no longer watched. */
  shutdown(reason: string): void {
    this.closeAll(reason);
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }

  // ConnectionHost

  admit(conn: PeerConnection, hello: Hello): { code: number; reason: string; level: Level } | null {
    const peer = `peer ${conn.name} (instance ${instanceText(hello.instanceId)})`;
    if (hello.instanceId === this.instanceId) {
      return {
        code: CloseCode.Self,
        reason: `${conn.name} is this node, not connecting to it`,
        level: 'info',
      };
    }
    const initiator = (c: PeerConnection) => (c.outbound ? this.instanceId : hello.instanceId);
    for (const other of this.connections) {
      if (other === conn || other.state === 'hello' || other.state === 'closed') continue;
      if (other.hello?.instanceId !== hello.instanceId) continue;
      // One connection per pair: the one initiated by the lower instance id survives; when one node
      // initiated both (a peer reached at two addresses), the older one does.
      const newWins = initiator(conn) !== initiator(other) && initiator(conn) < initiator(other);
      if (!newWins) {
        return {
          code: CloseCode.Duplicate,
          reason: `${peer} is already connected, duplicate connection closed`,
          level: 'info',
        };
      }
      this.log('info', `zone_sync: ${peer} connected again, closing the duplicate connection`);
      other.close(CloseCode.Duplicate, 'duplicate connection');
    }
    const advice = 'give every node its own node id (restart one: node ids are drawn at start)';
    if (hello.nodeId === this.nodeId) {
      return {
        code: CloseCode.NodeIdConflict,
        reason: `${peer} uses node id ${hello.nodeId}, as does this node; ${advice}`,
        level: 'error',
      };
    }
    for (const other of this.connections) {
      if (other === conn || other.state === 'hello' || other.state === 'closed') continue;
      if (other.hello?.nodeId !== hello.nodeId) continue;
      return {
        code: CloseCode.NodeIdConflict,
        reason: `${peer} uses node id ${hello.nodeId}, as does peer ${other.name}; ${advice}`,
        level: 'error',
      };
    }
    return null;
  }

  established(conn: PeerConnection): void {
    this.log('notice', `zone_sync: peer ${conn.name} connected`);
  }

  caughtUp(conn: PeerConnection): void {
    this.log('info', `zone_sync: caught up with peer ${conn.name}`);
  }

  closed(conn: PeerConnection, reason: string): void {
    this.connections.delete(conn);
    // A duplicate's peer stays connected through the surviving connection.
    if (conn.closeCode === CloseCode.Duplicate)
      this.log('info', `zone_sync: duplicate connection with peer ${conn.name} closed`);
    else if (conn.wasEstablished) this.log('notice', `zone_sync: peer ${conn.name} disconnected: ${reason}`);
    else if (conn.closeCode === undefined)
      this.log('info', `zone_sync: connection with ${conn.name} closed during the handshake: ${reason}`);
    const listener = this.closeListeners.get(conn);
    this.closeListeners.delete(conn);
    listener?.(conn);
  }

  count(direction: 'in' | 'out', written: Written): void {
    if (direction === 'in') {
      this.counters.msgs_in += written.frames;
      this.counters.bytes_in += written.bytes;
    } else {
      this.counters.msgs_out += written.frames;
      this.counters.bytes_out += written.bytes;
    }
  }
}

function sameEntry(a: LocalZone, b: LocalZone): boolean {
  return a.zone === b.zone && a.entry.index === b.entry.index;
}
