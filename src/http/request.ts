// One HTTP request as modules see it (HttpRequest), on top of the engine's parsed message and
// response writer. The phase runner (phases.ts) drives it; this file owns its state and output.
import { performance } from 'node:perf_hooks';
import type { ErrorLog } from '../core/error_log.ts';
import { PROGRAM, VERSION } from '../core/version.ts';
import type { ComplexValue } from '../variables/types.ts';
import type { HttpServer } from './build.ts';
import type { BodyReader, ConnectionInfo, ParsedRequest, ResponseWriter } from './engine/types.ts';
import type { ErrorPage } from './modules/core.ts';
import { DONE, type HttpRequest, type LocationConf, type PhaseResult } from './types.ts';
import type { UpstreamState } from './upstream/variables.ts';

const SERVER_ON = `${PROGRAM}/${VERSION}`;
/** Constant for the process; reading performance.timeOrigin calls into the runtime each time. */
const TIME_ORIGIN = performance.timeOrigin;
/** prepareHead's work list: heads are built one at a time, synchronously (kept at its size). */
const HEAD: string[] = [];

/** Where the phase runner resumes after a handler redirected the request. */
export type Restart = 'server_rewrite' | 'rewrite' | null;

export class Request implements HttpRequest {
  readonly parsed: ParsedRequest;
  readonly conn: ConnectionInfo;
  readonly body: BodyReader;
  readonly res: ResponseWriter;
  readonly server: HttpServer;
  readonly log: ErrorLog;
  readonly startTime: number;
  method: string;
  uri: string;
  args: string;
  location: LocationConf;
  captures: string[] | null = null;
  internal = false;
  uriChanged = false;
  status = 0;
  readonly headersOut: string[] = [];
  /** nginx's r->uri_changes: internal redirects and `rewrite ... last` left before a 500. */
  uriChangesLeft = 11;
  /** Set by redirects: the runner restarts there. */
  restart: Restart = null;
  /** error_page in force: the status the final response must carry (null: keep the target's). */
  forcedStatus: number | null = null;
  errorPageUsed = false;
  /**
   * The head was copied from an upstream (proxy): no default Content-Type, and Location left as
   * the module set it (nginx's header filter absolutizes only a Location the proxy rewrote).
   */
  rawHead = false;
  upstreamState: UpstreamState | null = null;
  /** An upstream's `200 Fine` to send as the status line (nginx's r->headers_out.status_line). */
  statusText: string | undefined = undefined;
  rangeHeader: readonly [string, string] | null = null;
  private responseEnded = false;
  /** Run once the response is finished or abandoned (the phase runner's log phase). */
  onEnd: ((r: Request) => void) | null = null;
  private varsMap: Map<string, string> | null = null;
  private ctxMap: Map<string, unknown> | null = null;
  limitReqStatus: string | undefined = undefined;

  constructor(
    parsed: ParsedRequest,
    body: BodyReader,
    res: ResponseWriter,
    conn: ConnectionInfo,
    server: HttpServer,
    log: ErrorLog,
  ) {
    this.parsed = parsed;
    this.body = body;
    this.res = res;
    this.conn = conn;
    this.server = server;
    this.log = log;
    this.startTime = TIME_ORIGIN + performance.now();
    this.method = parsed.method;
    this.uri = parsed.path;
    this.args = parsed.query;
    this.location = server.implicit;
    res.onFinish(() => {
      this.responseEnded = true;
      this.onEnd?.(this);
    });
  }

  get aborted(): boolean {
    return this.responseEnded && !this.res.finished;
  }

  get vars(): Map<string, string> {
    this.varsMap ??= new Map();
    return this.varsMap;
  }

  get ctx(): Map<string, unknown> {
    this.ctxMap ??= new Map();
    return this.ctxMap;
  }

  ctxValue(key: string): unknown {
    return this.ctxMap?.get(key);
  }

  get bodyBytesSent(): number {
    return this.res.bodyBytesSent;
  }

  get bytesSent(): number {
    return this.res.bytesSent;
  }

  header(name: string): string | undefined {
    const names = this.parsed.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.parsed.values[i];
    return undefined;
  }

  headerOut(name: string): string | undefined {
    const h = this.headersOut;
    for (let i = 0; i < h.length; i += 2) if (h[i].toLowerCase() === name) return h[i + 1];
    return undefined;
  }

