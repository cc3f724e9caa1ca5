// The zones a node offers (docs/protocol.md §4.2): every zone of the cycle marked `sync`, each with
// the index this node gives it for as long as the process runs. A zone that a reload replaces (a
// new, empty zone under the same name) gets a new index, so peers see a new zone and send their
// snapshot of it again; an index is never given to another zone.
import type { Zone } from '../../zones/zone.ts';
import type { CatalogueEntry } from './frames.ts';

/** One synced zone as this node offers it. */
export interface LocalZone {
  readonly entry: CatalogueEntry;
  readonly zone: Zone;
}

const MAX_INDEX = 0xffff;

export class Catalogue {
  private readonly indexes = new Map<Zone, number>();
  private nextIndex = 0;
  private zones: readonly LocalZone[] = [];

  /** The zones offered now. */
  get current(): readonly LocalZone[] {
    return this.zones;
  }

  /** Offer the synced zones of `registry` (a new cycle's); zones it lacks are no longer offered. */
  update(registry: Iterable<Zone>): readonly LocalZone[] {
    const zones: LocalZone[] = [];
    for (const zone of registry) {
      if (!zone.sync) continue;
      let index = this.indexes.get(zone);
      if (index === undefined) {
        if (this.nextIndex > MAX_INDEX)
          throw new Error('zone_sync: zone indexes exhausted, restart the node');
        index = this.nextIndex++;
        this.indexes.set(zone, index);
      }
      const version = zone.type.syncVersion ?? 1;
      zones.push({ zone, entry: { index, name: zone.name, type: zone.type.name, version } });
    }
    // Zones gone from the configuration keep no index: theirs is never reused anyway.
    for (const zone of this.indexes.keys())
      if (!zones.some((z) => z.zone === zone)) this.indexes.delete(zone);
    this.zones = zones;
    return zones;
  }
}
