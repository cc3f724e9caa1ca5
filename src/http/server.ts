// Listening sockets and their hand-over across reloads. A socket is bound once per address and
// survives reloads that keep it; each connection picks the current cycle's listen group when it
// arrives, so a reload never refuses a connection and in-flight requests finish on their config.
import type net from 'node:net';
import type { ErrorLog } from '../core/error_log.ts';
import { bindKey, forLocalAddress, ListeningSockets, nextConnectionId } from '../core/listening.ts';
import type { HttpRuntime, ListenGroup } from './build.ts';
import { Connection } from './engine/connection.ts';
import type { BodyReader, ConnectionInfo, ParsedRequest, RequestHandler } from './engine/types.ts';
import { finalize, runRequest } from './phases.ts';
import { Request } from './request.ts';
import { acceptTls, type TlsConnectionInfo, type TlsSession } from './tls/accept.ts';
import { refuseRequest } from './tls/verify.ts';

const EMPTY_REQUEST: ParsedRequest = {
  method: 'GET',
  target: '',
  path: '',
  query: '',
  hasQuery: false,
  version: 10,
  requestLine: '',
  names: [],
  rawNames: [],
  values: [],
  host: '',
  keepAlive: false,
  contentLength: 0,
  chunked: false,
  expectContinue: false,
};

const NO_BODY: BodyReader = {
  readAll: async () => Buffer.alloc(0),
  onData: (_chunk, end) => end(),
  received: 0,
};

export class HttpListeners {
  private readonly sockets = new ListeningSockets(
    (socket) => this.accept(socket),
    () => this.log,
  );
  private groups = new Map<string, ListenGroup>();
  /** groupForConn's answers for the current groups, by connection (cleared when they change). */
  private connGroups = new WeakMap<ConnectionInfo, ListenGroup>();
  private log: ErrorLog;

  constructor(log: ErrorLog) {
    this.log = log;
  }

  /** Bind everything `runtime` needs that is not bound yet; throws nginx's bind() error. */
  bind(runtime: HttpRuntime): Promise<void> {
    return this.sockets.bind(runtime.groups);
  }

  /** Switch to `runtime`: new connections use it; listeners it no longer needs are closed. */
  activate(runtime: HttpRuntime, log: ErrorLog): void {
    this.log = log;
    const groups = new Map<string, ListenGroup>();
    for (const g of runtime.groups) groups.set(bindKey(g.host, g.port), g);
    this.groups = groups;
    this.connGroups = new WeakMap();
    this.sockets.retain(runtime.groups);
  }

  /** Stop accepting; with `graceful`, let open connections finish their current request. */
  close(graceful: boolean): Promise<void> {
    return this.sockets.close(graceful);
  }

  private accept(socket: net.Socket): void {
    const group = forLocalAddress(this.groups, socket.localAddress ?? '', socket.localPort ?? 0);
    if (group === undefined) {
      socket.destroy();
      return;
    }
    const id = nextConnectionId();
    const serve = (stream: net.Socket, session: TlsSession | null) => {
      const conn = this.serve(stream, group, id, session);
      // graceful shutdown (SIGQUIT) lets a request in progress finish, as nginx does
      this.sockets.onDrain(socket, () => conn.drain());
    };
    if (group.ssl) acceptTls(socket, group, id, this.log, serve);
    else serve(socket, null);
  }

  /** Speak HTTP on `socket`: on an `ssl` address, the TLSSocket of `session` (null for plain HTTP sent there). */
  private serve(socket: net.Socket, group: ListenGroup, id: number, session: TlsSession | null): Connection {
    const info: TlsConnectionInfo = {
      id,
      remoteAddress: stripMapped(socket.remoteAddress ?? ''),
      remotePort: socket.remotePort ?? 0,
      localAddress: stripMapped(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      tls: session !== null,
      servername: session?.servername || undefined,
      ssl: group.ssl ? session : undefined,
      requests: 0,
    };
    return new Connection(socket, group.limits, this.handlerFor(), info);
  }

  /** Finalize `r` with `status` without running the phases; its log phase runs once it is sent. */
  private answer(r: Request, status: number): void {
    r.res.onFinish(() => {
      for (const h of r.location.handlers.log) void h(r);
    });
    finalize(r, status);
  }

  private handlerFor(): RequestHandler {
    return {
      request: (req, body, res, conn) => {
        const group = this.groupForConn(conn);
        const found = group.names.find(req.host);
        const server = found?.value ?? group.defaultServer;
        const ssl = (conn as TlsConnectionInfo).ssl;
        const refused = ssl === undefined ? null : refuseRequest(ssl, server, req.host);
        const r = new Request(req, body, res, conn, refused?.server ?? server, this.log);
        if (found?.groups) for (const [k, v] of Object.entries(found.groups)) r.vars.set(k, v);
        if (refused === null) return runRequest(r);
        r.logError('info', refused.message);
        // nginx drops keep-alive for 495-497 even when an error_page answers them.
        if (refused.status !== 421) res.closeAfter();
        this.answer(r, refused.status);
      },
      badRequest: (status, reason, res, conn, partial) => {
        const group = this.groupForConn(conn);
        if (status === 0 || status === 408 || status === 444) {
          if (reason) this.log.log('info', `${reason}, client: ${conn.remoteAddress}`, conn.id);
          res.destroy();
          return;
        }
        const req: ParsedRequest = { ...EMPTY_REQUEST, ...(partial ?? {}), keepAlive: false };
        const r = new Request(req, NO_BODY, res, conn, group.defaultServer, this.log);
        r.logError('info', reason);
        res.closeAfter();
        this.answer(r, status);
      },
    };
  }

  private groupForConn(conn: ConnectionInfo): ListenGroup {
    let group = this.connGroups.get(conn);
    if (group === undefined) {
      group = forLocalAddress(this.groups, conn.localAddress, conn.localPort) ?? [...this.groups.values()][0];
      this.connGroups.set(conn, group);
    }
    return group;
  }
}

function stripMapped(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
