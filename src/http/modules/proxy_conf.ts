// ngx_http_proxy_module's directives and the per-location configuration built from them
// (ngx_http_proxy_merge_loc_conf): every setting inherited from the nearest level that has it.
import { enclosing, inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfBlock, ConfEntry, Context, DirectiveSpec, ParseContext } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import {
  enumDirective,
  flagDirective,
  ignoredDirective,
  numberDirective,
  sizeDirective,
  timeDirective,
} from '../../config/values.ts';
import { compileRegex } from '../../core/regex.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { BuildContext, LocationConf } from '../types.ts';
import type { UpstreamGroup } from '../upstream/balancer.ts';
import { resolveUpstreamHost, type UpstreamRegistry, upstreamsOf } from '../upstream/upstream.ts';
import { DEFAULT_HIDDEN, type RedirectRule, RequestHeaderTemplate } from './proxy_headers.ts';
import { checkUriPart, type ProxyUrl, parseProxyUrl, type UriContext } from './proxy_pass.ts';
import { buildProxyTls, type ProxyTls, proxySslDirectives } from './proxy_ssl.ts';

/** proxy_next_upstream conditions (NGX_HTTP_UPSTREAM_FT_*). */
export const FT = {
  ERROR: 0x2,
  TIMEOUT: 0x4,
  INVALID_HEADER: 0x8,
  HTTP_500: 0x10,
  HTTP_502: 0x20,
  HTTP_503: 0x40,
  HTTP_504: 0x80,
  HTTP_403: 0x100,
  HTTP_404: 0x200,
  HTTP_429: 0x400,
  NON_IDEMPOTENT: 0x4000,
  OFF: 0x40000000,
} as const;

/** next_upstream conditions by upstream status. */
export const FT_BY_STATUS = new Map<number, number>([
  [500, FT.HTTP_500],
  [502, FT.HTTP_502],
  [503, FT.HTTP_503],
  [504, FT.HTTP_504],
  [403, FT.HTTP_403],
  [404, FT.HTTP_404],
  [429, FT.HTTP_429],
]);

/** The status nginx answers when tries run out on a failure of this kind (else 502). */
export const STATUS_BY_FT = new Map<number, number>([
  [FT.TIMEOUT, 504],
  [FT.HTTP_504, 504],
  [FT.HTTP_500, 500],
  [FT.HTTP_503, 503],
  [FT.HTTP_403, 403],
  [FT.HTTP_404, 404],
  [FT.HTTP_429, 429],
]);

const NEXT_UPSTREAM_NAMES: Record<string, number> = {
  error: FT.ERROR,
  timeout: FT.TIMEOUT,
  invalid_header: FT.INVALID_HEADER,
  http_500: FT.HTTP_500,
  http_502: FT.HTTP_502,
  http_503: FT.HTTP_503,
  http_504: FT.HTTP_504,
  http_403: FT.HTTP_403,
  http_404: FT.HTTP_404,
  http_429: FT.HTTP_429,
  non_idempotent: FT.NON_IDEMPOTENT,
  off: FT.OFF,
};

/** What `proxy_pass` parsed to: a fixed URL, or text with variables evaluated per request. */
export type ProxyPassValue =
  | { readonly url: ProxyUrl; readonly dynamic: null }
  | { readonly url: null; readonly dynamic: string };

export interface ProxyConf {
  readonly url: ProxyUrl | null;
  readonly dynamic: ComplexValue | null;
  /** The target of a fixed URL. */
  readonly group: UpstreamGroup | null;
  readonly registry: UpstreamRegistry;
  /** proxy_ssl_*: for an https:// URL, or one with variables (which may turn out https). */
  readonly ssl: ProxyTls | null;
  readonly uriContext: UriContext;
  readonly headers: RequestHeaderTemplate;
  /** 10 or 11. */
  readonly httpVersion: number;
  readonly passRequestHeaders: boolean;
  readonly passRequestBody: boolean;
  readonly requestBuffering: boolean;
  readonly nextUpstream: number;
  readonly nextUpstreamTries: number;
  readonly nextUpstreamTimeout: number;
  readonly connectTimeout: number;
  readonly readTimeout: number;
  readonly sendTimeout: number;
  readonly hidden: ReadonlySet<string>;
  /** proxy_redirect rules; null for `off`. */
  readonly redirects: readonly RedirectRule[] | null;
  readonly bufferSize: number;
  readonly interceptErrors: boolean;
  readonly clientMaxBodySize: number;
}

