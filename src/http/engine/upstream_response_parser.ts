// An upstream's HTTP/1.x response, parsed incrementally as ngx_http_proxy_module reads it: the
// status line (ngx_http_parse_status_line), header lines (ngx_http_parse_header_line with
// underscores allowed), then a Content-Length, chunked or until-close body. 1xx interim
// responses are skipped, except 101 which ends the head (the connection then belongs to
// whoever upgraded it). Bytes may arrive split anywhere; the head is capped at `headLimit`
// (proxy_buffer_size), as nginx's one header buffer is.
import { ChunkedDecoder } from './chunked.ts';
import {
  findLF,
  HEADER_AGAIN,
  HEADER_END,
  HEADER_INVALID,
  HeaderLineFields,
  parseHeaderLine,
} from './header_line.ts';
import { latin1 } from './latin1_bytes.ts';
import { internName, internText, internValue, NAME_LOWER, NAME_RAW } from './upstream_strings.ts';

const CR = 0x0d;

/** What the parser reports while it runs. */
export interface ResponseSink {
  /** The final response head is complete: read status/headers from the parser. */
  onHead(): void;
  onBody(data: Buffer): void;
  /** The body is complete (never called for until-close bodies: see `finishOnClose`). */
  onComplete(): void;
}

/** Why a response was refused; `message` is nginx's error-log text (without "while ..."). */
export class UpstreamParseError extends Error {}

const S_STATUS = 0;
const S_HEADERS = 1;
const S_BODY_LENGTH = 2;
const S_BODY_CHUNKED = 3;
const S_BODY_CLOSE = 4;
const S_DONE = 5;
const S_FAILED = 6;

/** Positions of the line being parsed: parsing is synchronous, one object serves every parser. */
const FIELDS = new HeaderLineFields();

const STATUS_LINE = /^HTTP\/(\d{1,3})\.(\d{1,3}) +((\d{3})(?:[ .][^\r]*)?)\r*$/;

export class UpstreamResponseParser {
  private readonly sink: ResponseSink;
  private readonly headLimit: number;
  private state = S_STATUS;
  /** Unfinished head bytes carried to the next feed (a line split across reads). */
  private pending: Buffer | null = null;
  private headBytes = 0;
  private decoder: ChunkedDecoder | null = null;
  private remaining = 0;
  private noBody = false;
  private forwardBody: ((data: Buffer) => void) | null = null;

  status = 0;
  /** 10 or 11. */
  version = 11;
  /** The status line from the code on, e.g. `200 OK` (nginx passes it on as r->headers_out.status_line). */
  statusText = '';
  /** Header names as sent, their lowercased forms and values, in order. */
  readonly rawNames: string[] = [];
  readonly names: string[] = [];
  readonly values: string[] = [];
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  /** The upstream said `Connection: close` (or is HTTP/1.0 without keep-alive). */
  connectionClose = false;

  constructor(sink: ResponseSink, headLimit: number) {
    this.sink = sink;
    this.headLimit = headLimit;
  }

  /** Start the next response on the same connection; `noBody` for HEAD requests. */
  reset(noBody: boolean): void {
    this.state = S_STATUS;
    this.pending = null;
    this.headBytes = 0;
    this.decoder = null;
    this.noBody = noBody;
    this.clearHead();
  }

