// One proxied request, as ngx_http_upstream.c runs it: pick a peer, connect (or take a cached
// keep-alive connection), send the request in one write, read the head, and either try the next
// peer (proxy_next_upstream) or pass the response on while its body streams through. Failures
// before the client's head is out become 502/504 (or the upstream's own status); after that the
// client connection is cut, as nginx does. Messages follow nginx's error log word for word.

import {
  type ConnectionOwner,
  connectUpstream,
  type UpstreamConnection,
  type UpstreamPool,
} from '../engine/upstream_pool.ts';
import {
  type ResponseSink,
  UpstreamParseError,
  UpstreamResponseParser,
} from '../engine/upstream_response_parser.ts';
import { contentSettled } from '../phases.ts';
import type { Request } from '../request.ts';
import { DONE, type PhaseResult } from '../types.ts';
import type { Peer, PeerSelection } from '../upstream/balancer.ts';
import {
  CONNECTING,
  during,
  FINISHED,
  HANDSHAKING,
  READING_BODY,
  READING_HEAD,
  SENDING,
  socketFailure,
  TIMED_OUT,
} from '../upstream/failure_text.ts';
import { tunnel } from '../upstream/tunnel.ts';
import { keepaliveCacheOf } from '../upstream/upstream.ts';
import type { AttemptRecord } from '../upstream/variables.ts';
import { UpstreamTry } from './proxy_attempt.ts';
import type { ProxyConf } from './proxy_conf.ts';
import { FT } from './proxy_conf.ts';
import { headOutcome, NextUpstream, statusOf } from './proxy_next_upstream.ts';
import { bodyChunk, LAST_CHUNK, type OutgoingRequest, requestBytes } from './proxy_outgoing.ts';
import { adoptResponseHead, holdsBody, interceptsError, upgradeHead } from './proxy_response_head.ts';
import { checkUpstream, dialFor } from './proxy_ssl.ts';

export class ProxyExchange implements ConnectionOwner, ResponseSink {
  private readonly r: Request;
  private readonly conf: ProxyConf;
  private readonly out: OutgoingRequest;
  private readonly selection: PeerSelection;
  private readonly pool: UpstreamPool | null;
  private readonly parser: UpstreamResponseParser;
  private readonly retry: NextUpstream;
  /** run()'s promise; null when started with start() (the result goes to the phase runner). */
  private resolve: ((result: PhaseResult) => void) | null = null;
  private answered = false;
  /** The current try's peer and its accounts. */
  private readonly current: UpstreamTry;
  private conn: UpstreamConnection | null = null;
  private phase = CONNECTING;
  private cached = false;
  private requestSent = false;
  private bodySent = false;
  private paused = false;
  /** A 101 head was read: the pipe starts once the rest of that read is known. */
  private upgradePending = false;
  /** The request's bytes, made on the first try and sent again by any other. */
  private data: Buffer | null = null;
  /** Body held back so a response that fits in one read leaves with its head in one write. */
  private held: Buffer[] | null = null;
  /** A head that asks for the next upstream: acted on once the parser has returned. */
  private retryCondition = 0;

  constructor(r: Request, conf: ProxyConf, out: OutgoingRequest) {
    this.r = r;
    this.conf = conf;
    this.out = out;
    this.pool = keepaliveCacheOf(out.group);
    this.selection = out.group.balancer.select(r, (msg) => this.log('warn', during(this.phase, msg)));
    this.current = new UpstreamTry(r, this.selection);
    this.retry = new NextUpstream(conf, this.selection, r.method, out.streamBody);
    this.parser = new UpstreamResponseParser(this, conf.bufferSize);
    // the client went away: drop the upstream side too (proxy_ignore_client_abort off)
    r.res.onFinish(() => {
      if (this.phase !== FINISHED && !r.res.finished) this.conclude(0, DONE);
    });
  }

