// The contract between a zone_sync connection and the node it belongs to: what PeerConnection
// asks of ZoneSyncNode (identity, limits, the offered zones, the identity checks of a HELLO) and
// tells it (established, caught up, closed, traffic counted).
import type { Level } from '../../core/error_log.ts';
import type { LocalZone } from './catalogue.ts';
import type { Hello } from './frames.ts';
import type { Written } from './outbound.ts';
import type { PeerConnection } from './peer_connection.ts';

/** The node, as a connection sees it (ZoneSyncNode; a test may stand in). */
export interface ConnectionHost {
  readonly instanceId: bigint;
  readonly nodeId: number;
  readonly nodeName: string;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly maxFrame: number;
  readonly snapshotWindow: number;
  /** The synced zones offered now. */
  localZones(): readonly LocalZone[];
  /** §5.2/§5.3 identity checks on the peer's HELLO: a refusal closes with its code. */
  admit(conn: PeerConnection, hello: Hello): { code: number; reason: string; level: Level } | null;
  established(conn: PeerConnection): void;
  /** The first time the peer's snapshots of every matched zone are in. */
  caughtUp(conn: PeerConnection): void;
  closed(conn: PeerConnection, reason: string): void;
  count(direction: 'in' | 'out', written: Written): void;
  log(level: Level, message: string): void;
}
