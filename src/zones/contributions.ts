// Per-node contributions: a value layout for counters every node adds to (limit_req with `sync`).
// Each node writes only its own slot; peers' slots arrive through applyRemote and merge slot by slot,
// so a cluster-wide total is the sum of the slots instead of whichever node wrote last (HAProxy's
// overwrite under-counts; see DESIGN.md). The merge is a join (per slot, the later measurement
// wins), so it is commutative, idempotent and order-free: duplicates and reordering are harmless.
//
// Layout: slots of 16 bytes, sorted by node id, little-endian so the bytes mean the same on the wire:
//   0 u32 node     the slot's owner (its Hlc node id)
//   4 i32 amount   the owner's contribution (limit_req: excess in 1/1000 requests)
//   8 f64 at       when the owner measured it, wall ms (use Hlc.wall: it never goes back)

import type { RecordView, ZoneRecord } from './record.ts';
import type { MergeDecision } from './zone.ts';

export const SLOT_BYTES = 16;

export interface Contribution {
  readonly node: number;
  readonly amount: number;
  readonly at: number;
}

// Slots go through one scratch slot: a DataView per value (most values are views into a zone's
// SharedArrayBuffer) cost more than all the decoding (bench/limit_req.ts, sync zones).
const slot = new DataView(new ArrayBuffer(SLOT_BYTES));
const slotBytes = new Uint8Array(slot.buffer);

/** The slots of a value; a trailing partial slot (a malformed peer value) is ignored. */
export function readContributions(value: Uint8Array): Contribution[] {
  const out: Contribution[] = [];
  for (let o = 0; o + SLOT_BYTES <= value.length; o += SLOT_BYTES) {
    for (let i = 0; i < SLOT_BYTES; i++) slotBytes[i] = value[o + i];
    out.push({ node: slot.getUint32(0, true), amount: slot.getInt32(4, true), at: slot.getFloat64(8, true) });
  }
  return out;
}

/** A node's slot, or undefined. */
export function contributionOf(value: Uint8Array, node: number): Contribution | undefined {
  return readContributions(value).find((c) => c.node === node);
}

export function encodeContributions(slots: readonly Contribution[]): Uint8Array {
  const sorted = [...slots].sort((a, b) => a.node - b.node);
  const out = new Uint8Array(sorted.length * SLOT_BYTES);
  sorted.forEach((c, i) => {
    slot.setUint32(0, c.node, true);
    slot.setInt32(4, c.amount, true);
    slot.setFloat64(8, c.at, true);
    out.set(slotBytes, i * SLOT_BYTES);
  });
  return out;
}

/** `value` with `slot` set (the local node writes its own contribution this way). */
export function withContribution(value: Uint8Array | undefined, slot: Contribution): Uint8Array {
  const others = value ? readContributions(value).filter((c) => c.node !== slot.node) : [];
  return encodeContributions([...others, slot]);
}

/** The later measurement wins; equal times keep the larger amount, so every node picks the same. */
function newer(a: Contribution, b: Contribution): boolean {
  return a.at > b.at || (a.at === b.at && a.amount > b.amount);
}

/** Merge rule for ZoneType.merge: per-node slots, each kept at its latest measurement. */
export function mergeContributions(local: RecordView | undefined, remote: ZoneRecord): MergeDecision {
  if (remote.deleted) return 'keep';
  if (local === undefined || local.deleted) return 'take';
  const merged = new Map<number, Contribution>();
  for (const c of readContributions(local.value)) merged.set(c.node, c);
  let changed = false;
  for (const c of readContributions(remote.value)) {
    const mine = merged.get(c.node);
    if (mine === undefined || newer(c, mine)) {
      merged.set(c.node, c);
      changed = true;
    }
  }
  return changed ? encodeContributions([...merged.values()]) : 'keep';
}
