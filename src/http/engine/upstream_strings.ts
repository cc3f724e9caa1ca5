// Interned strings of upstream response heads: a small direct-mapped cache of header names (as
// sent, and lowercased) and of each name's last value, and the last status text. An upstream sends
// the same names and mostly the same values every time, and comparing a few bytes costs less than
// making (and lowercasing) new strings. Kept apart from the parser, which only asks for strings.

import { latin1, sameBytes } from './latin1_bytes.ts';

const SLOTS = 256;
export const NAME_RAW: (string | undefined)[] = new Array(SLOTS).fill(undefined);
export const NAME_LOWER: (string | undefined)[] = new Array(SLOTS).fill(undefined);
const LAST_VALUE: (string | undefined)[] = new Array(SLOTS).fill(undefined);
/** Values longer than this are made afresh (long cookies and the like rarely repeat). */
const VALUE_CACHE_LIMIT = 64;

/**
 * Lowercased names the proxy compares with literals: the literal itself is kept, so that those
 * comparisons (and set lookups) meet the very same string.
 */
const KNOWN_NAMES = new Map(
  [
    'content-length',
    'content-type',
    'transfer-encoding',
    'connection',
    'keep-alive',
    'date',
    'server',
    'last-modified',
    'location',
    'set-cookie',
    'x-pad',
    'x-accel-expires',
    'x-accel-redirect',
    'x-accel-limit-rate',
    'x-accel-buffering',
    'x-accel-charset',
  ].map((name) => [name, name]),
);

/** The slot holding the name in buf[start, end), filled with it if it held another. */
export function internName(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  const slot =
    (len * 7 + buf[start]! * 3 + buf[end - 1]! + (len > 2 ? buf[start + (len >> 1)]! : 0)) & (SLOTS - 1);
  const cached = NAME_RAW[slot];
  if (cached !== undefined && sameBytes(cached, buf, start, end)) return slot;
  const raw = latin1(buf, start, end);
  const lower = raw.toLowerCase();
  NAME_RAW[slot] = raw;
  NAME_LOWER[slot] = KNOWN_NAMES.get(lower) ?? lower;
  LAST_VALUE[slot] = undefined;
  return slot;
}

/** The value in buf[start, end) of the name in `slot`: the last one when its bytes repeat. */
export function internValue(slot: number, buf: Buffer, start: number, end: number): string {
  if (end - start > VALUE_CACHE_LIMIT) return latin1(buf, start, end);
  const cached = LAST_VALUE[slot];
  if (cached !== undefined && sameBytes(cached, buf, start, end)) return cached;
  const value = latin1(buf, start, end);
  LAST_VALUE[slot] = value;
  return value;
}

let lastText = '';

/** The status text in buf[start, end): the last one when its bytes repeat. */
export function internText(buf: Buffer, start: number, end: number): string {
  if (sameBytes(lastText, buf, start, end)) return lastText;
  lastText = latin1(buf, start, end);
  return lastText;
}
