// Drives one accepted connection: reads request heads, hands requests to the HTTP layer one at
// a time (pipelined requests are answered in order), frames responses, discards unread bodies,
// applies nginx's timeouts and closes the way nginx does (lingering close after errors).
//
// badRequest statuses the HTTP layer receives:
//   400 414 501 505 405  answer with the error page; the connection closes after it.
//   494  header too large: answer 400 with the title "Request Header Or Cookie Too Large".
//   408  client_header_timeout with part of a request received, and 400 "client prematurely
//        closed connection": nothing can be sent (res.finished is already true); log only.
// Idle connections that time out or close without a byte of a request are closed silently.
// client_body_timeout destroys the socket and rejects the body with HttpError 408; client
// errors in the body reject with 400 (bad chunk) or 413; the connection closes after the response.

import type { Socket } from 'node:net';
import { type BodyHost, NO_BODY, RequestBody } from './body_reader.ts';
import { HeldOutput } from './held_output.ts';
import { ReceivedBytes } from './received_bytes.ts';
import { HEAD_ERROR, HEAD_INCOMPLETE, HeadParser } from './request_parser.ts';
import { Writer, type WriterHost } from './response_writer.ts';
import { readIntoSharedBuffer, writesDirectly } from './tcp_fast_path.ts';
import { deadlines } from './timers.ts';
import { type ConnectionInfo, type EngineLimits, HttpError, type RequestHandler } from './types.ts';

const READING_HEAD = 0;
const HANDLING = 1;
const DISCARDING = 2;
const LINGERING = 3;
const CLOSED = 4;

const TIMER_NONE = 0;
const TIMER_HEADER = 1;
const TIMER_KEEPALIVE = 2;
const TIMER_BODY = 3;
const TIMER_LINGER = 4;

