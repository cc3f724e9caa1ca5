// The request line, byte by byte as ngx_http_parse_request_line reads it (nginx 1.27+):
// uppercase/`_`/`-` method, origin- or absolute-form target (authority form for CONNECT),
// HTTP/0.9 simple requests, control characters and spaces inside the target rejected.

import { isUsual } from './uri.ts';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

/** What one request line parse found; offsets are absolute in the buffer. */
export class RequestLineFields {
  methodEnd = 0;
  uriStart = -1;
  uriEnd = -1;
  argsStart = -1;
  hostStart = -1;
  hostEnd = -1;
  complex = false;
  quoted = false;
  emptyPath = false;
  connect = false;
  major = 0;
  minor = 0;
  /** "http://host" without a path: the URI is the "/" of "//". */
  slashAt = -1;

  reset(): void {
    this.methodEnd = 0;
    this.uriStart = -1;
    this.uriEnd = -1;
    this.argsStart = -1;
    this.hostStart = -1;
    this.hostEnd = -1;
    this.complex = false;
    this.quoted = false;
    this.emptyPath = false;
    this.connect = false;
    this.major = 0;
    this.minor = 0;
    this.slashAt = -1;
  }
}

/** Parse outcome: a status to answer (400, 505), or one of these. */
export const LINE_DONE = 0;
export const LINE_AGAIN = -1;
/** "POST /\r\n": a complete HTTP/0.9 request with a method other than GET (answered 400). */
export const LINE_BAD_09 = -2;

const S_METHOD = 1;
const S_SPACES_BEFORE_URI = 2;
const S_SCHEMA = 3;
const S_SCHEMA_SLASH = 4;
const S_SCHEMA_SLASH_SLASH = 5;
const S_SPACES_BEFORE_HOST = 6;
const S_HOST_START = 7;
const S_HOST = 8;
const S_HOST_END = 9;
const S_HOST_IP_LITERAL = 10;
const S_PORT = 11;
const S_AFTER_SLASH = 12;
const S_CHECK_URI = 13;
const S_URI = 14;
const S_HTTP_09 = 15;
const S_H = 16;
const S_HT = 17;
const S_HTT = 18;
const S_HTTP = 19;
const S_FIRST_MAJOR = 20;
const S_MAJOR = 21;
const S_FIRST_MINOR = 22;
const S_MINOR = 23;
const S_SPACES_AFTER_DIGIT = 24;
const S_ALMOST_DONE = 25;

function isMethodChar(ch: number): boolean {
  return (ch >= 0x41 && ch <= 0x5a) || ch === 0x5f || ch === 0x2d;
}

function isAlpha(ch: number): boolean {
  const c = ch | 0x20;
  return c >= 0x61 && c <= 0x7a;
}