  /** Run the exchange; the promise settles with DONE once the head is passed on, or a status. */
  run(): Promise<PhaseResult> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.connect();
    });
  }

  /**
   * Run the exchange without a promise: the content handler returns DONE at once, and a status
   * to answer goes to the phase runner (contentSettled) as the promise would have delivered it.
   */
  start(): PhaseResult {
    this.connect();
    return DONE;
  }

  // --- peers and connections ---

  private connect(): void {
    const peer = this.selection.pick();
    if (peer === null) {
      this.current.nonePicked(this.out.group.name);
      this.log('error', 'no live upstreams while connecting to upstream', this.out.group.name);
      return this.answer(502);
    }
    const attempt = this.current.begin(peer);
    this.phase = CONNECTING;
    this.requestSent = false;
    this.parser.reset(this.r.method === 'HEAD');
    const { key, dial } = dialFor(this.out.tls, peer);
    const cached = this.pool?.take(key, this) ?? null;
    if (cached !== null) {
      this.cached = true;
      this.conn = cached;
      attempt.connectTime = 0;
      this.send();
      return;
    }
    this.cached = false;
    this.conn = connectUpstream(peer.host, peer.port, key, this.conf.connectTimeout, this, dial);
  }

  onConnect(conn: UpstreamConnection): void {
    const attempt = this.current.attempt;
    if (conn !== this.conn || attempt === null) return;
    // proxy_ssl_verify as ngx_http_upstream_ssl_handshake: a failed check is a connect error
    const refused = checkUpstream(this.out.tls, conn);
    if (refused !== null) return this.fail(FT.ERROR, 502, during(HANDSHAKING, refused));
    attempt.connectTime = performance.now() - attempt.start;
    this.send();
  }

  /** The step a failure is logged for: a TLS connection may be handshaking. */
  private stepOf(conn: UpstreamConnection): number {
    return this.phase === CONNECTING && conn.handshaking ? HANDSHAKING : this.phase;
  }

  private send(): void {
    const conn = this.conn as UpstreamConnection;
    const out = this.out;
    this.phase = SENDING;
    conn.requests++;
    conn.setTimeout(this.conf.sendTimeout);
    const data = (this.data ??= requestBytes(out.head, out.body));
    this.requestSent = true;
    this.current.sent(data.length);
    const socket = conn.socket;
    if (!out.streamBody && conn.sendDirect(data, () => conn === this.conn && this.requestWritten())) return;
    // no write callback on the common path: Node then schedules nothing after a write
    const flushed = socket.write(data);
    if (out.streamBody) this.streamBody(conn);
    else if (flushed) this.requestWritten();
    else {
      // queued behind a full buffer: an empty write completes once the request is out
      socket.write(EMPTY, (err) => {
        if (!err && conn === this.conn) this.requestWritten();
      });
    }
  }

  /** The whole request is out: now the head is awaited under proxy_read_timeout. */
  private requestWritten(): void {
    if (this.phase !== SENDING) return;
    this.bodySent = true;
    this.phase = READING_HEAD;
    this.conn?.setTimeout(this.conf.readTimeout);
  }

  /** proxy_request_buffering off: forward the client's body as it arrives. */
  private streamBody(conn: UpstreamConnection): void {
    const chunked = this.out.framing.chunked;
    this.r.body.onData(
      (data) => {
        if (conn !== this.conn || conn.closed) return;
        this.current.sent(data.length);
        conn.socket.write(chunked ? bodyChunk(data) : data);
      },
      (err) => {
        if (conn !== this.conn || conn.closed) return;
        if (err !== undefined) return this.conclude(0, err.status);
        if (chunked) conn.socket.write(LAST_CHUNK, 'latin1');
        this.requestWritten();
      },
    );
  }

  // --- connection events ---

  onData(conn: UpstreamConnection, data: Buffer): void {
    if (conn !== this.conn) return;
    this.current.received(data.length);
    if (this.phase === SENDING && !this.out.streamBody) this.requestWritten();
    try {
      const used = this.parser.feed(data);
      if (this.retryCondition !== 0) return this.retryAfterHead();
      if (this.upgradePending) return this.upgrade(data.subarray(used));
      // bytes beyond the response: the connection is out of step, never reuse it
      if (used < data.length && this.parser.complete) conn.close();
      if (this.held !== null) this.flushHeld();
    } catch (err) {
      if (!(err instanceof UpstreamParseError)) throw err;
      this.log('error', during(this.phase, err.message));
      this.fail(FT.INVALID_HEADER, 502);
    }
  }

  onEnd(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    if (this.parser.finishOnClose()) return;
    this.log('error', during(this.phase, 'upstream prematurely closed connection'));
    this.fail(FT.ERROR, 502);
  }

  onError(conn: UpstreamConnection, err: NodeJS.ErrnoException): void {
    if (conn !== this.conn) return;
    this.fail(FT.ERROR, 502, socketFailure(this.stepOf(conn), err));
  }

  onTimeout(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    this.fail(FT.TIMEOUT, 504, during(this.stepOf(conn), TIMED_OUT));
  }

  // --- the response ---

  onHead(): void {
    const p = this.parser;
    const rec = this.current.head(p);
    const ft = this.retry.headCondition(p.status, this.requestSent);
    if (ft !== 0) {
      p.abandon();
      this.retryCondition = ft;
      return;
    }
    this.phase = READING_BODY;
    const r = this.r;
    if (p.status === 101) {
      this.upgradePending = true;
      return;
    }
    if (interceptsError(r, this.conf, p.status)) {
      p.abandon();
      return this.conclude(p.status, p.status);
    }
    adoptResponseHead(r, p, this.conf, this.selection, this.current.peer as Peer);
    rec.length = 0;
    const length = p.chunked ? -1 : p.contentLength;
    if (holdsBody(r, p.status, length)) this.held = [];
    else r.sendHead(p.status, length);
    this.settle(DONE);
  }

  /** The held body did not complete in this read: send the head and what came so far. */
  private flushHeld(): void {
    const held = this.held as Buffer[];
    this.held = null;
    this.r.sendHead(this.parser.status, this.parser.contentLength);
    if (held.length > 0) this.conn?.retain();
    for (const chunk of held) this.r.write(chunk);
  }

  private retryAfterHead(): void {
    const ft = this.retryCondition;
    this.retryCondition = 0;
    this.next(ft, headOutcome(ft));
  }

  onBody(data: Buffer): void {
    (this.current.attempt as AttemptRecord).length += data.length;
    if (this.held !== null) {
      // sent (copied) with the head before this read returns, or flushed by flushHeld
      this.held.push(data);
      return;
    }
    // the write may keep the bytes queued: the connection must not read over them
    this.conn?.retain();
    if (!this.r.write(data) && !this.paused) {
      this.paused = true;
      this.conn?.socket.pause();
      void this.r.drain().then(() => {
        this.paused = false;
        if (this.conn !== null && !this.conn.closed) this.conn.socket.resume();
      });
    }
  }

  onComplete(): void {
    if (this.phase === SENDING) this.requestWritten();
    const p = this.parser;
    if (p.status === 101) return;
    const conn = this.conn;
    this.conn = null;
    this.phase = FINISHED;
    this.current.finishAttempt(p.status);
    this.current.releasePeer('ok');
    if (conn !== null) {
      if (this.pool !== null && !p.connectionClose && this.bodySent && p.headDone) this.pool.put(conn);
      else conn.close();
    }
    const held = this.held;
    this.held = null;
    if (held === null) this.r.end();
    else this.r.send(p.status, held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held));
  }

  /** 101 Switching Protocols: the engine must hand its socket over for a two-way pipe. */
  private upgrade(early: Buffer): void {
    this.upgradePending = false;
    const r = this.r;
    const conn = this.conn as UpstreamConnection;
    if (r.header('upgrade') === undefined) {
      this.log('error', 'upstream sent 101 response to a request without upgrade');
      return this.conclude(101, 502);
    }
    const head = upgradeHead(r, this.parser, this.conf);
    r.status = 101;
    const client = r.res.upgrade(head, this.parser.statusText);
    this.conn = null;
    this.conclude(101, DONE);
    if (client === null) return conn.close();
    conn.retain();
    tunnel(client.socket, conn, client.head, early, this.conf.readTimeout);
  }

  // --- failures ---

  private fail(ft: number, status: number, message?: string): void {
    if (this.phase === FINISHED) return;
    if (message !== undefined) this.log('error', message);
    if (this.phase === READING_BODY) {
      // the client has the head already: all that is left is to cut its connection
      this.current.finishAttempt(this.parser.status);
      this.current.releasePeer('failed');
      this.closeConnection();
      this.phase = FINISHED;
      this.r.res.destroy();
      return;
    }
    // a cached connection may have been closed by the upstream meanwhile: that try is free
    if (this.cached && ft === FT.ERROR) this.selection.tries++;
    this.next(ft, 'failed', status);
  }

  /** ngx_http_upstream_next: account the peer, then retry or answer. */
  private next(ft: number, outcome: 'failed' | 'next', failStatus?: number): void {
    const status = failStatus ?? statusOf(ft);
    this.current.finishAttempt(outcome === 'next' || failStatus === undefined ? this.parser.status : status);
    this.current.releasePeer(outcome);
    this.closeConnection();
    if (this.selection.tries === 0 || !this.retry.mayRetry(ft, this.requestSent)) return this.answer(status);
    this.connect();
  }

  private closeConnection(): void {
    const conn = this.conn;
    this.conn = null;
    conn?.close();
  }

  private answer(result: PhaseResult): void {
    this.phase = FINISHED;
    this.settle(result);
  }

  /** The content handler's result: the first one counts, as a promise settles once. */
  private settle(result: PhaseResult): void {
    if (this.answered) return;
    this.answered = true;
    if (this.resolve !== null) return this.resolve(result);
    if (result === DONE) return;
    const r = this.r;
    queueMicrotask(() => contentSettled(r, result));
  }

  /** The exchange ends here without another try: record the attempt, free the peer, answer. */
  private conclude(attemptStatus: number, result: PhaseResult): void {
    this.current.finishAttempt(attemptStatus);
    this.current.releasePeer('ok');
    this.closeConnection();
    this.answer(result);
  }

  private log(level: 'error' | 'warn', message: string, upstreamName?: string): void {
    const peer = upstreamName ?? this.current.peer?.name ?? this.out.group.name;
    this.r.logError(level, message, `${this.out.schema}${peer}${this.out.uri}`);
  }
}

const EMPTY = Buffer.alloc(0);