/** nginx's lingering_time: the longest a closing connection keeps reading. */
const LINGERING_TIME = 30_000;
/** Unread bytes kept before the socket is paused. */
const MAX_BUFFERED = 64 * 1024;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export class Connection implements WriterHost, BodyHost {
  readonly socket: Socket;
  private readonly limits: EngineLimits;
  private readonly handler: RequestHandler;
  private readonly info: ConnectionInfo;
  private readonly parser: HeadParser;
  private state = READING_HEAD;
  private readonly input = new ReceivedBytes();
  private writer: Writer | null = null;
  private body: RequestBody | null = null;
  private continuePending = false;
  private peerEnded = false;
  private processing = false;
  private lingerUntil = 0;
  private detached = false;
  /** Graceful shutdown: no keep-alive after the request in progress. */
  private draining = false;
  /** The socket reads on the fast path (tcp_fast_path.ts). */
  private readonly fastRead: boolean;
  private readonly output: HeldOutput;
  timer = TIMER_NONE;
  deadline = 0;

  constructor(socket: Socket, limits: EngineLimits, handler: RequestHandler, info: ConnectionInfo) {
    this.socket = socket;
    this.limits = limits;
    this.handler = handler;
    this.info = info;
    this.parser = new HeadParser(limits);
    // the engine decides when to end its side (a half-closed client still gets its response)
    socket.allowHalfOpen = true;
    socket.setNoDelay(true);
    this.fastRead = readIntoSharedBuffer(socket, (nread, buf) => this.onSharedRead(nread, buf));
    this.output = new HeldOutput(socket, this.fastRead && writesDirectly(socket), () => socket.destroy());
    if (!this.fastRead) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk, chunk.length));
    }
    socket.on('end', () => this.onEnd());
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
    deadlines.add(this);
    this.setTimer(TIMER_HEADER, limits.clientHeaderTimeout);
  }

  // --- WriterHost / BodyHost ---

  writable(): boolean {
    return this.state !== CLOSED && !this.socket.destroyed && !this.socket.writableEnded;
  }

  send(data: Buffer): boolean {
    return this.output.send(data);
  }

  takeContinue(): string {
    if (!this.continuePending) return '';
    this.continuePending = false;
    return CONTINUE;
  }

  keepAliveAllowed(): boolean {
    // A client that half-closed after pipelining still gets every request it sent answered,
    // as nginx does: EOF only ends the connection once the buffered requests are served.
    const buffered = this.input.pending > 0;
    return (
      !this.draining &&
      (!this.peerEnded || buffered) &&
      (this.body === null || this.body.failed === null) &&
      this.limits.keepaliveTimeout > 0 &&
      this.info.requests < this.limits.keepaliveRequests
    );
  }

  bodyWanted(body: RequestBody): void {
    if (body !== this.body) return;
    if (this.continuePending && this.writer !== null && !this.writer.headersSent && this.writable()) {
      this.continuePending = false;
      this.output.send(Buffer.from(CONTINUE, 'latin1'));
    }
    this.pumpBody();
  }

  responseDone(res: Writer): void {
    if (res !== this.writer || this.state !== HANDLING) return;
    this.writer = null;
    const body = this.body;
    if (!res.keepAlive || this.draining || !this.writable() || (body !== null && body.failed !== null)) {
      this.closeGracefully();
      return;
    }
    if (body !== null && !body.complete) {
      this.state = DISCARDING;
      body.discard();
      this.pumpBody();
      return;
    }
    this.nextRequest();
  }

  /** Graceful shutdown, as nginx's: an idle connection closes now, a busy one after its response. */
  drain(): void {
    this.draining = true;
    if (this.state === READING_HEAD && !this.parser.started) this.close();
  }

  detach(): Buffer {
    const rest = this.input.take();
    this.output.flush();
    // CLOSED makes the engine ignore the socket's events from now on; the new owner closes it
    this.state = CLOSED;
    this.detached = true;
    this.clearTimer();
    this.body = null;
    this.writer = null;
    if (this.socket.isPaused()) this.socket.resume();
    return rest;
  }

  // --- socket events ---

  private onSharedRead(nread: number, buf: Buffer): boolean {
    if (this.detached) {
      // the socket's new owner (a tunnel after 101) reads 'data' events
      this.socket.emit('data', Buffer.from(buf.subarray(0, nread)));
      return true;
    }
    this.onData(buf, nread);
    this.input.keep();
    return true;
  }

  /** chunk[0, length) arrived: chunk is the shared read buffer or a Buffer of Node's own. */
  private onData(chunk: Buffer, length: number): void {
    if (this.state === CLOSED) return;
    if (this.state === LINGERING) {
      this.setTimer(TIMER_LINGER, Math.min(this.limits.lingeringTimeout, this.lingerUntil - Date.now()));
      return;
    }
    this.input.append(chunk, length);
    if (this.state === READING_HEAD) this.readHeads();
    else this.pumpBody();
    if (this.state !== CLOSED && this.input.pending > MAX_BUFFERED && !this.socket.isPaused()) {
      if (this.state === HANDLING && (this.body === null || !this.body.wanted)) this.socket.pause();
    }
  }

  private onEnd(): void {
    this.peerEnded = true;
    if (this.state === READING_HEAD) {
      if (this.parser.started) this.reportLost(400, 'client prematurely closed connection');
      this.close();
    } else if (this.state === HANDLING) {
      this.body?.fail(new HttpError(400, 'client prematurely closed connection'));
    } else {
      this.close();
    }
  }

  private onClose(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    deadlines.delete(this);
    this.input.clear();
    this.output.drop();
    this.body?.fail(new HttpError(400, 'client prematurely closed connection'));
    const w = this.writer;
    this.writer = null;
    w?.abort();
    if (!this.socket.destroyed) this.socket.destroy();
  }

  /** Called by the timer sweep when `deadline` has passed. */
  expire(): void {
    const kind = this.timer;
    this.timer = TIMER_NONE;
    if (kind === TIMER_HEADER && this.state === READING_HEAD && this.parser.started) {
      this.reportLost(408, 'client timed out');
    } else if (kind === TIMER_BODY && this.body !== null) {
      this.socket.destroy();
      this.body.fail(new HttpError(408, 'client timed out'));
    }
    this.close();
  }

  // --- request cycle ---

  private readHeads(): void {
    if (this.processing) return;
    this.processing = true;
    let corked = false;
    const input = this.input;
    while (this.state === READING_HEAD && input.pending > 0) {
      const r = this.parser.parse(input.buf, input.start, input.end);
      if (r === HEAD_INCOMPLETE) {
        if (this.peerEnded) {
          // the rest of this head can never arrive
          if (this.parser.started) this.reportLost(400, 'client prematurely closed connection');
          this.close();
          break;
        }
        if (this.timer !== TIMER_HEADER && this.parser.started) {
          this.setTimer(TIMER_HEADER, this.limits.clientHeaderTimeout);
        }
        break;
      }
      if (r === HEAD_ERROR) {
        this.rejectHead();
        break;
      }
      input.start += r;
      if (!corked && input.pending > 0) {
        // pipelined requests: their responses leave in one write
        this.socket.cork();
        corked = true;
      }
      this.dispatch();
    }
    this.processing = false;
    if (corked && !this.socket.destroyed) this.socket.uncork();
  }

  private dispatch(): void {
    const req = this.parser.request!;
    this.info.requests++;
    this.state = HANDLING;
    this.clearTimer();
    this.continuePending = req.expectContinue;
    const hasBody = req.chunked || req.contentLength > 0;
    const body = hasBody ? new RequestBody(this, req.contentLength, req.chunked) : null;
    this.body = body;
    const writer = new Writer(this, req.version, req.method, req.keepAlive);
    this.writer = writer;
    try {
      this.handler.request(req, body ?? NO_BODY, writer, this.info);
    } catch {
      this.socket.destroy();
      this.onClose();
    }
  }

  /** The head broke a rule: let the HTTP layer answer, then close. */
  private rejectHead(): void {
    const p = this.parser;
    const partial = p.partial;
    this.info.requests++;
    this.state = HANDLING;
    this.clearTimer();
    this.body = null;
    this.continuePending = false;
    const writer = new Writer(this, partial?.version ?? 10, partial?.method ?? '', false);
    writer.closeAfter();
    this.writer = writer;
    this.handler.badRequest(p.errorStatus, p.errorReason, writer, this.info, partial);
  }

  /** Nothing can be sent any more (timeout, client gone): the HTTP layer only logs. */
  private reportLost(status: number, reason: string): void {
    const p = this.parser;
    this.info.requests++;
    const writer = new Writer(this, 10, '', false);
    writer.abort();
    this.handler.badRequest(status, reason, writer, this.info, p.partial ?? p.request);
  }

  private nextRequest(): void {
    const body = this.body;
    this.body = null;
    this.state = READING_HEAD;
    const pipelined = this.input.pending > 0;
    this.parser.next(pipelined ? (body?.rawConsumed ?? 0) : -1);
    if (!pipelined) {
      this.input.clear();
      this.setTimer(TIMER_KEEPALIVE, this.limits.keepaliveTimeout);
    } else {
      this.setTimer(TIMER_HEADER, this.limits.clientHeaderTimeout);
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.peerEnded && !pipelined) {
      this.close();
      return;
    }
    this.readHeads();
  }

  /** Feeds buffered bytes to a body that is being read or discarded. */
  private pumpBody(): void {
    const body = this.body;
    if (body === null || !body.wanted) return;
    // body consumers may keep what they are fed (queued writes upstream)
    this.input.keep();
    const input = this.input;
    if (input.pending > 0) {
      const next = body.feed(input.buf, input.start, input.end);
      input.start = next < 0 ? input.end : next;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.peerEnded && !body.complete && body.failed === null) {
      // the rest of this body can never arrive
      body.fail(new HttpError(400, 'client prematurely closed connection'));
    }
    if (body.failed !== null) {
      this.writer?.closeAfter();
      if (this.state === DISCARDING) this.close();
      return;
    }
    if (body.complete) {
      this.clearTimer();
      if (this.state === DISCARDING) this.nextRequest();
      return;
    }
    if (this.state === DISCARDING) this.setTimer(TIMER_LINGER, this.limits.lingeringTimeout);
    else this.setTimer(TIMER_BODY, this.limits.clientBodyTimeout);
  }

  /** nginx's lingering close: send FIN, read and drop what the client still sends, then close. */
  private closeGracefully(): void {
    if (this.state === CLOSED) return;
    this.body = null;
    this.input.clear();
    if (this.peerEnded || this.socket.destroyed) {
      this.close();
      return;
    }
    this.state = LINGERING;
    this.lingerUntil = Date.now() + LINGERING_TIME;
    this.output.flush();
    this.socket.end();
    if (this.socket.isPaused()) this.socket.resume();
    this.setTimer(TIMER_LINGER, this.limits.lingeringTimeout);
  }

  private close(): void {
    if (this.state === CLOSED) return;
    if (this.writable() && this.output.backlog > 0) {
      // let queued bytes go out, then close
      this.state = CLOSED;
      deadlines.delete(this);
      this.output.flush();
      this.socket.end();
      this.socket.once('finish', () => this.socket.destroy());
      return;
    }
    this.socket.destroy();
    this.onClose();
  }

  private setTimer(kind: number, ms: number): void {
    this.timer = kind;
    this.deadline = Date.now() + Math.max(1, ms);
  }

  private clearTimer(): void {
    this.timer = TIMER_NONE;
    this.deadline = 0;
  }
}
