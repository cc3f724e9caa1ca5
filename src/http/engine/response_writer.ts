// One response on the wire, framed and with the connection headers nginx's header filter adds.
//
// Header order, as nginx sends it: status line, Server (if the caller's list starts with it),
// Date, Content-Type (if next in the list), Content-Length, then any leading Last-Modified /
// Location from the list, Transfer-Encoding: chunked, Connection, then the rest of the list.
// 204 drops Content-Type and Last-Modified (ngx_http_header_filter does); 204, 304 and HEAD
// send no body; 204/304 no Content-Length. HTTP/0.9 requests get the body only.
// Header strings are latin1 (one char per byte); string bodies are UTF-8.

import type { Socket } from 'node:net';
import { dateHeaderLine } from './date_cache.ts';
import { statusLine } from './status_text.ts';
import type { ResponseWriter } from './types.ts';

/** What the writer needs from its connection. */
export interface WriterHost {
  readonly socket: Socket;
  /** Whether the socket can still take bytes. */
  writable(): boolean;
  /** Write bytes that will not change afterwards; false asks the caller to wait for 'drain'. */
  send(data: Buffer): boolean;
  /** "HTTP/1.1 100 Continue\r\n\r\n" when the client still waits for it, else ''. */
  takeContinue(): string;
  /** keepalive_requests / keepalive_timeout still allow another request. */
  keepAliveAllowed(): boolean;
  responseDone(res: Writer): void;
  /** Stop serving HTTP on the socket (after a 101); returns the bytes read past the request. */
  detach(): Buffer;
}

const FRAME_NONE = 0;
const FRAME_LENGTH = 1;
const FRAME_CHUNKED = 2;
/** HTTP/1.0 with unknown length: the body ends when the connection closes. */
const FRAME_CLOSE = 3;
/** HEAD, 204, 304: body bytes are dropped. */
const FRAME_NO_BODY = 4;

/** Bodies up to this size are copied behind the head into one buffer: one write. */
const COPY_LIMIT = 16384;

export class Writer implements ResponseWriter {
  private readonly host: WriterHost;
  private readonly version: number;
  private readonly isHead: boolean;
  private readonly wantsKeepAlive: boolean;
  private framing = FRAME_NONE;
  private closing = false;
  private done = false;
  private finishCallbacks: (() => void) | (() => void)[] | null = null;
  headersSent = false;
  finished = false;
  bodyBytesSent = 0;
  bytesSent = 0;
  /** Decided by writeHead: whether the connection stays open after this response. */
  keepAlive = false;
  status = 0;

  constructor(host: WriterHost, version: number, method: string, keepAlive: boolean) {
    this.host = host;
    this.version = version;
    this.isHead = method === 'HEAD';
    this.wantsKeepAlive = keepAlive;
  }

  writeHead(status: number, headers: string[], bodyLength: number, statusText?: string): void {
    if (this.headersSent || this.done) return;
    const head = this.buildHead(status, headers, bodyLength, statusText);
    this.put(head, 'latin1');
  }

  write(chunk: Buffer | string): boolean {
    if (!this.headersSent) this.writeHead(200, [], -1);
    if (this.done || !this.host.writable()) return true;
    if (this.framing === FRAME_NO_BODY) return true;
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (data.length === 0) return true;
    this.bodyBytesSent += data.length;
    if (this.framing !== FRAME_CHUNKED) return this.put(data);
    const socket = this.host.socket;
    socket.cork();
    this.put(`${data.length.toString(16)}\r\n`, 'latin1');
    this.put(data);
    const ok = this.put('\r\n', 'latin1');
    socket.uncork();
    return ok;
  }

  end(chunk?: Buffer | string): void {
    if (this.done) return;
    if (chunk !== undefined) this.write(chunk);
    else if (!this.headersSent) this.writeHead(200, [], -1);
    if (this.framing === FRAME_CHUNKED && this.host.writable()) this.put('0\r\n\r\n', 'latin1');
    this.finish(true);
  }

