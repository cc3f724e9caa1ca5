// Builds the HTTP runtime of one cycle from the parsed `http` block: servers with their location
// trees, per-location phase handlers from every module's hooks, and listen groups by address.
import { find, inherited, inheritedValue } from '../config/tree.ts';
import type { ConfBlock, ConfEntry } from '../config/types.ts';
import { invalid } from '../config/types.ts';
import type { Module } from '../core/module.ts';
import type { EngineLimits } from './engine/types.ts';
import { type LocationSpec, LocationTree } from './location_tree.ts';
import type { ErrorPage, ListenOptions } from './modules/core.ts';
import type { ErrorPageTarget, LocationCore } from './request.ts';
import { ServerNameIndex } from './server_names.ts';
import { checkSslGroup } from './tls/server_ssl.ts';
import type { BuildContext, HeaderFilter, LocationConf, Phase, PhaseHandler, ServerConf } from './types.ts';

export interface HttpServer extends ServerConf {
  readonly locations: LocationTree<LocationConf>;
  /** The server block's own configuration, used when no location matches. */
  readonly implicit: LocationConf;
  readonly listens: ListenOptions[];
}

/** Every server reachable through one `address:port`, with the default one. */
export interface ListenGroup {
  readonly host: string | null;
  readonly port: number;
  /** Set when any `listen` of the address has `ssl`, as nginx merges listen options. */
  ssl: boolean;
  readonly names: ServerNameIndex<HttpServer>;
  /** Every server listening here, in configuration order. */
  readonly servers: HttpServer[];
  defaultServer: HttpServer;
  readonly limits: EngineLimits;
}

export interface HttpRuntime {
  readonly servers: HttpServer[];
  readonly groups: ListenGroup[];
}

const PHASES: Phase[] = ['server_rewrite', 'rewrite', 'preaccess', 'access', 'try_files', 'content', 'log'];

function emptyHandlers(): Record<Phase, PhaseHandler[]> {
  const h = {} as Record<Phase, PhaseHandler[]>;
  for (const p of PHASES) h[p] = [];
  return h;
}

function locationCore(block: ConfBlock, cx: BuildContext): LocationCore {
  const errorPages = new Map<number, ErrorPageTarget>();
  for (const e of inherited(block, 'error_page')) {
    const page = e.value as ErrorPage;
    // The target may use variables (`error_page 497 https://$host$request_uri;`).
    const target = { ...page, target: cx.variables.compile(page.uri, e) };
    for (const code of page.codes) if (!errorPages.has(code)) errorPages.set(code, target);
  }
  const ka = inheritedValue<{ header: number | null } | null>(block, 'keepalive_timeout', null);
  return {
    serverTokens: inheritedValue(block, 'server_tokens', true),
    defaultType: String(inheritedValue(block, 'default_type', 'text/plain')),
    absoluteRedirect: inheritedValue(block, 'absolute_redirect', true),
    portInRedirect: inheritedValue(block, 'port_in_redirect', true),
    msiePadding: inheritedValue(block, 'msie_padding', true),
    clientMaxBodySize: inheritedValue(block, 'client_max_body_size', 1024 * 1024),
    keepaliveHeader: ka?.header == null ? null : Math.floor(ka.header / 1000),
    errorPages,
  };
}

class Builder {
  private readonly modules: readonly Module[];
  private readonly cx: BuildContext;
  constructor(modules: readonly Module[], cx: BuildContext) {
    this.modules = modules;
    this.cx = cx;
  }

  location(block: ConfBlock, name: string, server: ServerConf): LocationConf {
    const loc: LocationConf = {
      block,
      name,
      server,
      handlers: emptyHandlers(),
      headerFilters: [],
      contentHandler: null,
      conf: new Map([['http_core', locationCore(block, this.cx)]]),
      ifs: new Map(),
    };
    // `if` blocks are locations of their own (nginx's ngx_http_rewrite_if): built first so the
    // rewrite module finds them when it compiles this location's script.
    this.collectIfs(block, server, loc.ifs);
    for (const m of this.modules) {
      for (const h of m.http?.location?.(loc, this.cx) ?? []) loc.handlers[h.phase].push(h.handler);
      const filter: HeaderFilter | undefined = m.http?.headerFilter?.(loc, this.cx);
      if (filter) loc.headerFilters.push(filter);
    }
    return loc;
  }

  private collectIfs(block: ConfBlock, server: ServerConf, into: Map<ConfBlock, LocationConf>): void {
    for (const e of block.entries) {
      if (e.name === 'if' && e.block) into.set(e.block, this.location(e.block, 'if', server));
    }
  }

  locationSpecs(block: ConfBlock, server: ServerConf): LocationSpec<LocationConf>[] {
    const specs: LocationSpec<LocationConf>[] = [];
    for (const e of block.entries) {
      if (e.name !== 'location' || !e.block) continue;
      const { modifier, pattern } = e.value as {
        modifier: LocationSpec<LocationConf>['modifier'];
        pattern: string;
      };
      const value = this.location(e.block, modifier === '@' ? pattern : `${modifier}${pattern}`, server);
      specs.push({ modifier, pattern, value, children: this.locationSpecs(e.block, server), entry: e });
    }
    return specs;
  }

