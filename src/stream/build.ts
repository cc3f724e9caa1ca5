// Builds the stream runtime of one cycle from the parsed `stream` block: servers with their
// resolver and the content handler a module set, and listen groups by address, with nginx's
// checks (ngx_stream_add_listen, ngx_stream_core_merge_srv_conf, ngx_stream_ssl_init).
import { findAll, inherited, inheritedValue } from '../config/tree.ts';
import type { ConfBlock, ConfEntry } from '../config/types.ts';
import { ConfigError, invalid } from '../config/types.ts';
import type { ErrorLog } from '../core/error_log.ts';
import type { Module } from '../core/module.ts';
import type { ResolverConf } from './core_module.ts';
import { NginxResolver } from './resolver.ts';
import { checkStreamSsl } from './ssl_module.ts';
import type { StreamBuildContext, StreamListen, StreamServer } from './types.ts';

/** Every server reachable through one `address:port`; connections go to its default server. */
export interface StreamListenGroup {
  readonly host: string | null;
  readonly port: number;
  /** As nginx prints the listening address (`server: 0.0.0.0:9000` in the error log). */
  readonly text: string;
  /** Set when any `listen` of the address has `ssl`, as nginx merges listen options. */
  ssl: boolean;
  readonly servers: StreamServer[];
  defaultServer: StreamServer;
}

export interface StreamRuntime {
  readonly servers: StreamServer[];
  readonly groups: StreamListenGroup[];
}

const DEFAULT_RESOLVER_TIMEOUT = 30_000;

function addrText(host: string | null, port: number): string {
  if (host === null) return `0.0.0.0:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Stream modules' init hooks: before the zones are built, so they may declare zones. */
export function initStream(stream: ConfBlock, modules: readonly Module[], cx: StreamBuildContext): void {
  for (const m of modules) m.stream?.init?.(stream, cx);
}

/**
 * One NginxResolver per `resolver` directive and timeout, shared by the servers that inherit it
 * (nginx shares the stream-level resolver, and so its cache, between servers).
 */
class Resolvers {
  private readonly built = new Map<ConfEntry, Map<number, NginxResolver>>();
  private readonly log: ErrorLog;
  constructor(log: ErrorLog) {
    this.log = log;
  }

  for(block: ConfBlock, timeout: number): NginxResolver | null {
    const entry = inherited(block, 'resolver')[0];
    if (entry === undefined) return null;
    let byTimeout = this.built.get(entry);
    if (byTimeout === undefined) this.built.set(entry, (byTimeout = new Map()));
    let resolver = byTimeout.get(timeout);
    if (resolver === undefined) {
      const conf = entry.value as ResolverConf;
      resolver = new NginxResolver(conf.servers, {
        valid: conf.valid,
        ipv4: conf.ipv4,
        ipv6: conf.ipv6,
        timeout,
        log: (level, message) => this.log.log(level, message),
      });
      byTimeout.set(timeout, resolver);
    }
    return resolver;
  }
}

function buildServer(
  block: ConfBlock,
  modules: readonly Module[],
  cx: StreamBuildContext,
  resolvers: Resolvers,
): StreamServer {
  const resolverTimeout = inheritedValue(block, 'resolver_timeout', DEFAULT_RESOLVER_TIMEOUT);
  const srv: StreamServer = {
    block,
    listens: findAll(block, 'listen').map((e) => e.value as StreamListen),
    conf: new Map(),
    handler: null,
    resolver: resolvers.for(block, resolverTimeout),
    resolverTimeout,
  };
  for (const m of modules) m.stream?.server?.(srv, cx);
  if (srv.handler === null) {
    // nginx names the server's own place inside its message.
    const owner = block.owner as ConfEntry;
    throw new ConfigError('no handler for server', owner.file, owner.line);
  }
  return srv;
}

/** Build every server (modules' server hooks, after every zone is built) and the listen groups. */
export function buildStream(
  stream: ConfBlock,
  modules: readonly Module[],
  cx: StreamBuildContext,
  listenAddress?: string,
): StreamRuntime {
  cx.zones.resolve();
  const resolvers = new Resolvers(cx.log);
  const servers = findAll(stream, 'server').map((e) => buildServer(e.block!, modules, cx, resolvers));
  const groups = new Map<string, StreamListenGroup>();
  const withDefault = new Set<StreamListenGroup>();
  for (const srv of servers) {
    for (const written of srv.listens) {
      // --listen-address turns `listen 9000;` and `listen *:9000;` into `listen ADDRESS:9000;`.
      const l =
        written.host === null && listenAddress !== undefined ? { ...written, host: listenAddress } : written;
      const text = addrText(l.host, l.port);
      let g = groups.get(text);
      if (g === undefined) {
        g = { host: l.host, port: l.port, text, ssl: false, servers: [], defaultServer: srv };
        groups.set(text, g);
      } else if (g.servers.includes(srv)) {
        invalid(`a duplicate listen ${text}`, l.entry);
      }
      if (l.defaultServer) {
        if (withDefault.has(g)) invalid(`a duplicate default server for ${text}`, l.entry);
        withDefault.add(g);
        g.defaultServer = srv;
      }
      g.ssl ||= l.ssl;
      g.servers.push(srv);
    }
  }
  for (const g of groups.values()) {
    // Every server here has the implicit name "" (no stream server_name in this build).
    if (g.servers.length > 1) cx.log.log('warn', `conflicting server name "" on ${g.text}, ignored`);
    if (g.ssl) checkStreamSsl(g.defaultServer);
  }
  return { servers, groups: [...groups.values()] };
}
