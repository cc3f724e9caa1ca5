// What stream modules see: a stream `server` with its listens, the content handler slot a module
// fills (nginx's cscf->handler: `zone_sync`, `return`), and the session a handler is given.
import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ConfBlock, ConfEntry } from '../config/types.ts';
import type { Level } from '../core/error_log.ts';
import type { BuildContext } from '../http/types.ts';
import type { NginxResolver } from './resolver.ts';

/** One `listen` of a stream server. */
export interface StreamListen {
  /** null for the IPv4 wildcard (`listen 9000;`, `listen *:9000;`). */
  readonly host: string | null;
  readonly port: number;
  readonly ssl: boolean;
  readonly defaultServer: boolean;
  readonly entry: ConfEntry;
}

/** One stream connection, as its server's handler gets it. */
export interface StreamSession {
  /** nginx's connection number (`*N`). */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly server: StreamServer;
  /** The client's certificate when ssl_verify_client asked for one (verified, unless optional_no_ca). */
  readonly clientCertificate: X509Certificate | null;
  readonly tls: boolean;
  /** Log in nginx's stream format: `*N MESSAGE, client: ADDR, server: LISTEN`. */
  log(level: Level, message: string): void;
}

/**
 * A server's content handler. It owns the socket (the TLSSocket on `ssl` listens, after the
 * handshake and the client certificate check have passed) and must end it.
 */
export type StreamHandler = (socket: Socket, session: StreamSession) => void;

/** Built once per cycle for each `server` block in `stream`. */
export interface StreamServer {
  readonly block: ConfBlock;
  readonly listens: readonly StreamListen[];
  /** Module configurations of this server, by module name. */
  readonly conf: Map<string, unknown>;
  /** Set by the one module that serves the connections; a server without one is refused. */
  handler: StreamHandler | null;
  /** The `resolver` of this server or of `stream`; null when neither has one. */
  readonly resolver: NginxResolver | null;
  /** `resolver_timeout` (default 30s), in milliseconds. */
  readonly resolverTimeout: number;
}

/** The cycle's build context, as HTTP modules get it: zones, error log, paths. */
export type StreamBuildContext = BuildContext;

export interface StreamModuleHooks {
  /** Once per cycle, before any zone is built and before the http block is: declare zones here. */
  init?(stream: ConfBlock, cx: StreamBuildContext): void;
  /** Per server, in module order, after every zone is built: build the module's conf, set `handler`. */
  server?(srv: StreamServer, cx: StreamBuildContext): void;
}