  /** The head as a flat name/value list, names as sent. */
  headerPairs(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.rawNames.length; i++)
      out.push(this.rawNames[i] as string, this.values[i] as string);
    return out;
  }

  /** Whether the whole response has been read. */
  get complete(): boolean {
    return this.state === S_DONE;
  }

  /** Whether the head has been parsed (the response is committed to this upstream). */
  get headDone(): boolean {
    return this.state >= S_BODY_LENGTH && this.state !== S_FAILED;
  }

  /** Whether the body ends only when the upstream closes. */
  get untilClose(): boolean {
    return this.state === S_BODY_CLOSE;
  }

  /**
   * Consume `buf`. Returns the number of bytes used (less than its length only when the response
   * ended early: the rest belongs to no response). Throws UpstreamParseError on malformed input.
   */
  feed(buf: Buffer): number {
    let p = 0;
    const end = buf.length;
    if (this.state <= S_HEADERS) {
      p = this.feedHead(buf);
      if (this.state <= S_HEADERS) return end;
    }
    if (this.state === S_BODY_LENGTH) {
      const n = Math.min(this.remaining, end - p);
      if (n > 0) {
        this.remaining -= n;
        this.sink.onBody(p === 0 && n === end ? buf : buf.subarray(p, p + n));
        p += n;
      }
      if (this.remaining === 0) this.done();
      return p;
    }
    if (this.state === S_BODY_CHUNKED) {
      this.forwardBody ??= (data: Buffer): void => this.sink.onBody(data);
      const next = (this.decoder as ChunkedDecoder).decode(buf, p, end, this.forwardBody);
      if (next < 0) this.fail('upstream sent invalid chunked response');
      if ((this.decoder as ChunkedDecoder).done) this.done();
      return next;
    }
    if (this.state === S_BODY_CLOSE) {
      if (p < end) this.sink.onBody(p === 0 ? buf : buf.subarray(p));
      return end;
    }
    return p;
  }

  /** The upstream closed: ends an until-close body; returns false when the response was cut short. */
  finishOnClose(): boolean {
    if (this.state === S_BODY_CLOSE) {
      this.done();
      return true;
    }
    return this.state === S_DONE;
  }

  private feedHead(input: Buffer): number {
    let buf = input;
    let offset = 0;
    if (this.pending !== null) {
      offset = this.pending.length;
      buf = Buffer.concat([this.pending, input]);
      this.pending = null;
    }
    let start = 0;
    while (this.state <= S_HEADERS) {
      let next: number;
      if (this.state === S_STATUS) {
        const lf = findLF(buf, start, buf.length);
        next = lf < 0 ? -1 : lf + 1;
        if (next >= 0) {
          this.countHead(next - start);
          this.statusLineAt(buf, start, next - 1);
        }
      } else next = this.headerLineAt(buf, start);
      if (next < 0) {
        if (this.headBytes + buf.length - start > this.headLimit) this.fail('upstream sent too big header');
        // a copy: the reader may reuse its buffer for the next read
        this.pending = Buffer.from(buf.subarray(start));
        return input.length;
      }
      start = next;
    }
    return start - offset;
  }

  private countHead(bytes: number): void {
    this.headBytes += bytes;
    if (this.headBytes > this.headLimit) this.fail('upstream sent too big header');
  }

  private statusLineAt(buf: Buffer, start: number, lf: number): void {
    if (!this.quickStatusLine(buf, start, lf)) {
      const line = buf.toString('latin1', start, lf);
      const m = STATUS_LINE.exec(line);
      if (m === null) this.fail('upstream sent no valid HTTP/1.0 header');
      const major = Number(m[1]);
      if (major < 1) this.fail('upstream sent no valid HTTP/1.0 header');
      this.version = major === 1 && Number(m[2]) === 0 ? 10 : 11;
      this.status = Number(m[4]);
      this.statusText = m[3] as string;
    }
    if (this.status < 100) this.fail('upstream sent no valid HTTP/1.0 header');
    this.state = S_HEADERS;
  }

  /**
   * `HTTP/1.x NNN text` read from the bytes, as STATUS_LINE reads it; false leaves the line to the
   * regex (other versions, odd bytes). The text is the last one seen when its bytes repeat.
   */
  private quickStatusLine(buf: Buffer, start: number, lf: number): boolean {
    let p = start + 12;
    if (p > lf || buf.readUInt32BE(start) !== 0x48545450 /* HTTP */ || buf[start + 4] !== 0x2f) return false;
    if (buf[start + 5] !== 0x31 || buf[start + 6] !== 0x2e || buf[start + 8] !== 0x20) return false;
    const minor = buf[start + 7]! - 0x30;
    const d0 = buf[start + 9]! - 0x30;
    const d1 = buf[start + 10]! - 0x30;
    const d2 = buf[start + 11]! - 0x30;
    if (minor < 0 || minor > 9 || d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return false;
    // the text runs to the first CR; only CRs may follow it
    let textEnd = lf;
    if (p < lf) {
      const c = buf[p];
      if (c !== 0x20 && c !== 0x2e && c !== CR) return false;
      while (p < lf && buf[p] !== CR) p++;
      textEnd = p;
      for (; p < lf; p++) if (buf[p] !== CR) return false;
    }
    this.version = minor === 0 ? 10 : 11;
    this.status = d0 * 100 + d1 * 10 + d2;
    this.statusText = internText(buf, start + 9, textEnd);
    return true;
  }

  /**
   * One header line (or the head's end) from `start`, found as it is parsed: where the next line
   * starts, or -1 when the line is not complete yet.
   */
  private headerLineAt(buf: Buffer, start: number): number {
    const f = FIELDS;
    const rc = parseHeaderLine(buf, start, buf.length, f);
    if (rc === HEADER_AGAIN) return -1;
    if (rc === HEADER_INVALID) {
      const lf = findLF(buf, start, buf.length);
      const text = buf.toString('latin1', start, lf < 0 ? buf.length : lf).replace(/\r+$/, '');
      this.fail(`upstream sent invalid header: "${text}"`);
    }
    this.countHead(f.next - start);
    if (rc === HEADER_END) {
      this.headEnd();
      return f.next;
    }
    // names and values repeat from response to response: known bytes give back the same strings
    const slot = internName(buf, start, f.nameEnd);
    const raw = NAME_RAW[slot]!;
    const lower = NAME_LOWER[slot]!;
    const value = internValue(slot, buf, f.valueStart, f.valueEnd);
    if (lower === 'content-length') {
      if (this.contentLength >= 0) this.fail(`upstream sent duplicate header line: "${raw}: ${value}"`);
      const n = decimal(buf, f.valueStart, f.valueEnd);
      if (n < 0) this.fail(`upstream sent invalid "Content-Length" header: "${raw}: ${value}"`);
      this.contentLength = n;
    } else if (lower === 'transfer-encoding') {
      if (this.chunked) this.fail(`upstream sent duplicate header line: "${raw}: ${value}"`);
      if (value.toLowerCase() !== 'chunked')
        this.fail(`upstream sent unknown "Transfer-Encoding": "${value}"`);
      this.chunked = true;
    } else if (lower === 'connection') {
      if (value !== 'keep-alive' && /(^|[\s,])close($|[\s,])/i.test(value)) this.connectionClose = true;
    }
    this.rawNames.push(raw);
    this.names.push(lower);
    this.values.push(value);
    return f.next;
  }

  private headEnd(): void {
    const status = this.status;
    // 1xx interim responses (100 Continue, 103 Early Hints) are read and dropped, as nginx does.
    if (status < 200 && status !== 101) {
      this.clearHead();
      this.state = S_STATUS;
      return;
    }
    if (this.chunked && this.contentLength >= 0) {
      this.fail('upstream sent "Content-Length" and "Transfer-Encoding" headers at the same time');
    }
    if (this.version === 10) this.connectionClose = true;
    this.sink.onHead();
    if (this.state !== S_HEADERS) return;
    if (this.noBody || status === 101 || status === 204 || status === 304) {
      this.done();
    } else if (this.chunked) {
      this.decoder = new ChunkedDecoder();
      this.state = S_BODY_CHUNKED;
    } else if (this.contentLength >= 0) {
      this.remaining = this.contentLength;
      this.state = S_BODY_LENGTH;
      if (this.remaining === 0) this.done();
    } else {
      this.connectionClose = true;
      this.state = S_BODY_CLOSE;
    }
  }

  /** Stop delivering: the consumer gave up on this response (e.g. to try the next upstream). */
  abandon(): void {
    this.state = S_FAILED;
  }

  private done(): void {
    this.state = S_DONE;
    this.sink.onComplete();
  }

  private clearHead(): void {
    this.status = 0;
    this.version = 11;
    this.statusText = '';
    if (this.names.length > 0) {
      this.rawNames.length = 0;
      this.names.length = 0;
      this.values.length = 0;
    }
    this.contentLength = -1;
    this.chunked = false;
    this.connectionClose = false;
  }

  private fail(message: string): never {
    this.state = S_FAILED;
    throw new UpstreamParseError(message);
  }
}

/** 1 to 18 decimal digits (the `^[0-9]{1,18}$` nginx's parser accepts), else -1. */
function decimal(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len < 1 || len > 18) return -1;
  let n = 0;
  for (let p = start; p < end; p++) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  // past 2^53 the sum rounds at every step: let Number round once, as it did the whole string
  return len > 15 ? Number(latin1(buf, start, end)) : n;
}
