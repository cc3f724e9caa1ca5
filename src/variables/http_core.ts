// ngx_http_core_module's variables (ngx_http_variables.c), each computed as nginx computes it.
// Getters receive the lowercased full name, which the prefix variables read their suffix from.
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { VERSION } from '../core/version.ts';
import type { HttpRequest } from '../http/types.ts';
import { secondsWithMillis, timeIso8601, timeLocal } from './time_strings.ts';
import type { VariableDef } from './types.ts';

/** r.ctx key under which $request_id is kept, so it is the same for the whole request. */
const REQUEST_ID_KEY = 'http_core:request_id';

/** nginx's cycle->hostname is gethostname() lowercased. */
const HOST_NAME = hostname().toLowerCase();

/**
 * Whether a header name is the one `$http_x_y` asks for: nginx lowercases the header name and
 * reads `-` as `_`, then compares with the variable name after its prefix.
 */
function headerNameIs(header: string, varName: string, prefixLength: number): boolean {
  if (header.length !== varName.length - prefixLength) return false;
  for (let i = 0; i < header.length; i++) {
    let ch = header.charCodeAt(i);
    if (ch >= 65 && ch <= 90) ch |= 0x20;
    else if (ch === 45 /* - */) ch = 95 /* _ */;
    if (ch !== varName.charCodeAt(prefixLength + i)) return false;
  }
  return true;
}

/** All request headers of that name joined as nginx joins them (`; ` for Cookie, else `, `). */
function requestHeader(
  r: HttpRequest,
  varName: string,
  prefixLength: number,
  separator: string,
): string | undefined {
  const { names, values } = r.parsed;
  let value: string | undefined;
  for (let i = 0; i < names.length; i++) {
    if (!headerNameIs(names[i], varName, prefixLength)) continue;
    value = value === undefined ? values[i] : value + separator + values[i];
  }
  return value;
}

function responseHeader(r: HttpRequest, varName: string): string | undefined {
  const list = r.headersOut;
  let value: string | undefined;
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (!headerNameIs(list[i], varName, 10 /* sent_http_ */)) continue;
    value = value === undefined ? list[i + 1] : `${value}, ${list[i + 1]}`;
  }
  return value;
}

