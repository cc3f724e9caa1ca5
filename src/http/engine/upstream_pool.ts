// Connections to upstream servers and the keep-alive cache of ngx_http_upstream_keepalive_module:
// one cache per upstream group holding `keepalive N` idle connections (the least recently used
// past N are closed once idle for a second), each reused at most `keepalive_requests` times and
// closed after `keepalive_timeout` idle. A cached connection that sends anything or
// closes is dropped.
// Each socket gets its listeners once; the request currently using it is its `owner`. A TLS
// connection (proxy_pass https://) reads the same way: tls.connect takes `onread` too, so the
// owner hears of it only once the handshake is done.
import net from 'node:net';
import tls from 'node:tls';
import { HeldOutput } from './held_output.ts';
import { readDirectly } from './tcp_fast_path.ts';
import { deadlines } from './timers.ts';

/** Each connection's read buffer (nginx reads upstream responses into proxy_buffer_size pieces). */
const READ_BUFFER_SIZE = 16384;
/**
 * Read buffers of closed connections, for new ones: with more requests in flight than `keepalive`
 * keeps, connections come and go all the time, and each new buffer is external memory to collect.
 */
const spareBuffers: Buffer[] = [];
const SPARE_BUFFERS = 64;
/** How long idle connections past `keepalive N` stay in the cache (UpstreamPool.trim). */
const EXCESS_GRACE_MS = 1000;

/** The request side of a connection in use: gets its events until it releases or closes it. */
export interface ConnectionOwner {
  onConnect(conn: UpstreamConnection): void;
  /**
   * Bytes read: valid only during the call (the connection reads into the same buffer again)
   * unless the owner calls conn.retain().
   */
  onData(conn: UpstreamConnection, data: Buffer): void;
  /** The upstream closed its side (FIN). */
  onEnd(conn: UpstreamConnection): void;
  onError(conn: UpstreamConnection, err: NodeJS.ErrnoException): void;
  /** The time set with `setTimeout` passed (for reads: without a byte arriving). */
  onTimeout(conn: UpstreamConnection): void;
}

/** TLS toward the upstream: tls.connect's options, and where a new session goes for reuse. */
export interface TlsDial {
  readonly options: tls.ConnectionOptions;
  readonly saveSession: ((session: Buffer) => void) | null;
}

export class UpstreamConnection {
  readonly socket: net.Socket;
  /** The peer this connection goes to (`127.0.0.1:8080`), the cache's match key. */
  readonly key: string;
  /** Requests sent on this connection so far. */
  requests = 0;
  owner: ConnectionOwner | null;
  /** Set by the pool while the connection waits in its cache. */
  pool: UpstreamPool | null = null;
  connected = false;
  /** Plain TCP: requests go out held for the end of the turn, below the stream layer; else null. */
  private readonly output: HeldOutput | null;
  /** TCP is up and the TLS handshake under way (a failure now is a handshake failure). */
  handshaking = false;
  closed = false;
  /** When the connection last went into the cache (Date.now()). */
  idleSince = 0;
  /** For the shared deadline sweep: when the current timeout fires, and its length (0: none). */
  deadline = 0;
  private timeoutMs = 0;

  /** Where the socket reads to (see nextBuffer), and whether the owner kept part of it. */
  private readBuffer: Buffer | null = null;
  private retained = false;

  constructor(host: string, port: number, key: string, owner: ConnectionOwner, dial: TlsDial | null) {
    this.key = key;
    this.owner = owner;
    // reads go to this connection's own buffer, handed to the owner synchronously: no stream
    // machinery and no new buffer per read (see retain)
    const onread = {
      buffer: () => this.nextBuffer(),
      callback: (n: number, buf: Uint8Array): boolean => {
        this.onRead(n, buf as Buffer);
        return true;
      },
    };
    const socket =
      dial === null
        ? net.connect({ host, port, noDelay: true, onread })
        : // Node's typings lack tls.connect's `onread`, which it honours as net.connect does
          tls.connect({ ...dial.options, host, port, onread } as tls.ConnectionOptions);
    this.socket = socket;
    this.output = dial === null ? new HeldOutput(socket, true, (err) => socket.destroy(err)) : null;
    if (dial === null) {
      readDirectly(socket, (n) => {
        this.onRead(n, this.readBuffer as Buffer);
        return this.nextBuffer();
      });
    }
    if (dial !== null) {
      socket.setNoDelay(true);
      socket.on('connect', () => {
        this.handshaking = true;
      });
      if (dial.saveSession !== null) socket.on('session', dial.saveSession);
    }
    socket.on(dial === null ? 'connect' : 'secureConnect', () => {
      this.handshaking = false;
      this.connected = true;
      this.owner?.onConnect(this);
    });
    socket.on('end', () => {
      if (this.owner !== null) this.owner.onEnd(this);
      else this.close();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const owner = this.owner;
      this.close();
      owner?.onError(this, err);
    });
    socket.on('close', () => {
      this.closed = true;
      deadlines.delete(this);
      this.pool?.forget(this);
      this.recycle();
    });
    // in the deadline sweep for its whole life: (re)arming a timeout is then two field writes
    deadlines.add(this);
  }

  /**
   * The owner keeps (part of) the data it was just given beyond its onData, e.g. in a write
   * still queued on another socket: the next read must go to a new buffer.
   */
  retain(): void {
    this.retained = true;
  }