/** The location name nginx's proxy_pass checks the URI part against (see checkUriPart). */
function locationNameOf(block: ConfBlock): string {
  const owner = block.owner;
  if (owner === null || owner.name !== 'location') return 'if';
  return owner.args.join('');
}

function parseProxyPass(e: ConfEntry, cx: ParseContext): ProxyPassValue {
  const text = e.args[0];
  if (text.includes('$')) return { url: null, dynamic: text };
  // nginx names the URL only in the run-time (variables) form of this message
  const url = parseProxyUrl(text, (m) =>
    invalid(m.startsWith('invalid URL prefix') ? 'invalid URL prefix' : m, e),
  );
  checkUriPart(url, locationNameOf(cx.block), false, e);
  return { url, dynamic: null };
}

function parseNextUpstream(e: ConfEntry): number {
  let mask = 0;
  for (const a of e.args) {
    const bit = NEXT_UPSTREAM_NAMES[a.toLowerCase()];
    if (bit === undefined) invalid(`invalid value "${a}"`, e);
    mask |= bit;
  }
  return mask & FT.OFF ? FT.OFF : mask;
}

function parseRedirect(e: ConfEntry): void {
  const [from] = e.args;
  if (e.args.length === 1 && from !== 'default' && from !== 'off' && from !== 'false') {
    invalid(`invalid parameter "${from}"`, e);
  }
}

const HSL: Context[] = ['http', 'server', 'location'];

export const proxyDirectives: DirectiveSpec[] = [
  {
    name: 'proxy_pass',
    contexts: ['location', 'if_location', 'limit_except'],
    args: [1],
    parse: parseProxyPass,
  },
  { name: 'proxy_set_header', contexts: HSL, args: [2], multiple: true },
  enumDirective('proxy_http_version', HSL, ['1.0', '1.1']),
  flagDirective('proxy_pass_request_headers', HSL),
  flagDirective('proxy_pass_request_body', HSL),
  flagDirective('proxy_buffering', HSL),
  flagDirective('proxy_request_buffering', HSL),
  flagDirective('proxy_intercept_errors', HSL),
  flagDirective('proxy_ignore_client_abort', HSL),
  { name: 'proxy_next_upstream', contexts: HSL, args: '1+', parse: parseNextUpstream },
  numberDirective('proxy_next_upstream_tries', HSL),
  timeDirective('proxy_next_upstream_timeout', HSL),
  timeDirective('proxy_connect_timeout', HSL),
  timeDirective('proxy_read_timeout', HSL),
  timeDirective('proxy_send_timeout', HSL),
  { name: 'proxy_hide_header', contexts: HSL, args: [1], multiple: true },
  { name: 'proxy_pass_header', contexts: HSL, args: [1], multiple: true },
  { name: 'proxy_redirect', contexts: HSL, args: [1, 2], multiple: true, parse: parseRedirect },
  sizeDirective('proxy_buffer_size', HSL),
  ignoredDirective('proxy_buffers', HSL, [2]),
  ignoredDirective('proxy_busy_buffers_size', HSL, [1]),
  ignoredDirective('proxy_max_temp_file_size', HSL, [1]),
  ignoredDirective('proxy_temp_file_write_size', HSL, [1]),
  ignoredDirective('proxy_temp_path', HSL, [1, 2, 3, 4]),
  ...proxySslDirectives,
];

/** The group a fixed URL names: an `upstream` block, else an implicit group for host:port. */
function targetGroup(url: ProxyUrl, registry: UpstreamRegistry, entry: ConfEntry): UpstreamGroup {
  const named = registry.named(url.host);
  if (named !== undefined) {
    if (url.port !== 0) invalid(`upstream "${url.host}" may not have port ${url.port}`, entry);
    return named;
  }
  const host = url.host.startsWith('[') ? url.host.slice(1, -1) : url.host;
  const addresses = resolveUpstreamHost(host, url.host, entry);
  return registry.implicitGroup(host, Number(url.proxyPort), addresses);
}

