// `proxy_pass URL` as ngx_http_proxy_pass reads it, and the URI sent upstream as
// ngx_http_proxy_create_request builds it:
//   - no URI part: the client's request target unchanged, unless the URI was changed (rewrite,
//     internal redirect), then the normalised $uri (escaped) plus `?args`;
//   - a URI part: it replaces the part of $uri the (prefix) location matched; after
//     `rewrite ... break` the whole new $uri is sent instead;
//   - with variables and a URI part: the evaluated URI as is, without args.
import type { ConfEntry } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import { ngxAtoi } from '../../config/values.ts';
import type { HttpRequest } from '../types.ts';

export interface ProxyUrl {
  /** `http://` (or `https://`). */
  readonly schema: string;
  readonly host: string;
  /** 0 when the URL names no port. */
  readonly port: number;
  /** The port as written, '' when absent. */
  readonly portText: string;
  /** The URI part including its leading `/`, '' when absent. */
  readonly uri: string;
  /** $proxy_host: `host:port`, or `host` alone when the port is absent or the default. */
  readonly hostHeader: string;
  /** $proxy_port. */
  readonly proxyPort: string;
}

/** Parse `http://host[:port][/uri]`; `fail` gets nginx's message. Returns null for a bad prefix. */
export function parseProxyUrl(url: string, fail: (message: string) => never): ProxyUrl {
  const lower = url.slice(0, 8).toLowerCase();
  let schema: string;
  if (lower.startsWith('http://')) schema = 'http://';
  else if (lower.startsWith('https://')) schema = 'https://';
  else return fail(`invalid URL prefix in "${url}"`);
  const defaultPort = schema === 'http://' ? 80 : 443;
  const rest = url.slice(schema.length);
  const slash = rest.search(/[/?]/);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  let uri = slash < 0 ? '' : rest.slice(slash);
  if (uri.startsWith('?')) uri = `/${uri}`;
  let host = authority;
  let portText = '';
  const close = authority.startsWith('[') ? authority.indexOf(']') : -1;
  const colon = authority.indexOf(':', Math.max(close, 0));
  if (colon >= 0) {
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    const n = ngxAtoi(portText);
    if (n === null || n < 1 || n > 65535) fail(`invalid port in upstream "${rest}"`);
  }
  if (host === '') fail(`no host in upstream "${rest}"`);
  const port = portText === '' ? 0 : Number(portText);
  const isDefault = port === 0 || port === defaultPort;
  return {
    schema,
    host,
    port,
    portText,
    uri,
    hostHeader: isDefault ? host : `${host}:${portText}`,
    proxyPort: isDefault ? String(defaultPort) : portText,
  };
}

/** The location facts the URI mapping needs, fixed when the location is built. */
export interface UriContext {
  /** The prefix location's name whose match the URI part replaces; '' in regex/named/if locations. */
  readonly location: string;
}

/** Check where a URI part may stand (nginx refuses it in regex, named and `if` locations). */
export function checkUriPart(
  url: ProxyUrl,
  locationName: string,
  hasVariables: boolean,
  entry: ConfEntry,
): UriContext {
  // with variables nginx keeps no location to replace: the evaluated URI part goes as is
  if (hasVariables) return { location: '' };
  const regex = locationName.startsWith('~');
  const named = locationName.startsWith('@');
  const noname = locationName === 'if' || locationName === '';
  if (regex || named || noname) {
    if (url.uri !== '') {
      invalid(
        '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, ' +
          'or inside "if" statement, or inside "limit_except" block',
        entry,
      );
    }
    return { location: '' };
  }
  return { location: locationName.replace(/^(=|\^~)/, '') };
}

// NGX_ESCAPE_URI: space, '#', '%', '?', controls and bytes >= 0x7f.
function needsEscape(c: number): boolean {
  return c <= 0x20 || c === 0x23 || c === 0x25 || c === 0x3f || c >= 0x7f;
}

const HEX = '0123456789ABCDEF';

/** ngx_escape_uri(..., NGX_ESCAPE_URI) over a latin1 path. */
export function escapeUri(path: string): string {
  let i = 0;
  while (i < path.length && !needsEscape(path.charCodeAt(i))) i++;
  if (i === path.length) return path;
  let out = path.slice(0, i);
  for (; i < path.length; i++) {
    const c = path.charCodeAt(i);
    out += needsEscape(c) ? `%${HEX[c >> 4]}${HEX[c & 15]}` : path[i];
  }
  return out;
}

/** What of the request decides the URI: kept by the proxy per request. */
export interface UriState {
  /** The URI was not changed since the request line (nginx's r->valid_unparsed_uri). */
  readonly unchanged: boolean;
  /** The location still matches $uri (false after `rewrite ... break`: nginx's r->valid_location). */
  readonly validLocation: boolean;
  /** The client's target had %-escapes (nginx's r->quoted_uri). */
  readonly quoted: boolean;
}

/**
 * The request-target sent upstream. `urlUri` is the URL's URI part (evaluated, for URLs with
 * variables); `dynamic` says the URL had variables.
 */
export function upstreamUri(
  r: HttpRequest,
  urlUri: string,
  dynamic: boolean,
  cx: UriContext,
  state: UriState,
): string {
  if (dynamic && urlUri !== '') return urlUri;
  if (urlUri === '' && state.unchanged) return r.parsed.target;
  const locLen = state.validLocation && urlUri !== '' ? cx.location.length : 0;
  const tail = r.uri.slice(locLen);
  let uri = state.validLocation ? urlUri : '';
  uri += state.quoted || r.internal ? escapeUri(tail) : tail;
  return r.args === '' ? uri : `${uri}?${r.args}`;
}