  /** Replace (or add) a response header. */
  setHeaderOut(name: string, value: string): void {
    const lower = name.toLowerCase();
    const h = this.headersOut;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i].toLowerCase() === lower) {
        h[i + 1] = value;
        return;
      }
    }
    h.push(name, value);
  }

  internalRedirect(uri: string, args?: string): PhaseResult {
    const q = args === undefined ? uri.indexOf('?') : -1;
    this.uri = q >= 0 ? uri.slice(0, q) : uri;
    if (q >= 0) this.args = uri.slice(q + 1);
    else if (args !== undefined) this.args = args;
    this.internal = true;
    this.captures = null;
    this.restart = 'server_rewrite';
    return DONE;
  }

  namedRedirect(name: string): PhaseResult {
    const loc = this.server.locations.named(name);
    if (loc === undefined) {
      this.logError('error', `could not find named location "${name}"`);
      return 500;
    }
    this.location = loc;
    this.internal = true;
    this.restart = 'rewrite';
    return DONE;
  }

  send(status: number, body: string | Buffer, contentType?: string): PhaseResult {
    this.prepareHead(status, contentType);
    this.res.send(this.status, this.headersOut, body, this.statusText);
    return DONE;
  }

  sendHead(status: number, bodyLength: number): void {
    this.prepareHead(status, undefined);
    this.res.writeHead(this.status, this.headersOut, bodyLength, this.statusText);
  }

  write(chunk: Buffer | string): boolean {
    return this.res.write(chunk);
  }

  drain(): Promise<void> {
    return this.res.drain();
  }

  end(chunk?: Buffer | string): void {
    this.res.end(chunk);
  }

  logError(
    level: 'error' | 'warn' | 'notice' | 'info' | 'crit' | 'alert',
    message: string,
    upstream?: string,
  ): void {
    if (!this.log.enabled(level)) return;
    const host = this.header('host');
    const ctx =
      `${message}, client: ${this.conn.remoteAddress}, server: ${this.server.serverName}, ` +
      `request: "${this.parsed.requestLine}"${upstream === undefined ? '' : `, upstream: "${upstream}"`}` +
      `${host === undefined ? '' : `, host: "${host}"`}`;
    this.log.log(level, ctx, this.conn.id);
  }

  /** Status, Server, Content-Type and Location as nginx's header filter settles them. */
  private prepareHead(status: number, contentType: string | undefined): void {
    this.status = this.forcedStatus ?? status;
    const filters = this.location.headerFilters;
    for (let i = 0; i < filters.length; i++) filters[i](this);
    const core = this.location.conf.get('http_core') as LocationCore;
    const h = this.headersOut;
    const n = h.length;
    const head = HEAD;
    // Content-Type goes right after Server: its slot is kept and skipped at the end if unused.
    head[0] = 'Server';
    head[1] = core.serverTokens ? SERVER_ON : PROGRAM;
    head[2] = 'Content-Type';
    head[3] = '';
    let k = 4;
    let ct = contentType;
    for (let i = 0; i < n; i += 2) {
      const name = h[i];
      const lower = name.length === 12 || name.length === 8 ? name.toLowerCase() : '';
      if (lower === 'content-type') {
        ct ??= h[i + 1];
        continue;
      }
      head[k++] = name;
      if (lower === 'location' && !this.rawHead && h[i + 1].startsWith('/') && core.absoluteRedirect) {
        head[k++] = this.absoluteUrl(h[i + 1], core);
      } else head[k++] = h[i + 1];
    }
    let j = 0;
    if (this.status !== 204 && this.status !== 304 && (ct !== undefined || !this.rawHead)) {
      head[3] = ct ?? core.defaultType;
      for (; j < k; j++) h[j] = head[j];
    } else {
      h[j++] = head[0];
      h[j++] = head[1];
      for (let i = 4; i < k; i++) h[j++] = head[i];
    }
    if (core.keepaliveHeader !== null && this.parsed.keepAlive) {
      h[j++] = 'Keep-Alive';
      h[j++] = `timeout=${core.keepaliveHeader}`;
    }
    h.length = j;
  }

  /** A relative Location as the header filter sends it (absolute_redirect, port_in_redirect). */
  absoluteLocation(path: string): string {
    const core = this.location.conf.get('http_core') as LocationCore;
    return core.absoluteRedirect ? this.absoluteUrl(path, core) : path;
  }

  private absoluteUrl(path: string, core: LocationCore): string {
    const tls = this.conn.tls;
    const host = this.parsed.host || this.server.serverName;
    const port = this.conn.localPort;
    const showPort = core.portInRedirect && port !== (tls ? 443 : 80);
    return `${tls ? 'https' : 'http'}://${host}${showPort ? `:${port}` : ''}${path}`;
  }
}

/** The core module's per-location settings the request needs on every response. */
export interface LocationCore {
  readonly serverTokens: boolean;
  readonly defaultType: string;
  readonly absoluteRedirect: boolean;
  readonly portInRedirect: boolean;
  readonly msiePadding: boolean;
  readonly clientMaxBodySize: number;
  readonly keepaliveHeader: number | null;
  readonly errorPages: Map<number, ErrorPageTarget>;
}

/** An `error_page` with its target compiled (it may hold variables). */
export interface ErrorPageTarget extends ErrorPage {
  readonly target: ComplexValue;
}