  send(status: number, headers: string[], body: Buffer | string, statusText?: string): void {
    if (this.headersSent || this.done) return;
    let bytes: Buffer | null = null;
    let length: number;
    if (typeof body === 'string') {
      length = isAscii(body) ? body.length : Buffer.byteLength(body);
      if (length !== body.length) {
        bytes = Buffer.from(body);
      }
    } else {
      bytes = body;
      length = body.length;
    }
    const head = headBytes(this.buildHead(status, headers, length, statusText));
    const sendBody = this.framing !== FRAME_NO_BODY && length > 0;
    if (!sendBody) {
      this.put(head);
    } else if (length <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(head.length + length);
      out.set(head, 0);
      if (bytes === null) out.write(body as string, head.length, length, 'latin1');
      else out.set(bytes, head.length);
      this.put(out);
      this.bodyBytesSent = length;
    } else {
      const socket = this.host.socket;
      socket.cork();
      this.put(head);
      this.put(bytes ?? Buffer.from(body as string, 'latin1'));
      socket.uncork();
      this.bodyBytesSent = length;
    }
    this.finish(true);
  }

  closeAfter(): void {
    this.closing = true;
    if (!this.headersSent) return;
    this.keepAlive = false;
  }

  destroy(): void {
    this.keepAlive = false;
    this.host.socket.destroy();
    this.finish(false);
  }

  upgrade(headers: string[], statusText?: string): { socket: Socket; head: Buffer } | null {
    if (this.headersSent || this.done || !this.host.writable()) return null;
    this.put(this.buildHead(101, headers, -1, statusText), 'latin1');
    const head = this.host.detach();
    this.finish(true);
    return { socket: this.host.socket, head };
  }

