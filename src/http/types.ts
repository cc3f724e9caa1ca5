// What HTTP modules see: the request, the phases they join, and the per-server/per-location
// configuration they build handlers from. Modules never see sockets (see engine/types.ts).
import type { ConfBlock } from '../config/types.ts';
import type { CycleZones } from '../core/cycle_zones.ts';
import type { ErrorLog } from '../core/error_log.ts';
import type { VariableRegistry } from '../variables/registry.ts';
import type { BodyReader, ConnectionInfo, ParsedRequest } from './engine/types.ts';
import type { UpstreamState } from './upstream/variables.ts';

/** nginx's request phases, in order. `find_config` and `post_*` are the core's own steps. */
export type Phase = 'server_rewrite' | 'rewrite' | 'preaccess' | 'access' | 'try_files' | 'content' | 'log';

/** Handler results. A number >= 100 finalizes the request with that status (error_page applies). */
export const DECLINED = -1; // not mine: next handler of the same phase
export const OK = 0; // phase done: next phase
export const DONE = -2; // the handler answered, or redirected the request: stop running phases
export type PhaseResult = number;
export type PhaseHandler = (r: HttpRequest) => PhaseResult | Promise<PhaseResult>;

/** Runs just before the response head is written (add_header, expires ...). */
export type HeaderFilter = (r: HttpRequest) => void;

export interface HandlerEntry {
  readonly phase: Phase;
  readonly handler: PhaseHandler;
}

/** Built once per cycle for each `location` (and `if` inside one) block. */
export interface LocationConf {
  readonly block: ConfBlock;
  /** The location's match text, `@name` for named ones, '' for the server's implicit root. */
  readonly name: string;
  readonly server: ServerConf;
  /** Phase handlers of this location, in module order. */
  readonly handlers: Record<Phase, PhaseHandler[]>;
  readonly headerFilters: HeaderFilter[];
  /** Set by modules that own the content (return-less proxy_pass, api ...): replaces the content phase. */
  contentHandler: PhaseHandler | null;
  /**
   * nginx's clcf->auto_redirect, set by proxy_pass and the like: a URI that lacks only this
   * location's trailing slash gets a 301 to the URI with the slash.
   */
  autoRedirect?: boolean;
  /** Module configurations of this location, by module name, built by the modules' hooks. */
  readonly conf: Map<string, unknown>;
  /** Nested locations (see location_tree.ts), and for `if` blocks, their own LocationConf. */
  readonly ifs: Map<ConfBlock, LocationConf>;
}

/** Built once per cycle for each `server` block in `http`. */
export interface ServerConf {
  readonly block: ConfBlock;
  /** The first server_name, for $server_name. */
  readonly serverName: string;
  readonly serverRewrite: PhaseHandler[];
  readonly conf: Map<string, unknown>;
  /** LocationConfs of the server-level `if` blocks. */
  readonly ifs: Map<ConfBlock, LocationConf>;
}

/** What a module's hooks get while the cycle is built. */
export interface BuildContext {
  readonly variables: VariableRegistry;
  readonly log: ErrorLog;
  readonly prefix: string;
  resolvePath(path: string): string;
  /** Declare zones in `init`; after every module's init they are built, then `zones.get(name)`. */
  readonly zones: CycleZones;
  /** `--listen-address`: where port-only listens bind, and where zone_sync connects from. */
  readonly listenAddress?: string;
}

export interface HttpModuleHooks {
  /** Once per cycle, after parsing, before servers are built (declare variables, open files). */
  init?(http: ConfBlock, cx: BuildContext): void;
  /** Per server: server_rewrite handlers (rewrite directives at server level). */
  server?(srv: ServerConf, cx: BuildContext): HandlerEntry[] | undefined;
  /** Per location and per `if` block: phase handlers and header filters. */
  location?(loc: LocationConf, cx: BuildContext): HandlerEntry[] | undefined;
  headerFilter?(loc: LocationConf, cx: BuildContext): HeaderFilter | undefined;
  /** Runs on every request that reaches the log phase (access_log). */
}

/** The request as modules see it. Mutable fields are those nginx's rewrite module may change. */
export interface HttpRequest {
  readonly parsed: ParsedRequest;
  readonly conn: ConnectionInfo;
  readonly body: BodyReader;
  readonly method: string;
  /** `$uri`: changed by rewrite and internal redirects. */
  uri: string;
  /** `$args`. */
  args: string;
  readonly server: ServerConf;
  location: LocationConf;
  /** Regex captures of the last successful match, for `$1`..`$9` (index 0 is the whole match). */
  captures: string[] | null;
  /** Variables set by `set` and `map` results cached for this request. */
  readonly vars: Map<string, string>;
  /** Per-module request state, keyed by module name. */
  readonly ctx: Map<string, unknown>;
  /**
   * limit_req's outcome (`$limit_req_status`), once its limits ran; a field, as nginx's
   * r->main->limit_req_status is, because it is set on every limited request (a map costs more).
   */
  limitReqStatus: string | undefined;
  /** ctx.get(key) without making the map for a request that has none. */
  ctxValue(key: string): unknown;
  /** The upstream module's record of this request (nginx's u->state), once it was proxied. */
  upstreamState?: UpstreamState | null;
  /** Start time, milliseconds since the epoch with sub-ms precision. */
  readonly startTime: number;
  /** Whether this request went through an internal redirect (error_page, try_files, index) or a rewrite. */
  internal: boolean;
  /**
   * Set by `rewrite ... last` (nginx's r->uri_changed): after the rewrite phase the core looks the
   * location up again for the new r.uri (at most 10 times, then 500).
   */
  uriChanged: boolean;
  /** The connection died before the response was complete: streaming handlers stop. */
  readonly aborted: boolean;
  /** Response status and headers (flat name/value list) as they will be sent. */
  status: number;
  readonly headersOut: string[];
  /**
   * Accept-Ranges or Content-Range, which nginx's range filter adds after every other header
   * filter (its r->headers_out.accept_ranges / content_range): set by the static module.
   */
  rangeHeader: readonly [string, string] | null;
  /** Response bytes written so far: body only ($body_bytes_sent), and head plus body ($bytes_sent). */
  readonly bodyBytesSent: number;
  readonly bytesSent: number;
  /** Value of a request header (first occurrence), by lowercased name. */
  header(name: string): string | undefined;
  /** Value of a response header set so far, by lowercased name. */
  headerOut(name: string): string | undefined;
  /** Restart processing at server rewrite with a new URI (error_page, try_files, index). */
  internalRedirect(uri: string, args?: string): PhaseResult;
  /** Jump to a named location `@name`. */
  namedRedirect(name: string): PhaseResult;
  /** Answer with a whole body (header filters run first). Returns DONE. */
  send(status: number, body: string | Buffer, contentType?: string): PhaseResult;
  /** Stream a body: head first (header filters run), then write/end. */
  sendHead(status: number, bodyLength: number): void;
  write(chunk: Buffer | string): boolean;
  drain(): Promise<void>;
  end(chunk?: Buffer | string): void;
  /** Log at `level` with nginx's request context (client, server, request, host). */
  /** `upstream` (proxied requests) is printed as nginx's `upstream: "http://addr/uri"` field. */
  logError(
    level: 'error' | 'warn' | 'notice' | 'info' | 'crit' | 'alert',
    message: string,
    upstream?: string,
  ): void;
}