  server(block: ConfBlock): HttpServer {
    const names = find(block, 'server_name')?.value as string[] | undefined;
    const listens = block.entries.filter((e) => e.name === 'listen').map((e) => e.value as ListenOptions);
    const srv = {
      block,
      serverName: names?.[0] ?? '',
      serverRewrite: [] as PhaseHandler[],
      conf: new Map<string, unknown>(),
      ifs: new Map<ConfBlock, LocationConf>(),
      listens,
    } as unknown as HttpServer & { locations: LocationTree<LocationConf>; implicit: LocationConf };
    (srv as { implicit: LocationConf }).implicit = this.location(block, '', srv);
    for (const [b, l] of srv.implicit.ifs) srv.ifs.set(b, l);
    (srv as { locations: LocationTree<LocationConf> }).locations = new LocationTree(
      this.locationSpecs(block, srv),
      false,
      (loc) => loc.autoRedirect === true,
    );
    for (const m of this.modules) {
      for (const h of m.http?.server?.(srv, this.cx) ?? []) srv.serverRewrite.push(h.handler);
    }
    return srv;
  }
}

function limitsOf(block: ConfBlock): EngineLimits {
  const large = inheritedValue(block, 'large_client_header_buffers', { number: 4, size: 8192 });
  const ka = inheritedValue<{ timeout: number } | null>(block, 'keepalive_timeout', null);
  return {
    clientHeaderTimeout: inheritedValue(block, 'client_header_timeout', 60000),
    clientBodyTimeout: inheritedValue(block, 'client_body_timeout', 60000),
    keepaliveTimeout: ka?.timeout ?? 75000,
    keepaliveRequests: inheritedValue(block, 'keepalive_requests', 1000),
    clientHeaderBufferSize: inheritedValue(block, 'client_header_buffer_size', 1024),
    largeHeaderBuffers: large.number,
    largeHeaderBufferSize: large.size,
    lingeringTimeout: inheritedValue(block, 'lingering_timeout', 5000),
  };
}

function addrText(host: string | null, port: number): string {
  if (host === null) return `0.0.0.0:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The listen a server gets without any `listen`: *:80 as root, *:8000 otherwise (nginx's rule). */
function defaultListen(block: ConfBlock): ListenOptions {
  const port = process.getuid?.() === 0 ? 80 : 8000;
  return { host: null, port, defaultServer: false, ssl: false, entry: block.owner as ConfEntry };
}

/** Named captures of location and server_name regexes become variables, as in nginx. */
function declareCaptureNames(block: ConfBlock, cx: BuildContext): void {
  for (const e of block.entries) {
    if (e.name === 'location')
      for (const n of (e.value as { captureNames: string[] }).captureNames) cx.variables.declare(n);
    if (e.name === 'server_name')
      for (const n of e.value as string[]) if (n.startsWith('~')) declareGroups(n.slice(1), cx);
    if (e.block) declareCaptureNames(e.block, cx);
  }
}

function declareGroups(pattern: string, cx: BuildContext): void {
  for (const m of pattern.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)) cx.variables.declare(m[1]);
}

export function buildHttp(
  http: ConfBlock,
  modules: readonly Module[],
  cx: BuildContext,
  listenAddress?: string,
): HttpRuntime {
  declareCaptureNames(http, cx);
  for (const m of modules) m.http?.init?.(http, cx);
  cx.zones.resolve();
  const builder = new Builder(modules, cx);
  const servers = http.entries
    .filter((e) => e.name === 'server' && e.block)
    .map((e) => builder.server(e.block!));
  const groups = new Map<string, ListenGroup>();
  for (const srv of servers) {
    const listens = srv.listens.length > 0 ? srv.listens : [defaultListen(srv.block)];
    for (const written of listens) {
      // --listen-address turns `listen 9000;` and `listen *:9000;` into `listen ADDRESS:9000;`.
      const l =
        written.host === null && listenAddress !== undefined ? { ...written, host: listenAddress } : written;
      const key = addrText(l.host, l.port);
      let g = groups.get(key);
      if (g === undefined) {
        g = {
          host: l.host,
          port: l.port,
          ssl: l.ssl,
          names: new ServerNameIndex(key),
          servers: [],
          defaultServer: srv,
          limits: limitsOf(srv.block),
        };
        groups.set(key, g);
      } else if (l.defaultServer) {
        if (g.defaultServer.listens.some((x) => x.defaultServer && addrText(x.host, x.port) === key)) {
          invalid(`a duplicate default server for ${key}`, l.entry);
        }
        g.defaultServer = srv;
        (g as { limits: EngineLimits }).limits = limitsOf(srv.block);
      }
      if (l.ssl) g.ssl = true;
      if (!g.servers.includes(srv)) g.servers.push(srv);
      const names = (find(srv.block, 'server_name')?.value as string[] | undefined) ?? [''];
      for (const e of srv.block.entries.filter((x) => x.name === 'server_name')) {
        for (const n of e.value as string[]) {
          if (!g.names.add(n, srv, e))
            cx.log.log('warn', `conflicting server name "${n}" on ${key}, ignored`);
        }
      }
      if (names.length === 0) g.names.add('', srv, l.entry);
    }
  }
  for (const g of groups.values()) if (g.ssl) checkSslGroup(g);
  return { servers, groups: [...groups.values()] };
}