function redirectRules(
  block: ConfBlock,
  value: ProxyPassValue,
  location: string,
  cx: BuildContext,
): RedirectRule[] | null {
  const entries = inherited(block, 'proxy_redirect');
  if (entries.length === 0) return value.url === null ? [] : [defaultRedirect(value.url, location)];
  const rules: RedirectRule[] = [];
  for (const e of entries) {
    const [from, to] = e.args as [string, string | undefined];
    if (from === 'off' || from === 'false') return null;
    if (from === 'default') {
      if (value.url === null)
        invalid('"proxy_redirect default" cannot be used with "proxy_pass" directive with variables', e);
      rules.push(defaultRedirect(value.url, location));
      continue;
    }
    const replacement = cx.variables.compile(to as string, e);
    if (from.startsWith('~')) {
      const caseless = from.startsWith('~*');
      rules.push({
        prefix: null,
        regex: compileRegex(from.slice(caseless ? 2 : 1), caseless, e),
        replacement,
      });
    } else rules.push({ prefix: cx.variables.compile(from, e), regex: null, replacement });
  }
  return rules;
}

/** A fixed text as a complex value (it may contain `$`, which must not start a variable). */
function constantValue(text: string): ComplexValue {
  return { text, constant: text, evaluate: () => text };
}

/** `proxy_redirect default`: the proxy_pass URL becomes the location's prefix. */
function defaultRedirect(url: ProxyUrl, location: string): RedirectRule {
  const base = `${url.schema}${url.host}${url.portText === '' ? '' : `:${url.portText}`}`;
  if (url.uri !== '')
    return { prefix: constantValue(base + url.uri), regex: null, replacement: constantValue(location) };
  return { prefix: constantValue(`${base}/`), regex: null, replacement: constantValue('/') };
}

/** Build the location's proxy configuration, or null when no proxy_pass applies to it. */
export function buildProxyConf(loc: LocationConf, cx: BuildContext): ProxyConf | null {
  const block = loc.block;
  const passEntry = block.entries.find((e) => e.name === 'proxy_pass');
  if (passEntry === undefined) return null;
  const value = passEntry.value as ProxyPassValue;
  const http = enclosing(block, 'http') as ConfBlock;
  const registry = upstreamsOf(http);
  const uriContext = checkUriPart(
    value.url ?? ({ uri: '' } as ProxyUrl),
    locationNameOf(block),
    value.dynamic !== null,
    passEntry,
  );
  const group = value.url !== null ? targetGroup(value.url, registry, passEntry) : null;
  const hidden = new Set(DEFAULT_HIDDEN);
  for (const e of inherited(block, 'proxy_pass_header')) hidden.delete(e.args[0].toLowerCase());
  for (const e of inherited(block, 'proxy_hide_header')) hidden.add(e.args[0].toLowerCase());
  const version = inheritedValue<string>(block, 'proxy_http_version', '1.0');
  const core = loc.conf.get('http_core') as { clientMaxBodySize: number };
  return {
    url: value.url,
    dynamic: value.dynamic === null ? null : cx.variables.compile(value.dynamic, passEntry),
    group,
    registry,
    ssl: value.url === null || value.url.schema === 'https://' ? buildProxyTls(block, http, cx) : null,
    uriContext,
    headers: new RequestHeaderTemplate(
      inherited(block, 'proxy_set_header'),
      cx.variables,
      value.url?.hostHeader,
    ),
    httpVersion: version === '1.1' ? 11 : 10,
    passRequestHeaders: inheritedValue(block, 'proxy_pass_request_headers', true),
    passRequestBody: inheritedValue(block, 'proxy_pass_request_body', true),
    requestBuffering: inheritedValue(block, 'proxy_request_buffering', true),
    nextUpstream: inheritedValue(block, 'proxy_next_upstream', FT.ERROR | FT.TIMEOUT),
    nextUpstreamTries: inheritedValue(block, 'proxy_next_upstream_tries', 0),
    nextUpstreamTimeout: inheritedValue(block, 'proxy_next_upstream_timeout', 0),
    connectTimeout: inheritedValue(block, 'proxy_connect_timeout', 60_000),
    readTimeout: inheritedValue(block, 'proxy_read_timeout', 60_000),
    sendTimeout: inheritedValue(block, 'proxy_send_timeout', 60_000),
    hidden,
    redirects: redirectRules(block, value, uriContext.location, cx),
    bufferSize: inheritedValue(block, 'proxy_buffer_size', 4096),
    interceptErrors: inheritedValue(block, 'proxy_intercept_errors', false),
    clientMaxBodySize: core?.clientMaxBodySize ?? 1024 * 1024,
  };
}
