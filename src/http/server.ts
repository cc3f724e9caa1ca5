// Listening sockets and their hand-over across reloads. A socket is bound once per address and
// survives reloads that keep it; each connection picks the current cycle's listen group when it
// arrives, so a reload never refuses a connection and in-flight requests finish on their config.
import net from 'node:net';
import type { ErrorLog } from '../core/error_log.ts';
import type { HttpRuntime, ListenGroup } from './build.ts';
import { serveConnection } from './engine/connection.ts';
import type { BodyReader, ConnectionInfo, ParsedRequest, RequestHandler } from './engine/types.ts';
import { finalize, runRequest } from './phases.ts';
import { Request } from './request.ts';
import { acceptTls, type TlsConnectionInfo, type TlsSession } from './tls/accept.ts';
import { refuseRequest } from './tls/verify.ts';

let connectionSerial = 0;

/** The address a group binds: a wildcard group on a port takes every address on it (nginx's rule). */
function bindKey(host: string | null, port: number): string {
  return host === null ? `*:${port}` : host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

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
  private readonly servers = new Map<string, net.Server>();
  private groups = new Map<string, ListenGroup>();
  /** groupForConn's answers for the current groups, by connection (cleared when they change). */
  private connGroups = new WeakMap<ConnectionInfo, ListenGroup>();
  private log: ErrorLog;
  private readonly connections = new Set<net.Socket>();

  constructor(log: ErrorLog) {
    this.log = log;
  }

  /** The sockets a runtime needs: specific addresses, or the port's wildcard when it has one. */
  private static bindings(runtime: HttpRuntime): Map<string, ListenGroup> {
    const wildcardPorts = new Set(runtime.groups.filter((g) => g.host === null).map((g) => g.port));
    const keys = new Map<string, ListenGroup>();
    for (const g of runtime.groups) {
      if (g.host !== null && wildcardPorts.has(g.port)) continue;
      keys.set(bindKey(g.host, g.port), g);
    }
    return keys;
  }

  /** Bind everything `runtime` needs that is not bound yet; throws nginx's bind() error. */
  async bind(runtime: HttpRuntime): Promise<void> {
    for (const [key, g] of HttpListeners.bindings(runtime)) {
      if (this.servers.has(key)) continue;
      const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          const host = g.host === null ? '0.0.0.0' : g.host;
          reject(new Error(`bind() to ${host}:${g.port} failed (${errnoText(err)})`));
        });
        server.listen({ host: g.host ?? '0.0.0.0', port: g.port, backlog: 511 }, resolve);
      });
      server.on('error', (err) => this.log.log('alert', `listener ${key} failed: ${err.message}`));
      this.servers.set(key, server);
    }
  }

  /** Switch to `runtime`: new connections use it; listeners it no longer needs are closed. */
  activate(runtime: HttpRuntime, log: ErrorLog): void {
    this.log = log;
    const groups = new Map<string, ListenGroup>();
    for (const g of runtime.groups) groups.set(bindKey(g.host, g.port), g);
    this.groups = groups;
    this.connGroups = new WeakMap();
    const needed = HttpListeners.bindings(runtime);
    for (const [key, server] of this.servers) {
      if (!needed.has(key)) {
        server.close();
        this.servers.delete(key);
      }
    }
  }

  /** Stop accepting; with `graceful`, let open connections finish their current request. */
  close(graceful: boolean): Promise<void> {
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    if (!graceful) for (const c of this.connections) c.destroy();
    else for (const c of this.connections) c.end();
    return new Promise((resolve) => {
      const check = () => (this.connections.size === 0 ? resolve() : setTimeout(check, 20));
      check();
    });
  }

  private groupFor(socket: net.Socket): ListenGroup | undefined {
    const port = socket.localPort ?? 0;
    let addr = socket.localAddress ?? '';
    if (addr.startsWith('::ffff:')) addr = addr.slice(7);
    return this.groups.get(bindKey(addr, port)) ?? this.groups.get(bindKey(null, port));
  }

  private accept(socket: net.Socket): void {
    const group = this.groupFor(socket);
    if (group === undefined) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    const id = ++connectionSerial;
    if (group.ssl)
      acceptTls(socket, group, id, this.log, (stream, session) => this.serve(stream, group, id, session));
    else this.serve(socket, group, id, null);
  }

  /** Speak HTTP on `socket`: on an `ssl` address, the TLSSocket of `session` (null for plain HTTP sent there). */
  private serve(socket: net.Socket, group: ListenGroup, id: number, session: TlsSession | null): void {
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
    serveConnection(socket, group.limits, this.handlerFor(), info);
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
      group =
        this.groups.get(bindKey(conn.localAddress, conn.localPort)) ??
        this.groups.get(bindKey(null, conn.localPort)) ??
        [...this.groups.values()][0];
      this.connGroups.set(conn, group);
    }
    return group;
  }
}

function stripMapped(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** nginx prints errno as `98: Address already in use`. */
export function errnoText(err: NodeJS.ErrnoException): string {
  const table: Record<string, [number, string]> = {
    EADDRINUSE: [98, 'Address already in use'],
    EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
    EACCES: [13, 'Permission denied'],
    ENOENT: [2, 'No such file or directory'],
  };
  const t = err.code ? table[err.code] : undefined;
  return t ? `${t[0]}: ${t[1]}` : err.message;
}
