// Chunked request bodies, as strictly as ngx_http_parse_chunked: hex sizes without overflow,
// extensions after ';', SP or HT, CRLF (never a bare LF) after sizes and data, trailers skipped.

const CR = 0x0d;
const LF = 0x0a;
/** nginx's NGX_MAX_OFF_T_VALUE / 16: a chunk size beyond this is invalid. */
const MAX_SIZE_BEFORE_DIGIT = 2 ** 59;

const S_CHUNK_START = 0;
const S_CHUNK_SIZE = 1;
const S_CHUNK_EXTENSION = 2;
const S_CHUNK_EXTENSION_ALMOST_DONE = 3;
const S_CHUNK_DATA = 4;
const S_AFTER_DATA = 5;
const S_AFTER_DATA_ALMOST_DONE = 6;
const S_LAST_CHUNK_EXTENSION = 7;
const S_LAST_CHUNK_EXTENSION_ALMOST_DONE = 8;
const S_TRAILER = 9;
const S_TRAILER_ALMOST_DONE = 10;
const S_TRAILER_HEADER = 11;
const S_TRAILER_HEADER_ALMOST_DONE = 12;

function hexDigit(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  const c = ch | 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

export class ChunkedDecoder {
  private state = S_CHUNK_START;
  /** Bytes left in the current chunk (or its declared size while reading the size). */
  private size = 0;
  done = false;
  /** Set when a chunk header declares its size: lets readers refuse too-large bodies early. */
  lastDeclaredSize = 0;

  /**
   * Decodes buf[start, end), passing data bytes to `sink`. Returns the index after the last
   * byte consumed (the end of the body once `done`), or -1 for a malformed body.
   */
  decode(buf: Buffer, start: number, end: number, sink: (data: Buffer) => void): number {
    let p = start;
    while (p < end) {
      if (this.state === S_CHUNK_DATA) {
        const n = Math.min(this.size, end - p);
        sink(buf.subarray(p, p + n));
        this.size -= n;
        p += n;
        if (this.size === 0) this.state = S_AFTER_DATA;
        continue;
      }
      const ch = buf[p++]!;
      switch (this.state) {
        case S_CHUNK_START: {
          const d = hexDigit(ch);
          if (d < 0) return -1;
          this.size = d;
          this.state = S_CHUNK_SIZE;
          break;
        }
        case S_CHUNK_SIZE: {
          if (this.size > MAX_SIZE_BEFORE_DIGIT) return -1;
          const d = hexDigit(ch);
          if (d >= 0) {
            this.size = this.size * 16 + d;
            break;
          }
          const last = this.size === 0;
          if (ch === CR)
            this.state = last ? S_LAST_CHUNK_EXTENSION_ALMOST_DONE : S_CHUNK_EXTENSION_ALMOST_DONE;
          else if (ch === 0x3b || ch === 0x20 || ch === 0x09)
            this.state = last ? S_LAST_CHUNK_EXTENSION : S_CHUNK_EXTENSION;
          else return -1;
          this.lastDeclaredSize = this.size;
          break;
        }
        case S_CHUNK_EXTENSION:
        case S_LAST_CHUNK_EXTENSION:
        case S_TRAILER_HEADER:
          if (ch === CR) this.state++;
          else if (ch === LF) return -1;
          break;
        case S_CHUNK_EXTENSION_ALMOST_DONE:
          if (ch !== LF) return -1;
          this.state = S_CHUNK_DATA;
          break;
        case S_AFTER_DATA:
          if (ch !== CR) return -1;
          this.state = S_AFTER_DATA_ALMOST_DONE;
          break;
        case S_AFTER_DATA_ALMOST_DONE:
          if (ch !== LF) return -1;
          this.state = S_CHUNK_START;
          break;
        case S_LAST_CHUNK_EXTENSION_ALMOST_DONE:
        case S_TRAILER_HEADER_ALMOST_DONE:
          if (ch !== LF) return -1;
          this.state = S_TRAILER;
          break;
        case S_TRAILER:
          if (ch === CR) this.state = S_TRAILER_ALMOST_DONE;
          else if (ch === LF) return -1;
          else this.state = S_TRAILER_HEADER;
          break;
        default:
          // S_TRAILER_ALMOST_DONE
          if (ch !== LF) return -1;
          this.done = true;
          return p;
      }
    }
    return p;
  }
}
