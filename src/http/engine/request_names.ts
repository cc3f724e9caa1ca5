// Method and header names of a request as strings, without decoding their bytes in the common
// case: the same few names arrive on every request, so GET/HEAD/POST are recognised byte by byte
// and header names are matched against a cache of those seen lately.

import { sameBytes } from './latin1_bytes.ts';

/** The method as a string; the common ones without decoding the bytes. */
export function methodName(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  const c = buf[start];
  if (n === 3 && c === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (n === 4) {
    const c1 = buf[start + 1];
    const c2 = buf[start + 2];
    const c3 = buf[start + 3];
    if (c === 0x48 && c1 === 0x45 && c2 === 0x41 && c3 === 0x44) return 'HEAD';
    if (c === 0x50 && c1 === 0x4f && c2 === 0x53 && c3 === 0x54) return 'POST';
  }
  return buf.toString('latin1', start, end);
}

/**
 * Header names seen lately, as received and lowercased, in slots by length and a few bytes
 * (shared by every parser: parsing is synchronous).
 */
const NAME_SLOTS = 512;
const slotRaw: string[] = new Array(NAME_SLOTS).fill('');
const slotLower: string[] = new Array(NAME_SLOTS).fill('');

/** Reads a header name through the cache: after read(), `raw` and `lower` hold it. */
export class HeaderNameReader {
  /** The name as received. */
  raw = '';
  /** The name lowercased. */
  lower = '';

  read(buf: Buffer, start: number, end: number): void {
    const slot = nameSlot(buf, start, end);
    const cached = slotRaw[slot];
    if (sameBytes(cached, buf, start, end)) {
      this.raw = cached;
      this.lower = slotLower[slot];
      return;
    }
    const raw = buf.toString('latin1', start, end);
    const lower = raw.toLowerCase();
    if (raw.length <= 64) {
      slotRaw[slot] = raw;
      slotLower[slot] = lower;
    }
    this.raw = raw;
    this.lower = lower;
  }
}

function nameSlot(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  return (n * 31 + buf[start]! * 7 + buf[end - 1]! * 3 + buf[start + (n >> 1)]!) & (NAME_SLOTS - 1);
}
