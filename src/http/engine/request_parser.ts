// Reads one request head (request line and header lines) incrementally from the connection's
// bytes, answering errors the way nginx does and as early as nginx would see them.

import { HeaderBufferLayout } from './header_buffers.ts';
import {
  findLF,
  HEADER_AGAIN,
  HEADER_END,
  HEADER_IGNORED,
  HEADER_INVALID,
  HeaderLineFields,
  parseHeaderLine,
} from './header_line.ts';
import { LINE_AGAIN, LINE_BAD_09, parseRequestLine, RequestLineFields } from './request_line.ts';
import { HeaderNameReader, methodName } from './request_names.ts';
import type { EngineLimits, ParsedRequest } from './types.ts';
import { normalizeUri } from './uri.ts';
import { validateHost } from './validate_host.ts';

const CR = 0x0d;
const LF = 0x0a;

/** Headers nginx allows only once (ngx_http_process_unique_header_line and Host). */
const UNIQUE_HEADERS = new Map<string, number>([
  ['host', 1],
  ['content-length', 2],
  ['transfer-encoding', 4],
  ['expect', 8],
  ['if-modified-since', 16],
  ['if-unmodified-since', 32],
  ['if-match', 64],
  ['if-none-match', 128],
  ['content-range', 256],
  ['if-range', 512],
  ['authorization', 1024],
  ['proxy-authorization', 2048],
]);

/** parse() results besides a byte count. */
export const HEAD_INCOMPLETE = 0;
export const HEAD_ERROR = -1;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The request under construction; becomes the ParsedRequest handed to the HTTP layer. */
type Draft = Mutable<ParsedRequest>;

/** Placeholder lists of a draft until its headers are taken (never written to). */
const NO_HEADERS: string[] = [];

export class HeadParser {
  private readonly layout: HeaderBufferLayout;
  private readonly largeSize: number;
  private readonly line = new RequestLineFields();
  private readonly header = new HeaderLineFields();
  private readonly headerName = new HeaderNameReader();
  /** Offset (from the request start) of the next unparsed line; -1 before the request line. */
  private pos = 0;
  private inHeaders = false;
  private draft: Draft | null = null;
  private seen = 0;
  private contentLengthValue: string | null = null;
  private transferEncoding: string | null = null;
  private connectionType = 0;
  private expect = '';
  /** The draft's header lists while they grow: copied out at their final size (less garbage). */
  private readonly names: string[] = [];
  private readonly rawNames: string[] = [];
  private readonly values: string[] = [];
  /** How many of them belong to this head (the lists keep their storage between requests). */
  private count = 0;

  /** After HEAD_ERROR: the status to answer (400, 414, 494, 501, 505...) and why. */
  errorStatus = 0;
  errorReason = '';
  /** After a complete head or an error: what was parsed. */
  request: ParsedRequest | null = null;
  partial: Partial<ParsedRequest> | null = null;

  constructor(limits: EngineLimits) {
    this.largeSize = limits.largeHeaderBufferSize;
    this.layout = new HeaderBufferLayout(
      limits.clientHeaderBufferSize,
      limits.largeHeaderBuffers,
      limits.largeHeaderBufferSize,
    );
  }

  /** Ready for the next request; `pipelinedAfter` is how far into the buffer it starts, if known. */
  next(pipelinedAfter: number): void {
    if (pipelinedAfter >= 0) this.layout.continueAfter(pipelinedAfter);
    else this.layout.reset();
    this.pos = 0;
    this.inHeaders = false;
    this.draft = null;
    this.seen = 0;
    this.contentLengthValue = null;
    this.transferEncoding = null;
    this.connectionType = 0;
    this.expect = '';
    this.count = 0;
    this.request = null;
    this.partial = null;
  }

  /** Whether any byte of a request (beyond leading CR/LF) has been received. */
  get started(): boolean {
    return this.inHeaders || this.pos > 0;
  }

