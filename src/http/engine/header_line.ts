// One header line as ngx_http_parse_header_line reads it, with nginx's defaults
// ignore_invalid_headers on and underscores_in_headers off: names of letters, digits and '-'
// are kept, other printable names are ignored, a space or control byte in a name is an error.

const CR = 0x0d;
const LF = 0x0a;

/** 1 for bytes nginx keeps in header names: letters, digits, '-'. */
const NAME_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9-]/.test(ch)) NAME_CHAR[c] = 1;
}

export const HEADER_OK = 1;
/** A syntactically fine line with a name nginx ignores (underscore or other odd byte). */
export const HEADER_IGNORED = 2;
/** The empty line ending the head. */
export const HEADER_END = 3;
/** The line is not complete yet and has no error so far. */
export const HEADER_AGAIN = 4;
/** A malformed line: 400. */
export const HEADER_INVALID = 400;

/** Name and value positions of the last parsed line. */
export class HeaderLineFields {
  nameEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  /** Where the next line starts, once a line (or the head's end) is complete. */
  next = 0;
}

/**
 * Parses buf[start, end). When the line is complete, buf[end - 1] is its LF; otherwise the
 * bytes so far are checked for errors and HEADER_AGAIN is returned.
 */
export function parseHeaderLine(buf: Buffer, start: number, end: number, f: HeaderLineFields): number {
  let p = start;
  if (p >= end) return HEADER_AGAIN;
  let ch = buf[p]!;
  if (ch === LF) {
    f.next = p + 1;
    return HEADER_END;
  }
  if (ch === CR) {
    if (p + 1 >= end) return HEADER_AGAIN;
    f.next = p + 2;
    return buf[p + 1] === LF ? HEADER_END : HEADER_INVALID;
  }
  let ignored = false;
  if (NAME_CHAR[ch] === 0) {
    if (ch <= 0x20 || ch === 0x7f || ch === 0x3a) return HEADER_INVALID;
    ignored = true;
  }
  // name
  for (p++; ; p++) {
    if (p >= end) return HEADER_AGAIN;
    ch = buf[p]!;
    if (NAME_CHAR[ch] === 1) continue;
    if (ch === 0x3a) break;
    if (ch === CR || ch === LF) {
      // a name without a colon: nginx takes it with an empty value
      f.nameEnd = p;
      f.valueStart = p;
      f.valueEnd = p;
      return lineEnd(buf, p, end, ignored, f);
    }
    if (ch <= 0x20 || ch === 0x7f) return HEADER_INVALID;
    ignored = true;
  }
  f.nameEnd = p;
  // spaces before the value
  for (p++; ; p++) {
    if (p >= end) return HEADER_AGAIN;
    ch = buf[p]!;
    if (ch !== 0x20 && ch !== 0x09) break;
  }
  f.valueStart = p;
  let valueEnd = p;
  for (; ; p++) {
    if (p >= end) return HEADER_AGAIN;
    ch = buf[p]!;
    if (ch === CR || ch === LF) break;
    if (ch === 0) return HEADER_INVALID;
    if (ch !== 0x20 && ch !== 0x09) valueEnd = p + 1;
  }
  f.valueEnd = valueEnd;
  return lineEnd(buf, p, end, ignored, f);
}

/** At the first CR or LF after the value: CRs may repeat, then LF must follow. */
function lineEnd(buf: Buffer, p: number, end: number, ignored: boolean, f: HeaderLineFields): number {
  for (; p < end; p++) {
    const ch = buf[p]!;
    if (ch === LF) {
      f.next = p + 1;
      return ignored ? HEADER_IGNORED : HEADER_OK;
    }
    if (ch !== CR) return HEADER_INVALID;
  }
  return HEADER_AGAIN;
}

/**
 * The first LF in buf[start, end), or -1. Header lines are short: a loop finds their end sooner
 * than Buffer#indexOf's native call; long stretches go to indexOf.
 */
export function findLF(buf: Buffer, start: number, end: number): number {
  const stop = Math.min(end, start + 256);
  for (let i = start; i < stop; i++) if (buf[i] === LF) return i;
  if (stop === end) return -1;
  const lf = buf.indexOf(LF, stop);
  return lf < end ? lf : -1;
}
