// The zone store's hash chains: each bucket word holds the first record of its chain, each record
// the next one in R_CHAIN (byte offsets, 0 = end). Records carry their key's hash, compared before
// the key bytes. The caller holds the store's lock.

import { R_CHAIN, R_HASH, R_KEY_LENGTH, RECORD_HEADER_BYTES, type ZoneMemory } from './record.ts';

/**
 * The record of key `k[start, +length)` (whose hash is `hash`) in the chain of bucket word `bucket`,
 * or 0.
 */
export function chainFind(
  m: ZoneMemory,
  bucket: number,
  k: Uint8Array,
  start: number,
  length: number,
  hash: number,
): number {
  const { u8, u16, u32 } = m;
  for (let off = u32[bucket]; off !== 0; off = u32[(off + R_CHAIN) >> 2]) {
    if (u32[(off + R_HASH) >> 2] !== hash || u16[(off + R_KEY_LENGTH) >> 1] !== length) continue;
    let i = 0;
    const base = off + RECORD_HEADER_BYTES;
    while (i < length && u8[base + i] === k[start + i]) i++;
    if (i === length) return off;
  }
  return 0;
}

/** Take the record out of the chain of bucket word `bucket`. */
export function chainUnlink(u32: Uint32Array, bucket: number, off: number): void {
  const next = u32[(off + R_CHAIN) >> 2];
  if (u32[bucket] === off) {
    u32[bucket] = next;
    return;
  }
  let p = u32[bucket];
  while (u32[(p + R_CHAIN) >> 2] !== off) p = u32[(p + R_CHAIN) >> 2];
  u32[(p + R_CHAIN) >> 2] = next;
}
