// The zone store's LRU list: doubly linked through the records' R_PREV/R_NEXT words, its ends in
// two words of the store header (most recent at the head, eviction from the tail). Offsets are
// record offsets in the buffer, 0 for none; the caller holds the store's lock.

import { R_NEXT, R_PREV } from './record.ts';

/** Store header words (u32 index) of the list's ends. */
export const W_LRU_HEAD = 4;
export const W_LRU_TAIL = 5;

/** Link the record in as the most recently used. */
export function lruPushHead(u32: Uint32Array, off: number): void {
  const head = u32[W_LRU_HEAD];
  u32[(off + R_PREV) >> 2] = 0;
  u32[(off + R_NEXT) >> 2] = head;
  if (head !== 0) u32[(head + R_PREV) >> 2] = off;
  else u32[W_LRU_TAIL] = off;
  u32[W_LRU_HEAD] = off;
}

/** Take the record out of the list. */
export function lruUnlink(u32: Uint32Array, off: number): void {
  const prev = u32[(off + R_PREV) >> 2];
  const next = u32[(off + R_NEXT) >> 2];
  if (prev !== 0) u32[(prev + R_NEXT) >> 2] = next;
  else u32[W_LRU_HEAD] = next;
  if (next !== 0) u32[(next + R_PREV) >> 2] = prev;
  else u32[W_LRU_TAIL] = prev;
}

/** Make the record the most recently used. */
export function lruMoveToHead(u32: Uint32Array, off: number): void {
  if (u32[W_LRU_HEAD] === off) return;
  lruUnlink(u32, off);
  lruPushHead(u32, off);
}
