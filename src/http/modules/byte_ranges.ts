// `Range: bytes=...` as nginx's range filter reads it (ngx_http_range_parse), and the framing of a
// multipart/byteranges body with nginx's boundaries (a 20-digit, zero-padded process counter).

export interface ByteRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

/** `declined`: serve the whole file (200); `unsatisfiable`: 416; else the ranges to send (206). */
export type RangeResult = 'declined' | 'unsatisfiable' | ByteRange[];

// NGX_MAX_OFF_T_VALUE (2^63 - 1), as close as a double gets.
const MAX_OFF_T = 2 ** 63 - 1;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * The Range header against a body of `size` bytes. `maxRanges` is max_ranges (more ranges than that
 * decline to the whole file). Call only for values starting with `bytes=` (any case), 7+ chars long.
 */
export function parseRanges(value: string, size: number, maxRanges: number): RangeResult {
  const ranges: ByteRange[] = [];
  let p = 6;
  let total = 0;
  let left = maxRanges;
  const number = (): number => {
    let n = 0;
    while (isDigit(value[p])) {
      n = n * 10 + (value.charCodeAt(p++) - 48);
      if (n > MAX_OFF_T) return -1;
    }
    return n;
  };
  const skipSpaces = () => {
    while (value[p] === ' ') p++;
  };
  for (;;) {
    let start = 0;
    let end = 0;
    let suffix = false;
    let open = false;
    skipSpaces();
    if (value[p] !== '-') {
      if (!isDigit(value[p])) return 'unsatisfiable';
      start = number();
      if (start < 0) return 'unsatisfiable';
      skipSpaces();
      if (value[p++] !== '-') return 'unsatisfiable';
      skipSpaces();
      if (value[p] === ',' || p >= value.length) {
        end = size;
        open = true;
      }
    } else {
      suffix = true;
      p++;
    }
    if (!open) {
      if (!isDigit(value[p])) return 'unsatisfiable';
      end = number();
      if (end < 0) return 'unsatisfiable';
      skipSpaces();
      if (value[p] !== ',' && p < value.length) return 'unsatisfiable';
      if (suffix) {
        start = end < size ? size - end : 0;
        end = size - 1;
      }
      end = end >= size ? size : end + 1;
    }
    if (start < end) {
      ranges.push({ start, end });
      total += end - start;
      if (left-- === 0) return 'declined';
    } else if (start === 0) {
      return 'declined';
    }
    if (value[p++] !== ',') break;
  }
  if (ranges.length === 0) return 'unsatisfiable';
  if (total > size) return 'declined';
  return ranges;
}

/** `bytes 0-99/1000` for one range. */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end - 1}/${size}`;
}

let boundaryCounter = 0;

/** The next multipart boundary, as nginx prints ngx_next_temp_number(): 20 digits, zero-padded. */
export function nextBoundary(): string {
  return String(++boundaryCounter).padStart(20, '0');
}

/** The framing of a multipart/byteranges body: a head before each range's data, and the tail. */
export interface Multipart {
  readonly contentType: string;
  readonly heads: Buffer[];
  readonly tail: Buffer;
  /** The whole body's length, framing included. */
  readonly length: number;
}

export function multipart(
  ranges: readonly ByteRange[],
  size: number,
  type: string,
  boundary: string,
): Multipart {
  const partType = type === '' ? '' : `Content-Type: ${type}\r\n`;
  const heads = ranges.map((r) =>
    Buffer.from(
      `\r\n--${boundary}\r\n${partType}Content-Range: bytes ${r.start}-${r.end - 1}/${size}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let length = tail.length;
  for (let i = 0; i < ranges.length; i++) length += heads[i].length + ranges[i].end - ranges[i].start;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
}
