// Listening sockets shared by the HTTP and stream runtimes: bound once per address, kept across
// reloads that still need them (nginx hands its listening sockets to the new cycle the same way),
// closed when no runtime needs them, with the connections they accepted tracked for shutdown.
import net from 'node:net';
import type { ErrorLog } from './error_log.ts';

/** An address a runtime listens on; a null host is the IPv4 wildcard. */
export interface ListenAddress {
  readonly host: string | null;
  readonly port: number;
}

let connectionSerial = 0;

/** nginx's connection number (`*N` in the error log), one sequence for every listener. */
export function nextConnectionId(): number {
  return ++connectionSerial;
}

/** The key of an address: `*:80` for the wildcard, `[::1]:80`, `127.0.0.1:80`. */
export function bindKey(host: string | null, port: number): string {
  return host === null ? `*:${port}` : host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The sockets a set of addresses needs: specific addresses, or the port's wildcard when it has one. */
export function bindingsOf<T extends ListenAddress>(addresses: Iterable<T>): Map<string, T> {
  const all = [...addresses];
  const wildcardPorts = new Set(all.filter((a) => a.host === null).map((a) => a.port));
  const keys = new Map<string, T>();
  for (const a of all) {
    if (a.host !== null && wildcardPorts.has(a.port)) continue;
    keys.set(bindKey(a.host, a.port), a);
  }
  return keys;
}

/** The entry of `byKey` (keyed by bindKey) for the local address a socket was accepted on. */
export function forLocalAddress<T>(
  byKey: ReadonlyMap<string, T>,
  address: string,
  port: number,
): T | undefined {
  const addr = address.startsWith('::ffff:') ? address.slice(7) : address;
  return byKey.get(bindKey(addr, port)) ?? byKey.get(bindKey(null, port));
}

/** nginx prints errno as `98: Address already in use`. */
export function errnoText(err: NodeJS.ErrnoException): string {
  const table: Record<string, [number, string]> = {
    EADDRINUSE: [98, 'Address already in use'],
    EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
    EACCES: [13, 'Permission denied'],
    ENOENT: [2, 'No such file or directory'],
    ECONNREFUSED: [111, 'Connection refused'],
    ECONNRESET: [104, 'Connection reset by peer'],
    ETIMEDOUT: [110, 'Connection timed out'],
    EHOSTUNREACH: [113, 'No route to host'],
    ENETUNREACH: [101, 'Network is unreachable'],
  };
  const t = err.code ? table[err.code] : undefined;
  return t ? `${t[0]}: ${t[1]}` : err.message;
}

export class ListeningSockets {
  private readonly servers = new Map<string, net.Server>();
  private readonly connections = new Set<net.Socket>();
  /** How a connection's owner ends it gracefully (else: half-close it). */
  private readonly drainers = new WeakMap<net.Socket, () => void>();
  private readonly onConnection: (socket: net.Socket) => void;
  private readonly log: () => ErrorLog;

  /** `log` gives the current cycle's error log (it changes on reload). */
  constructor(onConnection: (socket: net.Socket) => void, log: () => ErrorLog) {
    this.onConnection = onConnection;
    this.log = log;
  }

  /** Bind every address not bound yet (see bindingsOf); throws nginx's bind() error. */
  async bind(addresses: Iterable<ListenAddress>): Promise<void> {
    for (const [key, a] of bindingsOf(addresses)) {
      if (this.servers.has(key)) continue;
      const server = net.createServer({ noDelay: true }, (socket) => {
        this.connections.add(socket);
        socket.once('close', () => this.connections.delete(socket));
        this.onConnection(socket);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          reject(new Error(`bind() to ${a.host ?? '0.0.0.0'}:${a.port} failed (${errnoText(err)})`));
        });
        server.listen({ host: a.host ?? '0.0.0.0', port: a.port, backlog: 511 }, resolve);
      });
      server.on('error', (err) => this.log().log('alert', `listener ${key} failed: ${err.message}`));
      this.servers.set(key, server);
    }
  }

  /** Close the listeners `addresses` no longer needs; open connections are left alone. */
  retain(addresses: Iterable<ListenAddress>): void {
    const needed = bindingsOf(addresses);
    for (const [key, server] of this.servers) {
      if (!needed.has(key)) {
        server.close();
        this.servers.delete(key);
      }
    }
  }

  /** `drain` ends the accepted `socket` gracefully: at once when idle, else after its work. */
  onDrain(socket: net.Socket, drain: () => void): void {
    this.drainers.set(socket, drain);
  }

  /** Stop accepting; with `graceful`, drain open connections and wait for them to end. */
  close(graceful: boolean): Promise<void> {
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    for (const c of this.connections) {
      if (!graceful) c.destroy();
      else (this.drainers.get(c) ?? (() => c.end()))();
    }
    return new Promise((resolve) => {
      const check = () => (this.connections.size === 0 ? resolve() : setTimeout(check, 20));
      check();
    });
  }
}
