// The request body as the connection's bytes arrive: Content-Length or chunked, read whole
// (readAll), streamed (onData), or discarded by the engine when the handler leaves it unread.

import { ChunkedDecoder } from './chunked.ts';
import { type BodyReader, HttpError } from './types.ts';

/** What the body needs from its connection. */
export interface BodyHost {
  /** A consumer appeared (or the engine discards): feed buffered bytes, send 100 Continue. */
  bodyWanted(body: RequestBody): void;
}

const EMPTY = Buffer.alloc(0);

const MODE_WAITING = 0;
const MODE_COLLECT = 1;
const MODE_STREAM = 2;
const MODE_DISCARD = 3;

export class RequestBody implements BodyReader {
  private readonly host: BodyHost;
  /** Content-Length bytes still to come; unused for chunked bodies. */
  private remaining: number;
  private readonly decoder: ChunkedDecoder | null;
  private mode = MODE_WAITING;
  private limit = 0;
  private parts: Buffer[] = [];
  private resolveAll: ((body: Buffer) => void) | null = null;
  private rejectAll: ((err: HttpError) => void) | null = null;
  private chunkCallback: ((data: Buffer) => void) | null = null;
  private endCallback: ((err?: HttpError) => void) | null = null;
  private readonly sink = (data: Buffer): void => this.deliver(data);
  received = 0;
  /** Raw bytes (framing included) taken from the connection. */
  rawConsumed = 0;
  complete = false;
  failed: HttpError | null = null;
  private settled = false;

  constructor(host: BodyHost, contentLength: number, chunked: boolean) {
    this.host = host;
    this.remaining = chunked ? 0 : contentLength;
    this.decoder = chunked ? new ChunkedDecoder() : null;
  }

  get wanted(): boolean {
    return this.mode !== MODE_WAITING && !this.complete && this.failed === null;
  }

  readAll(limit: number): Promise<Buffer> {
    if (this.mode !== MODE_WAITING) return Promise.reject(new HttpError(500, 'request body already read'));
    if (this.failed !== null) return Promise.reject(this.failed);
    this.mode = MODE_COLLECT;
    this.limit = limit;
    if (limit > 0 && this.decoder === null && this.remaining > limit) {
      return Promise.reject(
        this.fail(new HttpError(413, `client intended to send too large body: ${this.remaining} bytes`)),
      );
    }
    const promise = new Promise<Buffer>((resolve, reject) => {
      this.resolveAll = resolve;
      this.rejectAll = reject;
    });
    this.host.bodyWanted(this);
    return promise;
  }

  onData(chunk: (data: Buffer) => void, end: (err?: HttpError) => void): void {
    if (this.mode !== MODE_WAITING) {
      end(new HttpError(500, 'request body already read'));
      return;
    }
    this.mode = MODE_STREAM;
    this.chunkCallback = chunk;
    this.endCallback = end;
    this.host.bodyWanted(this);
  }

  /** The engine throws the rest away so the next request can be read. */
  discard(): void {
    this.mode = MODE_DISCARD;
  }

  /** Takes body bytes from buf[start, end); returns the index after them, or -1 on a bad chunk. */
  feed(buf: Buffer, start: number, end: number): number {
    let next: number;
    if (this.decoder === null) {
      const n = Math.min(this.remaining, end - start);
      next = start + n;
      this.remaining -= n;
      if (n > 0) this.deliver(buf.subarray(start, next));
      if (this.remaining === 0) this.complete = true;
    } else {
      next = this.decoder.decode(buf, start, end, this.sink);
      if (next < 0) {
        this.fail(new HttpError(400, 'client sent invalid chunked body'));
        return -1;
      }
      if (this.decoder.done) this.complete = true;
    }
    this.rawConsumed += next - start;
    if (this.failed !== null) return next;
    if (this.mode === MODE_COLLECT && this.limit > 0 && this.received > this.limit) {
      this.fail(new HttpError(413, `client intended to send too large chunked body: ${this.received} bytes`));
      return next;
    }
    if (this.complete) this.succeed();
    return next;
  }

  /** Reading stopped: timeout (408), client gone (400), bad framing (400), too large (413). */
  fail(err: HttpError): HttpError {
    if (this.settled) return err;
    this.settled = true;
    this.failed = err;
    const reject = this.rejectAll;
    const end = this.endCallback;
    this.clearCallbacks();
    if (reject !== null) reject(err);
    if (end !== null) end(err);
    return err;
  }

  private deliver(data: Buffer): void {
    this.received += data.length;
    if (this.mode === MODE_COLLECT) {
      if (this.limit === 0 || this.received <= this.limit) this.parts.push(data);
    } else if (this.mode === MODE_STREAM) {
      this.chunkCallback!(data);
    }
  }

  private succeed(): void {
    if (this.settled) return;
    this.settled = true;
    const resolve = this.resolveAll;
    const end = this.endCallback;
    const parts = this.parts;
    this.clearCallbacks();
    if (resolve !== null)
      resolve(parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : Buffer.concat(parts));
    if (end !== null) end();
  }

  private clearCallbacks(): void {
    this.parts = [];
    this.resolveAll = null;
    this.rejectAll = null;
    this.chunkCallback = null;
    this.endCallback = null;
  }
}

/** The body of a request that has none: shared, nothing to read. */
export const NO_BODY: BodyReader = {
  readAll: () => Promise.resolve(EMPTY),
  onData: (_chunk, end) => end(),
  received: 0,
};