  /**
   * Parses buf[base, end) where base is the start of this request's bytes and stays the same
   * until the head is complete. Returns the head's length in bytes, HEAD_INCOMPLETE, or HEAD_ERROR.
   */
  parse(buf: Buffer, base: number, end: number): number {
    if (!this.inHeaders) {
      const r = this.parseLine(buf, base, end);
      if (r !== 1) return r;
      if (this.draft!.version === 9) return this.complete();
    }
    for (;;) {
      const start = base + this.pos;
      // a line is scanned once, its end found as it is parsed; only a line that is incomplete,
      // invalid or longer than a large buffer is looked at again
      let r = parseHeaderLine(buf, start, Math.min(end, start + this.largeSize), this.header);
      let next = this.header.next;
      if (r === HEADER_AGAIN || r === HEADER_INVALID) {
        const lf = findLF(buf, start, end);
        if (lf < 0) {
          if (r === HEADER_INVALID) return this.fail(400, 'client sent invalid header line');
          if (!this.layout.canHoldPartial(end - start, false)) return this.tooLarge();
          return HEAD_INCOMPLETE;
        }
        if (r === HEADER_AGAIN) r = parseHeaderLine(buf, start, lf + 1, this.header);
        next = lf + 1;
      }
      if (!this.layout.placeLine(next - start, false)) {
        if (r === HEADER_INVALID && next - 1 - start < this.largeSize) {
          return this.fail(400, 'client sent invalid header line');
        }
        return this.tooLarge();
      }
      this.pos = next - base;
      if (r === HEADER_END) return this.finishHead();
      if (r === HEADER_INVALID) return this.fail(400, 'client sent invalid header line');
      if (r === HEADER_IGNORED || r === HEADER_AGAIN) continue;
      const e = this.addHeader(buf, start);
      if (e !== 0) return e;
    }
  }

  /** Request line: 1 when parsed, otherwise a parse() result. */
  private parseLine(buf: Buffer, base: number, end: number): number {
    let start = base + this.pos;
    while (start < end && (buf[start] === CR || buf[start] === LF)) start++;
    if (start > base + this.pos) {
      this.layout.skip(start - base - this.pos);
      this.pos = start - base;
    }
    if (start >= end) return HEAD_INCOMPLETE;
    const f = this.line;
    f.reset();
    const lf = findLF(buf, start, end);
    if (lf < 0 || lf >= end) {
      const r = parseRequestLine(buf, start, Math.min(end, start + this.largeSize), f);
      if (r > 0) return this.lineError(r, buf, start, end);
      if (!this.layout.canHoldPartial(end - start, true)) return this.uriTooLong(buf, start, end);
      return HEAD_INCOMPLETE;
    }
    let r = parseRequestLine(buf, start, lf + 1, f);
    if (!this.layout.placeLine(lf + 1 - start, true)) {
      f.reset();
      r = parseRequestLine(buf, start, start + this.largeSize, f);
      return r > 0 ? this.lineError(r, buf, start, lf) : this.uriTooLong(buf, start, lf);
    }
    if (r === LINE_AGAIN) r = 400;
    if (r > 0) return this.lineError(r, buf, start, lf);
    const lineEnd = buf[lf - 1] === CR && lf - 1 >= start ? lf - 1 : lf;
    const method = methodName(buf, start, f.methodEnd);
    const version = f.major === 0 ? 9 : f.minor === 0 ? 10 : 11;
    if (r === LINE_BAD_09) {
      this.partial = { method, requestLine: buf.toString('latin1', start, lineEnd), version: 9 };
      return this.fail(400, 'client sent invalid method in HTTP/0.9 request');
    }
    const uriStart = f.connect ? -1 : f.uriStart;
    let path = '';
    let query = '';
    let hasQuery = false;
    let target = '';
    if (uriStart >= 0) target = buf.toString('latin1', uriStart, f.uriEnd);
    // "METHOD TARGET HTTP/1.x" with single spaces (nearly every request): joined from the pieces.
    const requestLine =
      uriStart === f.methodEnd + 1 && lineEnd === f.uriEnd + 9 && f.major === 1 && f.minor <= 1
        ? method + ' ' + target + (f.minor === 1 ? ' HTTP/1.1' : ' HTTP/1.0')
        : buf.toString('latin1', start, lineEnd);
    if (uriStart >= 0) {
      if (f.complex || f.quoted || f.emptyPath) {
        const n = normalizeUri(buf, uriStart, f.uriEnd, f.emptyPath);
        if (n === null) {
          this.partial = { method, requestLine, version, target };
          return this.fail(400, 'client sent invalid request');
        }
        path = n.path;
        if (n.args !== undefined) {
          query = n.args;
          hasQuery = true;
        }
      } else {
        if (f.argsStart > 0) {
          path = target.slice(0, f.argsStart - 1 - uriStart);
          query = target.slice(f.argsStart - uriStart);
          hasQuery = true;
        } else path = target;
      }
    }
    let host = '';
    if (f.hostStart >= 0) {
      const h = validateHost(buf.toString('latin1', f.hostStart, f.hostEnd));
      if (h === null) {
        this.partial = { method, requestLine, version, target, path };
        return this.fail(400, 'client sent invalid host in request line');
      }
      host = h;
    }
    this.draft = {
      method,
      target,
      path,
      query,
      hasQuery,
      version,
      requestLine,
      names: NO_HEADERS,
      rawNames: NO_HEADERS,
      values: NO_HEADERS,
      host,
      keepAlive: false,
      contentLength: 0,
      chunked: false,
      expectContinue: false,
    };
    this.pos = lf + 1 - base;
    this.inHeaders = true;
    return 1;
  }

