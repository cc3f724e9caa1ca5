// nginx's URI normalisation (ngx_http_parse_complex_uri with merge_slashes on): percent-decode,
// merge "//", resolve "/./" and "/../", cut at "#". Paths are latin1 strings, one char per byte.

/** Bytes that need no special treatment in a path: nginx's `usual` bitmap. */
const USUAL = new Uint32Array([
  0x00000000, 0x7fff37d6, 0xffffffff, 0x7fffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
]);

export function isUsual(ch: number): boolean {
  return (USUAL[ch >> 5]! & (1 << (ch & 0x1f))) !== 0;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const HASH = 0x23;

const enum_usual = 0;
const enum_slash = 1;
const enum_dot = 2;
const enum_dotDot = 3;
const enum_quoted = 4;
const enum_quotedSecond = 5;

/** Result of normalising. */
export interface NormalizedUri {
  path: string;
  /** Query found by the complex parser (cut at '#'); undefined: no '?' before '#' or end. */
  args: string | undefined;
}

let scratch = Buffer.allocUnsafe(4096);

function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  const c = ch | 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Back up over the last path segment for "/..": null when that would go above the root. */
function backUp(out: Buffer, u: number): number {
  let i = u - 4;
  for (;;) {
    if (i < 0) return -1;
    if (out[i] === SLASH) return i + 1;
    i--;
  }
}

/**
 * Normalises buf[start, end) (path and query of the target). `emptyPath` is set for
 * "http://host?args" targets, whose path is "/". Returns null for a target nginx rejects (400).
 */
export function normalizeUri(
  buf: Buffer,
  start: number,
  end: number,
  emptyPath: boolean,
): NormalizedUri | null {
  if (scratch.length < end - start + 2) scratch = Buffer.allocUnsafe((end - start) * 2 + 2);
  const out = scratch;
  let u = 0;
  if (emptyPath) out[u++] = SLASH;
  let state = enum_usual;
  let quotedState = enum_usual;
  let decoded = 0;
  let p = start;
  let ch = p < end ? buf[p++]! : 0;
  let fromEnd = p > end;
  // Each iteration consumes `ch`; a decoded %XX byte is re-dispatched without reading.
  while (!fromEnd) {
    let next = true;
    switch (state) {
      case enum_usual:
        if (isUsual(ch)) {
          out[u++] = ch;
        } else if (ch === SLASH) {
          state = enum_slash;
          out[u++] = ch;
        } else if (ch === PERCENT) {
          quotedState = state;
          state = enum_quoted;
        } else if (ch === QUESTION) {
          return finishArgs(out, u, buf, p, end);
        } else if (ch === HASH) {
          return { path: out.toString('latin1', 0, u), args: undefined };
        } else {
          out[u++] = ch;
        }
        break;
      case enum_slash:
        if (isUsual(ch)) {
          state = enum_usual;
          out[u++] = ch;
        } else if (ch === SLASH) {
          // merge_slashes
        } else if (ch === DOT) {
          state = enum_dot;
          out[u++] = ch;
        } else if (ch === PERCENT) {
          quotedState = state;
          state = enum_quoted;
        } else if (ch === QUESTION) {
          return finishArgs(out, u, buf, p, end);
        } else if (ch === HASH) {
          return { path: out.toString('latin1', 0, u), args: undefined };
        } else {
          state = enum_usual;
          out[u++] = ch;
        }
        break;
      case enum_dot:
        if (isUsual(ch)) {
          state = enum_usual;
          out[u++] = ch;
        } else if (ch === SLASH) {
          state = enum_slash;
          u--;
        } else if (ch === DOT) {
          state = enum_dotDot;
          out[u++] = ch;
        } else if (ch === PERCENT) {
          quotedState = state;
          state = enum_quoted;
        } else if (ch === QUESTION) {
          return finishArgs(out, u - 1, buf, p, end);
        } else if (ch === HASH) {
          return { path: out.toString('latin1', 0, u - 1), args: undefined };
        } else {
          state = enum_usual;
          out[u++] = ch;
        }
        break;
      case enum_dotDot:
        if (isUsual(ch)) {
          state = enum_usual;
          out[u++] = ch;
        } else if (ch === SLASH || ch === QUESTION || ch === HASH) {
          u = backUp(out, u);
          if (u < 0) return null;
          if (ch === QUESTION) return finishArgs(out, u, buf, p, end);
          if (ch === HASH) return { path: out.toString('latin1', 0, u), args: undefined };
          state = enum_slash;
        } else if (ch === PERCENT) {
          quotedState = state;
          state = enum_quoted;
        } else {
          state = enum_usual;
          out[u++] = ch;
        }
        break;
      case enum_quoted: {
        const v = hexValue(ch);
        if (v < 0) return null;
        decoded = v;
        state = enum_quotedSecond;
        break;
      }
      default: {
        // enum_quotedSecond
        const v = hexValue(ch);
        if (v < 0) return null;
        const digit = ch <= 0x39;
        ch = (decoded << 4) + v;
        if ((digit && (ch === PERCENT || ch === HASH)) || (!digit && ch === QUESTION)) {
          state = enum_usual;
          out[u++] = ch;
          break;
        }
        if (digit && ch === 0) return null;
        state = quotedState;
        next = false;
      }
    }
    if (next) {
      if (p < end) ch = buf[p++]!;
      else fromEnd = true;
    }
  }
  if (state === enum_quoted || state === enum_quotedSecond) return null;
  if (state === enum_dot) {
    u--;
  } else if (state === enum_dotDot) {
    u = backUp(out, u);
    if (u < 0) return null;
  }
  return { path: out.toString('latin1', 0, u), args: undefined };
}

/** The query after a '?' found while normalising: up to a '#', else to the end of the target. */
function finishArgs(out: Buffer, u: number, buf: Buffer, argsStart: number, end: number): NormalizedUri {
  const path = out.toString('latin1', 0, u);
  const hash = buf.indexOf(HASH, argsStart);
  const argsEnd = hash >= 0 && hash < end ? hash : end;
  return { path, args: buf.toString('latin1', argsStart, argsEnd) };
}