/** ASCII-only case-insensitive `text.startsWith(lower, at)`, as nginx's ngx_strncasecmp. */
function startsWithCaseless(text: string, lower: string, at: number): boolean {
  if (text.length - at < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let ch = text.charCodeAt(at + i);
    if (ch >= 65 && ch <= 90) ch |= 0x20;
    if (ch !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** ngx_http_arg: the first `name=value` of the query (names caseless), raw, up to the next `&`. */
export function queryArgument(args: string, name: string): string | undefined {
  if (name === '') return undefined;
  for (let start = 0; start < args.length; ) {
    if (startsWithCaseless(args, name, start) && args.charCodeAt(start + name.length) === 61 /* = */) {
      const from = start + name.length + 1;
      const end = args.indexOf('&', from);
      return args.slice(from, end < 0 ? args.length : end);
    }
    const next = args.indexOf('&', start);
    if (next < 0) return undefined;
    start = next + 1;
  }
  return undefined;
}

/**
 * ngx_http_parse_multi_header_lines: `name` (caseless), spaces, `=`, spaces, then the value up to
 * `;`. Pairs are separated by `;` or `,`.
 */
export function cookieValue(header: string, name: string): string | undefined {
  let start = 0;
  const end = header.length;
  while (start < end) {
    if (startsWithCaseless(header, name, start)) {
      let p = start + name.length;
      while (p < end && header.charCodeAt(p) === 32) p++;
      // nginx consumes the character it expected to be `=` even when it is not (`a;a=1` has no `a`).
      if (p < end && header.charCodeAt(p++) === 61 /* = */) {
        while (p < end && header.charCodeAt(p) === 32) p++;
        const semi = header.indexOf(';', p);
        return header.slice(p, semi < 0 ? end : semi);
      }
      start = p;
    }
    while (start < end) {
      const ch = header.charCodeAt(start++);
      if (ch === 59 /* ; */ || ch === 44 /* , */) break;
    }
    while (start < end && header.charCodeAt(start) === 32) start++;
  }
  return undefined;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (embedded IPv4 and zone ids included). */
function ipv6Bytes(address: string): number[] {
  const zone = address.indexOf('%');
  let text = zone < 0 ? address : address.slice(0, zone);
  let tail: number[] = [];
  if (text.includes('.')) {
    const colon = text.lastIndexOf(':');
    tail = ipv4Bytes(text.slice(colon + 1));
    text = `${text.slice(0, colon + 1)}0:0`;
  }
  const [head, rest] = text.split('::');
  const first = head === '' ? [] : head.split(':');
  const last = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = [...first, ...new Array<string>(8 - first.length - last.length).fill('0'), ...last];
  const bytes: number[] = [];
  for (const g of groups) {
    const n = Number.parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** $binary_remote_addr: 4 or 16 raw bytes as a latin1 string; other addresses (unix) as text. */
export function binaryAddress(address: string): string {
  if (isIPv4(address)) return String.fromCharCode(...ipv4Bytes(address));
  if (isIPv6(address)) return String.fromCharCode(...ipv6Bytes(address));
  return address;
}

/**
 * binaryAddress for the clients seen lately: limit_req keys on it for every request, and working
 * it out (address checks, splits) cost more than the limit itself. Cleared when full.
 */
const BINARY_ADDRESSES = new Map<string, string>();
const BINARY_ADDRESSES_MAX = 4096;

function cachedBinaryAddress(address: string): string {
  let binary = BINARY_ADDRESSES.get(address);
  if (binary === undefined) {
    if (BINARY_ADDRESSES.size >= BINARY_ADDRESSES_MAX) BINARY_ADDRESSES.clear();
    binary = binaryAddress(address);
    BINARY_ADDRESSES.set(address, binary);
  }
  return binary;
}

/** `bytes` from a pool of random bytes, hex: one crypto call serves 256 request ids. */
let randomPool = Buffer.alloc(0);
let randomOffset = 0;
function randomHex16(): string {
  if (randomOffset + 16 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomOffset = 0;
  }
  randomOffset += 16;
  return randomPool.toString('hex', randomOffset - 16, randomOffset);
}

/** nginx's r->request_length: request line, headers and their CRLFs, and body bytes read. */
function requestLength(r: HttpRequest): number {
  const { requestLine, rawNames, values } = r.parsed;
  let length = requestLine.length + 2 + 2;
  for (let i = 0; i < rawNames.length; i++) length += rawNames[i].length + 2 + values[i].length + 2;
  return length + r.body.received;
}

function firstHeader(r: HttpRequest, name: string): string | undefined {
  const i = r.parsed.names.indexOf(name);
  return i < 0 ? undefined : r.parsed.values[i];
}

function exact(
  name: string,
  get: (r: HttpRequest) => string | undefined,
  set?: VariableDef['set'],
): VariableDef {
  return set === undefined ? { name, get } : { name, get, set };
}

function prefix(name: string, get: (r: HttpRequest, name: string) => string | undefined): VariableDef {
  return { name, prefix: true, get };
}

export const httpCoreVariables: VariableDef[] = [
  exact('remote_addr', (r) => r.conn.remoteAddress),
  exact('binary_remote_addr', (r) => cachedBinaryAddress(r.conn.remoteAddress)),
  exact('remote_port', (r) =>
    r.conn.remotePort > 0 && r.conn.remotePort < 65536 ? String(r.conn.remotePort) : '',
  ),
  exact('server_addr', (r) => r.conn.localAddress),
  exact('server_port', (r) =>
    r.conn.localPort > 0 && r.conn.localPort < 65536 ? String(r.conn.localPort) : '',
  ),
  exact('server_name', (r) => r.server.serverName),
  exact('host', (r) => (r.parsed.host !== '' ? r.parsed.host : r.server.serverName)),
  exact('hostname', () => HOST_NAME),
  exact('scheme', (r) => (r.conn.tls ? 'https' : 'http')),
  exact('https', (r) => (r.conn.tls ? 'on' : '')),
  exact('request', (r) => r.parsed.requestLine),
  exact('request_method', (r) => r.method),
  exact('request_uri', (r) => r.parsed.target),
  exact('uri', (r) => r.uri),
  exact('document_uri', (r) => r.uri),
  exact(
    'args',
    (r) => r.args,
    (r, value) => {
      r.args = value;
    },
  ),
  exact('query_string', (r) => r.args),
  exact('is_args', (r) => (r.args !== '' ? '?' : '')),
  // HTTP/0.9 has no protocol in its request line: nginx's $server_protocol is then not found.
  exact('server_protocol', (r) =>
    r.parsed.version === 9
      ? undefined
      : r.parsed.requestLine.slice(r.parsed.requestLine.lastIndexOf(' ') + 1),
  ),
  exact('content_length', (r) => firstHeader(r, 'content-length')),
  exact('content_type', (r) => requestHeader(r, 'content_type', 0, ', ')),
  exact('request_length', (r) => String(requestLength(r))),
  exact('request_time', (r) =>
    secondsWithMillis(Math.max(0, Math.floor(Date.now()) - Math.floor(r.startTime))),
  ),
  exact('request_id', (r) => {
    let id = r.ctxValue(REQUEST_ID_KEY) as string | undefined;
    if (id === undefined) {
      id = randomHex16();
      r.ctx.set(REQUEST_ID_KEY, id);
    }
    return id;
  }),
  // err_status or the response status; 009 for HTTP/0.9 and 000 before any response (nginx).
  exact('status', (r) => {
    const status = r.status || (r.parsed.version === 9 ? 9 : 0);
    return status < 10 ? `00${status}` : status < 100 ? `0${status}` : String(status);
  }),
  exact('body_bytes_sent', (r) => String(r.bodyBytesSent)),
  exact('bytes_sent', (r) => String(r.bytesSent)),
  exact('sent_http_connection', (r) =>
    r.status === 101 ? 'upgrade' : r.parsed.keepAlive ? 'keep-alive' : 'close',
  ),
  exact('connection', (r) => String(r.conn.id)),
  exact('connection_requests', (r) => String(r.conn.requests)),
  exact('msec', () => secondsWithMillis(Date.now())),
  exact('time_local', () => timeLocal()),
  exact('time_iso8601', () => timeIso8601()),
  exact('nginx_version', () => VERSION),
  exact('pid', () => String(process.pid)),
  prefix('http_', (r, name) => requestHeader(r, name, 5, name === 'http_cookie' ? '; ' : ', ')),
  prefix('sent_http_', (r, name) => responseHeader(r, name)),
  prefix('cookie_', (r, name) => {
    const cookie = name.slice(7);
    const { names, values } = r.parsed;
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== 'cookie' || values[i].length < cookie.length) continue;
      const value = cookieValue(values[i], cookie);
      if (value !== undefined) return value;
    }
    return undefined;
  }),
  prefix('arg_', (r, name) => queryArgument(r.args, name.slice(4))),
];
