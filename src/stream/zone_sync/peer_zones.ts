// What one connection knows about the zones on both ends (docs/protocol.md §4.2, §6): the peer's
// catalogue, which zones match (same name, type and version), the peer's snapshot in progress, and
// from which zones a full snapshot has arrived. No I/O: PeerConnection feeds it frames and acts on
// what it returns; every rule the peer can break throws ProtocolError.
import type { Level } from '../../core/error_log.ts';
import type { Zone } from '../../zones/zone.ts';
import type { LocalZone } from './catalogue.ts';
import { type CatalogueEntry, ProtocolError } from './frames.ts';

/** A zone synced over this connection: ours, and the peer's index for it. */
export interface MatchedZone {
  readonly zone: Zone;
  readonly peerIndex: number;
}

/** What changed in the matching: zones to snapshot to the peer, and zones that stopped flowing. */
export interface MatchChange {
  readonly added: readonly { readonly index: number; readonly zone: Zone }[];
  readonly removed: readonly number[];
}

export class PeerZones {
  /** The peer's catalogue generation (0 until its first CATALOGUE). */
  peerGeneration = 0;
  /** The last CAUGHT_UP generation the peer sent. */
  caughtUp = 0;
  /** Our zones that match the peer's, by our index: what we send. */
  readonly matched = new Map<number, MatchedZone>();
  /** By zone name: whether the peer's full snapshot of it arrived since it matched. */
  readonly snapshotReceived = new Map<string, boolean>();
  private local: readonly LocalZone[] = [];
  private peer = new Map<number, CatalogueEntry>();
  /** The peer's index -> our zone, or null for a zone not synced with it (records dropped). */
  private inbound = new Map<number, Zone | null>();
  private open: { index: number; count: number } | null = null;
  private readonly warned = new Set<string>();
  private readonly log: (level: Level, message: string) => void;
  private readonly peerName: () => string;

  constructor(log: (level: Level, message: string) => void, peerName: () => string) {
    this.log = log;
    this.peerName = peerName;
  }

  /** Ready: the peer sent CAUGHT_UP for its current catalogue and every matched zone's snapshot. */
  get ready(): boolean {
    if (this.peerGeneration === 0 || this.caughtUp !== this.peerGeneration) return false;
    for (const received of this.snapshotReceived.values()) if (!received) return false;
    return true;
  }

  /** Our catalogue changed (at the start, or a reload). */
  setLocal(local: readonly LocalZone[]): MatchChange {
    this.local = local;
    return this.rematch();
  }

  /** The peer's CATALOGUE: generation 1 first, then one more each time. */
  setPeer(generation: number, entries: readonly CatalogueEntry[]): MatchChange {
    if (generation !== this.peerGeneration + 1) {
      throw new ProtocolError(`CATALOGUE generation ${generation} after generation ${this.peerGeneration}`);
    }
    if (this.open !== null && !entries.some((e) => e.index === this.open?.index)) {
      throw new ProtocolError(`CATALOGUE drops zone index ${this.open.index} while its snapshot is open`);
    }
    this.peerGeneration = generation;
    this.peer = new Map(entries.map((e) => [e.index, e]));
    return this.rematch();
  }

  /** Our zone for a zone index the peer sent; null when not synced here. Unknown index: error. */
  zoneFor(index: number): Zone | null {
    const zone = this.inbound.get(index);
    if (zone === undefined) throw new ProtocolError(`zone index ${index} is not in the peer's catalogue`);
    return zone;
  }

  beginSnapshot(index: number): void {
    if (this.open !== null) {
      throw new ProtocolError(`SNAPSHOT_BEGIN of zone ${index} while zone ${this.open.index} is open`);
    }
    this.zoneFor(index);
    this.open = { index, count: 0 };
  }

  /** A SNAPSHOT_CHUNK's records: only for the open zone. Returns that zone (null: dropped). */
  snapshotChunk(index: number, records: number): Zone | null {
    if (this.open?.index !== index)
      throw new ProtocolError(`SNAPSHOT_CHUNK of zone ${index}, which is not open`);
    this.open.count += records;
    return this.zoneFor(index);
  }

  /** SNAPSHOT_END: the count must be what the chunks held. Returns the zone's name when it is ours. */
  endSnapshot(index: number, count: number): { name: string; count: number } | null {
    if (this.open?.index !== index)
      throw new ProtocolError(`SNAPSHOT_END of zone ${index}, which is not open`);
    if (this.open.count !== count) {
      throw new ProtocolError(
        `SNAPSHOT_END of zone ${index} counts ${count} records, its chunks held ${this.open.count}`,
      );
    }
    this.open = null;
    const zone = this.zoneFor(index);
    if (zone === null) return null;
    this.snapshotReceived.set(zone.name, true);
    return { name: zone.name, count };
  }

  caughtUpTo(generation: number): void {
    if (generation < 1 || generation > this.peerGeneration) {
      throw new ProtocolError(
        `CAUGHT_UP for generation ${generation}, the peer's catalogue is ${this.peerGeneration}`,
      );
    }
    this.caughtUp = generation;
  }

  /**
   * Match our zones with the peer's by name; a zone that matches anew (or whose index changed on
   * either side, a replaced zone) is snapshotted both ways.
   */
  private rematch(): MatchChange {
    const byName = new Map([...this.peer.values()].map((e) => [e.name, e]));
    const added: { index: number; zone: Zone }[] = [];
    const next = new Map<number, MatchedZone>();
    this.inbound = new Map([...this.peer.keys()].map((i) => [i, null]));
    const received = new Map<string, boolean>();
    for (const { entry, zone } of this.local) {
      const theirs = byName.get(entry.name);
      if (theirs === undefined) {
        if (this.peerGeneration > 0)
          this.once('info', `zone "${entry.name}" is not on peer ${this.peerName()}, not synchronized`);
        continue;
      }
      if (theirs.type !== entry.type || theirs.version !== entry.version) {
        this.once(
          'warn',
          `zone "${entry.name}" is ${entry.type} v${entry.version} on this node but ${theirs.type} v${theirs.version} on peer ${this.peerName()}, not synchronized`,
        );
        continue;
      }
      const before = this.matched.get(entry.index);
      const same = before?.zone === zone && before.peerIndex === theirs.index;
      next.set(entry.index, { zone, peerIndex: theirs.index });
      this.inbound.set(theirs.index, zone);
      received.set(zone.name, same ? (this.snapshotReceived.get(zone.name) ?? false) : false);
      if (!same) added.push({ index: entry.index, zone });
    }
    const removed = [...this.matched.keys()].filter((i) => !next.has(i));
    this.matched.clear();
    for (const [i, m] of next) this.matched.set(i, m);
    this.snapshotReceived.clear();
    for (const [name, r] of received) this.snapshotReceived.set(name, r);
    return { added, removed };
  }

  /** Catalogue mismatches are logged once per connection and zone. */
  private once(level: Level, message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.log(level, `zone_sync: ${message}`);
  }
}