  drain(): Promise<void> {
    const socket = this.host.socket;
    if (!socket.writableNeedDrain || !this.host.writable()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  onFinish(cb: () => void): void {
    if (this.done) {
      cb();
      return;
    }
    if (this.finishCallbacks === null) this.finishCallbacks = cb;
    else if (typeof this.finishCallbacks === 'function') this.finishCallbacks = [this.finishCallbacks, cb];
    else this.finishCallbacks.push(cb);
  }

  /** The connection died first: run the finish callbacks with `finished` still false. */
  abort(): void {
    this.keepAlive = false;
    this.finish(false);
  }

  private finish(complete: boolean): void {
    if (this.done) return;
    this.done = true;
    this.finished = complete;
    if (!this.headersSent) this.keepAlive = false;
    const cbs = this.finishCallbacks;
    this.finishCallbacks = null;
    this.host.responseDone(this);
    if (cbs === null) return;
    if (typeof cbs === 'function') cbs();
    else for (const cb of cbs) cb();
  }

  /** Strings go out as Buffers: Node's string write path costs more per small write. */
  private put(data: Buffer | string, encoding?: BufferEncoding): boolean {
    if (!this.host.writable()) return true;
    this.bytesSent += data.length;
    return this.host.send(typeof data === 'string' ? encode(data, encoding) : data);
  }

  private buildHead(status: number, headers: string[], bodyLength: number, statusText?: string): string {
    this.headersSent = true;
    this.status = status;
    const noContent = status === 204;
    const noBody = this.isHead || noContent || status === 304 || status < 200;
    let length = -1;
    if (noContent || status === 304 || status < 200) {
      this.framing = FRAME_NO_BODY;
    } else if (bodyLength >= 0) {
      length = bodyLength;
      this.framing = noBody ? FRAME_NO_BODY : FRAME_LENGTH;
    } else if (noBody) {
      this.framing = FRAME_NO_BODY;
    } else if (this.version === 11) {
      this.framing = FRAME_CHUNKED;
    } else {
      this.framing = FRAME_CLOSE;
    }
    this.keepAlive =
      this.wantsKeepAlive && !this.closing && this.framing !== FRAME_CLOSE && this.host.keepAliveAllowed();
    const expect = this.host.takeContinue();
    if (this.version === 9) {
      if (this.framing === FRAME_CHUNKED) this.framing = FRAME_LENGTH;
      return expect;
    }
    const line = statusText === undefined ? statusLine(status) : `HTTP/1.1 ${statusText}\r\n`;
    const n = headers.length;
    let i = 0;
    let server: string | null = null;
    if (n > 0 && headers[0] === 'Server') {
      server = headers[1];
      i = 2;
    }
    let type: string | null = null;
    if (i < n && headers[i] === 'Content-Type') {
      if (!noContent) type = headers[i + 1];
      i += 2;
    }
    const prefix = headPrefix(line, server, type);
    if (expect !== '' || status === 101) return expect + this.composeHead(prefix, length, headers, i, status);
    if (last.matches(prefix, length, this.framing, this.keepAlive, headers, i)) return last.head;
    return last.store(this.composeHead(prefix, length, headers, i, status));
  }

  /** The head after the status line, Server, Date and Content-Type (`prefix`); headers from `i`. */
  private composeHead(prefix: string, length: number, headers: string[], i: number, status: number): string {
    const n = headers.length;
    const noContent = status === 204;
    let h = prefix;
    if (length >= 0) h += `Content-Length: ${length}\r\n`;
    while (i < n && (headers[i] === 'Last-Modified' || headers[i] === 'Location')) {
      if (!(noContent && headers[i] === 'Last-Modified')) h += `${headers[i]}: ${headers[i + 1]}\r\n`;
      i += 2;
    }
    if (this.framing === FRAME_CHUNKED) h += 'Transfer-Encoding: chunked\r\n';
    if (status === 101) h += 'Connection: upgrade\r\n';
    else h += this.keepAlive ? 'Connection: keep-alive\r\n' : 'Connection: close\r\n';
    for (; i < n; i += 2) h += `${headers[i]}: ${headers[i + 1]}\r\n`;
    return h + '\r\n';
  }
}

// The last head, kept with what it was built from. A location's responses repeat their headers
// (a `return`, a static file's validators): while the parts are the same strings, the head is
// the same string object and its bytes are encoded once, not per response.
class LastHead {
  private prefix = '';
  private length = -1;
  private framing = FRAME_NONE;
  private keepAlive = false;
  private readonly tail: string[] = [];
  head = '';
  bytes: Buffer | null = null;

  /** Whether `head` is the head for these parts; if not, they are kept for the next store(). */
  matches(
    prefix: string,
    length: number,
    framing: number,
    keepAlive: boolean,
    headers: string[],
    from: number,
  ): boolean {
    const n = headers.length - from;
    if (
      prefix === this.prefix &&
      length === this.length &&
      framing === this.framing &&
      keepAlive === this.keepAlive &&
      n === this.tail.length
    ) {
      let k = 0;
      while (k < n && headers[from + k] === this.tail[k]) k++;
      if (k === n) return true;
    }
    this.prefix = prefix;
    this.length = length;
    this.framing = framing;
    this.keepAlive = keepAlive;
    this.tail.length = 0;
    for (let k = from; k < headers.length; k++) this.tail.push(headers[k]);
    return false;
  }

  /** The head built from the parts matches() was last given. */
  store(head: string): string {
    this.head = head;
    this.bytes = null;
    return head;
  }
}

const last = new LastHead();

/** A head's bytes; the last head's are kept, and must never be written to. */
function headBytes(head: string): Buffer {
  if (head !== last.head) return encode(head, 'latin1');
  last.bytes ??= encode(head, 'latin1');
  return last.bytes;
}

/**
 * A string as bytes. Latin1 (heads) is sized by its length: Buffer.from would size it for the
 * worst case first and build its Buffer object twice.
 */
function encode(data: string, encoding: BufferEncoding | undefined): Buffer {
  if (encoding !== 'latin1') return Buffer.from(data, encoding);
  const out = Buffer.allocUnsafe(data.length);
  out.write(data, 0, data.length, 'latin1');
  return out;
}

/** Whether a short string is all ASCII (its UTF-8 length is its length); long ones are measured. */
function isAscii(s: string): boolean {
  const n = s.length;
  if (n > 256) return Buffer.byteLength(s) === n;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

// The start of the last head: status line, Server, Date and Content-Type, which responses of one
// location share until the second changes. Reused, it is one flat string, not a dozen joined ones.
let prefixLine = '';
let prefixServer: string | null = null;
let prefixDate = '';
let prefixType: string | null = null;
let prefix = '';

function headPrefix(line: string, server: string | null, type: string | null): string {
  const date = dateHeaderLine();
  if (line === prefixLine && server === prefixServer && date === prefixDate && type === prefixType) {
    return prefix;
  }
  let h = line;
  if (server !== null) h += `Server: ${server}\r\n`;
  h += date;
  if (type !== null) h += `Content-Type: ${type}\r\n`;
  prefixLine = line;
  prefixServer = server;
  prefixDate = date;
  prefixType = type;
  prefix = h;
  return h;
}