function isDigit(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

function isSubDelimOrUnreserved(ch: number): boolean {
  // - . _ ~ ! $ & ' ( ) * + , ; =
  return "-._~!$&'()*+,;=".includes(String.fromCharCode(ch));
}

/**
 * Parses buf[start, end): `start` is the first byte of the method (leading CR/LF already
 * skipped), `end` is just past the LF or the end of the bytes received so far. Returns
 * LINE_DONE, LINE_BAD_09, LINE_AGAIN when the bytes end first, or a status (400, 505).
 */
export function parseRequestLine(buf: Buffer, start: number, end: number, f: RequestLineFields): number {
  let state = S_METHOD;
  for (let p = start; p < end; p++) {
    const ch = buf[p]!;
    switch (state) {
      case S_METHOD:
        if (ch === SP) {
          f.methodEnd = p;
          if (p - start === 7 && buf.toString('latin1', start, p) === 'CONNECT') {
            f.connect = true;
            state = S_SPACES_BEFORE_HOST;
          } else {
            state = S_SPACES_BEFORE_URI;
          }
          break;
        }
        if (!isMethodChar(ch)) return 400;
        break;
      case S_SPACES_BEFORE_URI:
        if (ch === 0x2f) {
          f.uriStart = p;
          state = S_AFTER_SLASH;
        } else if (isAlpha(ch)) {
          state = S_SCHEMA;
        } else if (ch !== SP) {
          return 400;
        }
        break;
      case S_SCHEMA:
        if (isAlpha(ch) || isDigit(ch) || ch === 0x2b || ch === 0x2d || ch === 0x2e) break;
        if (ch !== 0x3a) return 400;
        state = S_SCHEMA_SLASH;
        break;
      case S_SCHEMA_SLASH:
        if (ch !== 0x2f) return 400;
        state = S_SCHEMA_SLASH_SLASH;
        break;
      case S_SCHEMA_SLASH_SLASH:
        if (ch !== 0x2f) return 400;
        f.slashAt = p;
        state = S_HOST_START;
        break;
      case S_SPACES_BEFORE_HOST:
      case S_HOST_START:
      case S_HOST:
      case S_HOST_END:
        if (state === S_SPACES_BEFORE_HOST) {
          if (ch === SP) break;
          state = S_HOST_START;
        }
        if (state === S_HOST_START) {
          f.hostStart = p;
          if (ch === 0x5b) {
            state = S_HOST_IP_LITERAL;
            break;
          }
          state = S_HOST;
        }
        if (state === S_HOST && (isAlpha(ch) || isDigit(ch) || ch === 0x2e || ch === 0x2d)) break;
        // host end
        if (ch === 0x3a) {
          state = S_PORT;
          break;
        }
        f.hostEnd = p;
        if (f.connect) return 400;
        state = afterAuthority(p, ch, f);
        if (state === 0) return 400;
        break;
      case S_HOST_IP_LITERAL:
        if (isDigit(ch) || isAlpha(ch) || ch === 0x3a) break;
        if (ch === 0x5d) {
          state = S_HOST_END;
          break;
        }
        if (!isSubDelimOrUnreserved(ch)) return 400;
        break;
      case S_PORT:
        if (isDigit(ch)) break;
        f.hostEnd = p;
        if (f.connect) {
          if (ch !== SP) return 400;
          state = S_HTTP_09;
          break;
        }
        state = afterAuthority(p, ch, f);
        if (state === 0) return 400;
        break;
      case S_AFTER_SLASH:
        if (isUsual(ch)) {
          state = S_CHECK_URI;
          break;
        }
        if (ch === 0x2e || ch === 0x2f || ch === 0x23) {
          f.complex = true;
          state = S_URI;
        } else if (ch === 0x25) {
          f.quoted = true;
          state = S_URI;
        } else if (ch === 0x3f) {
          f.argsStart = p + 1;
          state = S_URI;
        } else if (ch === 0x2b) {
          // plus_in_uri only matters on Windows
        } else {
          const r = uriEndChar(ch, p, f);
          if (r === 0) state = S_CHECK_URI;
          else if (r > 0) state = r;
          else return r === -2 ? finish09(buf, start, f) : 400;
        }
        break;
      case S_CHECK_URI:
        if (isUsual(ch)) break;
        if (ch === 0x2f) {
          state = S_AFTER_SLASH;
        } else if (ch === 0x2e || ch === 0x2b) {
          // extension / plus: nothing to do here
        } else if (ch === 0x25) {
          f.quoted = true;
          state = S_URI;
        } else if (ch === 0x3f) {
          f.argsStart = p + 1;
          state = S_URI;
        } else if (ch === 0x23) {
          f.complex = true;
          state = S_URI;
        } else {
          const r = uriEndChar(ch, p, f);
          if (r > 0) state = r;
          else if (r === -2) return finish09(buf, start, f);
          else if (r === -1) return 400;
        }
        break;
      case S_URI:
        if (isUsual(ch)) break;
        if (ch === 0x23) {
          f.complex = true;
        } else {
          const r = uriEndChar(ch, p, f);
          if (r > 0) state = r;
          else if (r === -2) return finish09(buf, start, f);
          else if (r === -1) return 400;
        }
        break;
      case S_HTTP_09:
        if (ch === SP) break;
        if (ch === CR) {
          state = S_ALMOST_DONE;
        } else if (ch === LF) {
          return finish09(buf, start, f);
        } else if (ch === 0x48) {
          state = S_H;
        } else {
          return 400;
        }
        break;
      case S_H:
      case S_HT:
        if (ch !== 0x54) return 400;
        state++;
        break;
      case S_HTT:
        if (ch !== 0x50) return 400;
        state = S_HTTP;
        break;
      case S_HTTP:
        if (ch !== 0x2f) return 400;
        state = S_FIRST_MAJOR;
        break;
      case S_FIRST_MAJOR:
        if (ch < 0x31 || ch > 0x39) return 400;
        f.major = ch - 0x30;
        if (f.major > 1) return 505;
        state = S_MAJOR;
        break;
      case S_MAJOR:
        if (ch === 0x2e) {
          state = S_FIRST_MINOR;
          break;
        }
        if (!isDigit(ch)) return 400;
        f.major = f.major * 10 + (ch - 0x30);
        if (f.major > 1) return 505;
        break;
      case S_FIRST_MINOR:
        if (!isDigit(ch)) return 400;
        f.minor = ch - 0x30;
        state = S_MINOR;
        break;
      case S_MINOR:
        if (ch === CR) {
          state = S_ALMOST_DONE;
        } else if (ch === LF) {
          return LINE_DONE;
        } else if (ch === SP) {
          state = S_SPACES_AFTER_DIGIT;
        } else {
          if (!isDigit(ch) || f.minor > 99) return 400;
          f.minor = f.minor * 10 + (ch - 0x30);
        }
        break;
      case S_SPACES_AFTER_DIGIT:
        if (ch === CR) state = S_ALMOST_DONE;
        else if (ch === LF) return LINE_DONE;
        else if (ch !== SP) return 400;
        break;
      default:
        // S_ALMOST_DONE
        if (ch !== LF) return 400;
        return f.major === 0 ? finish09(buf, start, f) : LINE_DONE;
    }
  }
  return LINE_AGAIN;
}

/** After host[:port] of an absolute-form target: the state to go on with, 0 for invalid. */
function afterAuthority(p: number, ch: number, f: RequestLineFields): number {
  if (ch === 0x2f) {
    f.uriStart = p;
    return S_AFTER_SLASH;
  }
  if (ch === 0x3f) {
    f.uriStart = p;
    f.argsStart = p + 1;
    f.emptyPath = true;
    return S_URI;
  }
  if (ch === SP) {
    // "http://host HTTP/1.1": the URI is the "/" of "//"
    f.uriStart = f.slashAt;
    f.uriEnd = f.slashAt + 1;
    return S_HTTP_09;
  }
  return 0;
}

/**
 * A byte that may end the target: SP (version follows), CR/LF (HTTP/0.9). Returns the next
 * state, 0 for an ordinary byte, -1 for a control byte (400), -2 for an LF ending a 0.9 line.
 */
function uriEndChar(ch: number, p: number, f: RequestLineFields): number {
  if (ch === SP) {
    f.uriEnd = p;
    return S_HTTP_09;
  }
  if (ch === CR) {
    f.uriEnd = p;
    return S_ALMOST_DONE;
  }
  if (ch === LF) {
    f.uriEnd = p;
    return -2;
  }
  if (ch < 0x20 || ch === 0x7f) return -1;
  return 0;
}

/** A complete HTTP/0.9 line: only GET is allowed. */
function finish09(buf: Buffer, start: number, f: RequestLineFields): number {
  f.major = 0;
  f.minor = 9;
  if (
    f.methodEnd - start === 3 &&
    buf[start] === 0x47 &&
    buf[start + 1] === 0x45 &&
    buf[start + 2] === 0x54
  ) {
    return LINE_DONE;
  }
  return LINE_BAD_09;
}
