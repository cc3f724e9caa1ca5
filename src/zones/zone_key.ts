// Record keys as the zone store takes them: a string or raw bytes, encoded into bytes and hashed.
// Apart from the store because neither step touches the buffer: the hash picks a bucket and is
// stored with the record so chains compare hashes before bytes.

export type Key = Uint8Array | string;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** Key bytes; a string is encoded into a shared scratch buffer (valid until the next call). */
export function keyBytes(key: Key): Uint8Array {
  if (typeof key !== 'string') return key;
  const n = key.length;
  if (n * 3 > scratch.length) scratch = new Uint8Array(n * 3);
  // Short ASCII keys (most: names, addresses) char by char, a third of encodeInto's cost for them.
  if (n <= 64) {
    let i = 0;
    for (let c = 0; i < n && (c = key.charCodeAt(i)) < 0x80; i++) scratch[i] = c;
    if (i === n) return scratch.subarray(0, n);
  }
  return scratch.subarray(0, encoder.encodeInto(key, scratch).written);
}

/**
 * FNV-1a of `b[start, end)` with murmur3's finalizer, so the high bits (which pick the bucket) are
 * mixed too.
 */
export function hashBytes(b: Uint8Array, start = 0, end = b.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `dst.set(src.subarray(start, start + length), at)`, without making a view for short runs (keys). */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, start: number, length: number): void {
  if (length > 64) dst.set(src.subarray(start, start + length), at);
  else for (let i = 0; i < length; i++) dst[at + i] = src[start + i];
}