  /** Asked after every read: a new buffer when the last was kept, else the same one (undefined). */
  private nextBuffer(): Uint8Array {
    if (this.readBuffer !== null && !this.retained) return undefined as unknown as Uint8Array;
    this.retained = false;
    this.readBuffer = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
    return this.readBuffer;
  }

  /** The socket is gone: its read buffer, unless kept by an owner, serves the next connection. */
  private recycle(): void {
    const buf = this.readBuffer;
    this.readBuffer = null;
    if (buf !== null && !this.retained && spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(buf);
  }

  private onRead(n: number, buf: Buffer): void {
    // a read timeout runs between two successive reads, as nginx's proxy_read_timeout
    if (this.timeoutMs > 0) this.deadline = Date.now() + this.timeoutMs;
    if (this.owner !== null) this.owner.onData(this, buf.subarray(0, n));
    else this.close();
  }

  /**
   * On plain TCP, write `data` with the turn's other writes (held_output.ts) and call `written`
   * once it is out; a failure becomes the socket's error. False: use socket.write.
   */
  sendDirect(data: Buffer, written: () => void): boolean {
    if (this.output === null) return false;
    this.output.send(data, written);
    return true;
  }

  /** Arm the timeout (proxy_connect/read/send_timeout, keepalive_timeout) in ms; 0 turns it off. */
  setTimeout(ms: number): void {
    if (ms <= 0) {
      this.timeoutMs = 0;
      this.deadline = 0;
      return;
    }
    this.timeoutMs = ms;
    this.deadline = Date.now() + ms;
  }

  /** Called by the deadline sweep (which has cleared `deadline`). */
  expire(): void {
    this.timeoutMs = 0;
    if (this.owner !== null) this.owner.onTimeout(this);
    else this.close();
  }

  close(): void {
    this.owner = null;
    if (this.closed) return;
    this.closed = true;
    deadlines.delete(this);
    this.pool?.forget(this);
    this.output?.drop();
    this.socket.destroy();
  }
}

/**
 * Open a connection to `host:port`, over TLS with `dial`; the owner hears onConnect (after the
 * handshake) or onError/onTimeout. The timeout covers the handshake too, as proxy_connect_timeout.
 */
export function connectUpstream(
  host: string,
  port: number,
  key: string,
  timeoutMs: number,
  owner: ConnectionOwner,
  dial: TlsDial | null = null,
): UpstreamConnection {
  const conn = new UpstreamConnection(host, port, key, owner, dial);
  conn.setTimeout(timeoutMs);
  return conn;
}

export class UpstreamPool {
  private readonly limit: number;
  private readonly maxRequests: number;
  private readonly idleTimeout: number;
  /** Idle connections, least recently used first. */
  private readonly idle: UpstreamConnection[] = [];
  /**
   * Past the limit, the least recently used idle connections close once idle for a second, not
   * at once as in nginx: with more requests in flight than `keepalive`, closing the excess at once
   * means reopening it a moment later (nginx does for 14-19 % of requests with keepalive 32 and
   * 64 clients; a connect and close cost ~100 µs of CPU here). The cache never holds more
   * connections than were in use at once during the last second.
   */
  private trimTimer: NodeJS.Timeout | null = null;

  constructor(limit: number, maxRequests: number, idleTimeoutMs: number) {
    this.limit = limit;
    this.maxRequests = maxRequests;
    this.idleTimeout = idleTimeoutMs;
  }

  get size(): number {
    return this.idle.length;
  }

  /** The most recently used idle connection to `key`, now owned by `owner`; null if none. */
  take(key: string, owner: ConnectionOwner): UpstreamConnection | null {
    const idle = this.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const conn = idle[i]!;
      if (conn.key !== key) continue;
      if (i === idle.length - 1) idle.pop();
      else idle.splice(i, 1);
      conn.pool = null;
      conn.owner = owner;
      conn.setTimeout(0);
      return conn;
    }
    return null;
  }

  /** Cache `conn` after a complete exchange, or close it when it may not be reused. */
  put(conn: UpstreamConnection): void {
    conn.owner = null;
    if (conn.closed || conn.requests >= this.maxRequests || conn.socket.readableLength > 0) {
      conn.close();
      return;
    }
    conn.pool = this;
    conn.setTimeout(this.idleTimeout);
    conn.idleSince = Date.now();
    this.idle.push(conn);
    if (this.idle.length > this.limit && this.trimTimer === null) this.trimAfter(EXCESS_GRACE_MS);
  }

  private trimAfter(ms: number): void {
    this.trimTimer = setTimeout(() => this.trim(), ms);
    this.trimTimer.unref();
  }

  /** Close the least recently used idle connections beyond the limit once idle for the grace. */
  private trim(): void {
    this.trimTimer = null;
    const idle = this.idle;
    const cutoff = Date.now() - EXCESS_GRACE_MS;
    while (idle.length > this.limit && idle[0]!.idleSince <= cutoff) idle.shift()?.close();
    if (idle.length > this.limit) this.trimAfter(idle[0]!.idleSince - cutoff);
  }

  /** A cached connection closed or was taken: drop it from the cache. */
  forget(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.pool = null;
  }

  /** Close every idle connection (reload, shutdown). */
  closeAll(): void {
    if (this.trimTimer !== null) clearTimeout(this.trimTimer);
    this.trimTimer = null;
    for (const conn of this.idle.splice(0)) conn.close();
  }
}