  private lineError(status: number, buf: Buffer, start: number, end: number): number {
    this.partial = { requestLine: buf.toString('latin1', start, end) };
    if (status === 505) return this.fail(505, 'client sent invalid version');
    if (status === 400 && this.line.methodEnd === 0) return this.fail(400, 'client sent invalid method');
    return this.fail(status, 'client sent invalid request');
  }

  private uriTooLong(buf: Buffer, start: number, end: number): number {
    this.partial = { requestLine: buf.toString('latin1', start, Math.min(end, start + this.largeSize)) };
    return this.fail(414, 'client sent too long URI');
  }

  private tooLarge(): number {
    return this.fail(494, 'client sent too long header line');
  }

  private fail(status: number, reason: string): number {
    this.errorStatus = status;
    this.errorReason = reason;
    if (this.draft !== null) this.partial = this.takeHeaders();
    return HEAD_ERROR;
  }

  /** A complete, kept header line: store it and apply nginx's per-header checks. */
  private addHeader(buf: Buffer, start: number): number {
    const h = this.header;
    const d = this.draft!;
    this.headerName.read(buf, start, h.nameEnd);
    const rawName = this.headerName.raw;
    const name = this.headerName.lower;
    const value = buf.toString('latin1', h.valueStart, h.valueEnd);
    const i = this.count++;
    this.rawNames[i] = rawName;
    this.names[i] = name;
    this.values[i] = value;
    const bit = UNIQUE_HEADERS.get(name);
    if (bit !== undefined) {
      if ((this.seen & bit) !== 0) {
        return this.fail(
          400,
          bit === 1 ? 'client sent duplicate host header' : 'client sent duplicate header line',
        );
      }
      this.seen |= bit;
      switch (name) {
        case 'host': {
          const host = validateHost(value);
          if (host === null) return this.fail(400, 'client sent invalid host header');
          if (d.host === '') d.host = host;
          break;
        }
        case 'content-length':
          this.contentLengthValue = value;
          break;
        case 'transfer-encoding':
          this.transferEncoding = value;
          break;
        case 'expect':
          this.expect = value;
          break;
      }
    } else if (name === 'connection') {
      const v = value.toLowerCase();
      if (v.includes('close')) this.connectionType = 1;
      else if (v.includes('keep-alive')) this.connectionType = 2;
    }
    return 0;
  }

  /** The empty line arrived: nginx's ngx_http_process_request_header checks, in its order. */
  private finishHead(): number {
    const d = this.draft!;
    const v11 = d.version === 11;
    if ((this.seen & 1) === 0 && v11) {
      return this.fail(400, 'client sent HTTP/1.1 request without "Host" header');
    }
    if (this.contentLengthValue !== null) {
      const n = parseContentLength(this.contentLengthValue);
      if (n < 0) return this.fail(400, 'client sent invalid "Content-Length" header');
      d.contentLength = n;
    }
    if (this.transferEncoding !== null) {
      if (!v11) return this.fail(400, 'client sent HTTP/1.0 request with "Transfer-Encoding" header');
      if (this.transferEncoding.length !== 7 || this.transferEncoding.toLowerCase() !== 'chunked') {
        return this.fail(501, `client sent unknown "Transfer-Encoding": "${this.transferEncoding}"`);
      }
      if (this.contentLengthValue !== null) {
        return this.fail(
          400,
          'client sent "Content-Length" and "Transfer-Encoding" headers at the same time',
        );
      }
      d.chunked = true;
      d.contentLength = -1;
    }
    if (d.method === 'CONNECT') return this.fail(405, 'client sent CONNECT method');
    if (d.method === 'TRACE') return this.fail(405, 'client sent TRACE method');
    d.keepAlive = this.connectionType === 0 ? v11 : this.connectionType === 2;
    d.expectContinue = v11 && this.expect.length === 12 && this.expect.toLowerCase() === '100-continue';
    return this.complete();
  }

  /** The draft with the headers read so far. */
  private takeHeaders(): Draft {
    const d = this.draft!;
    const n = this.count;
    if (n > 0) {
      d.names = this.names.slice(0, n);
      d.rawNames = this.rawNames.slice(0, n);
      d.values = this.values.slice(0, n);
      this.count = 0;
    } else if (d.names === NO_HEADERS) {
      d.names = [];
      d.rawNames = [];
      d.values = [];
    }
    return d;
  }

  private complete(): number {
    this.request = this.takeHeaders();
    return this.pos;
  }
}

/** ngx_atoof: decimal digits only, at most 2^63-1; -1 when invalid. */
function parseContentLength(value: string): number {
  if (value.length === 0 || value.length > 19) return -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  if (value.length === 19 && value > '9223372036854775807') return -1;
  return Number(value);
}
