// The request head ngx_http_proxy_create_request writes, and the response headers
// ngx_http_upstream_process_headers passes on.
// Request: the request line, then proxy_set_header fields (the user's first, then nginx's
// defaults not overridden: Host $proxy_host, Connection close, the body's Content-Length or
// Transfer-Encoding, and TE/Keep-Alive/Expect/Upgrade removed), fields whose value is empty
// left out; then the client's headers except those named by any of the above.
// Response: hop-by-hop and framing fields dropped, Date/Server/X-Pad/X-Accel-* hidden unless
// proxy_pass_header says otherwise, Location rewritten by proxy_redirect.
import type { ConfEntry } from '../../config/types.ts';
import type { VariableRegistry } from '../../variables/registry.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { HttpRequest } from '../types.ts';

interface SetHeader {
  readonly name: string;
  readonly value: ComplexValue;
}

/** Body framing for the upstream request: none, a length, or chunked. */
export interface BodyFraming {
  /** -1 for no Content-Length. */
  readonly length: number;
  readonly chunked: boolean;
}

const BODY_LENGTH = 'content-length';
const BODY_CHUNKED = 'transfer-encoding';

/** proxy_set_header merged with nginx's defaults, compiled once per location. */
export class RequestHeaderTemplate {
  /**
   * The set fields in order: constant runs pre-joined into one string (`Name: value\r\n`...),
   * fields with variables as their compiled value (dynamic[i], named names[i]).
   */
  private readonly pieces: string[] = [];
  private readonly dynamic: (ComplexValue | null)[] = [];
  private readonly names: string[] = [];
  /** Lowercased names the client's own fields are dropped for. */
  private readonly skip = new Set<string>();
  /** Whether the user set Content-Length / Transfer-Encoding themselves. */
  private readonly userLength: boolean;
  private readonly userChunked: boolean;

  /** `proxyHost`: $proxy_host when the proxy_pass URL is fixed (it is then a constant). */
  constructor(entries: readonly ConfEntry[], variables: VariableRegistry, proxyHost?: string) {
    const compile = (text: string, e?: ConfEntry): ComplexValue =>
      proxyHost !== undefined && text === '$proxy_host'
        ? { text, constant: proxyHost, evaluate: () => proxyHost }
        : variables.compile(text, e);
    const headers: SetHeader[] = entries.map((e) => ({ name: e.args[0], value: compile(e.args[1], e) }));
    const defaults: [string, string][] = [
      ['Host', '$proxy_host'],
      ['Connection', 'close'],
      ['Content-Length', ''],
      ['Transfer-Encoding', ''],
      ['TE', ''],
      ['Keep-Alive', ''],
      ['Expect', ''],
      ['Upgrade', ''],
    ];
    const userNames = new Set(headers.map((h) => h.name.toLowerCase()));
    this.userLength = userNames.has(BODY_LENGTH);
    this.userChunked = userNames.has(BODY_CHUNKED);
    for (const h of headers) this.skip.add(h.name.toLowerCase());
    for (const [name, value] of defaults) {
      this.skip.add(name.toLowerCase());
      if (userNames.has(name.toLowerCase())) continue;
      // Content-Length and Transfer-Encoding come from the body (build() adds them).
      if (value !== '') headers.push({ name, value: compile(value) });
    }
    let run = '';
    for (const h of headers) {
      const c = h.value.constant;
      if (c !== null) {
        if (c !== '') run += `${h.name}: ${c}\r\n`;
        continue;
      }
      this.add(run, null, '');
      run = '';
      this.add('', h.value, h.name);
    }
    this.add(run, null, '');
  }

  private add(text: string, value: ComplexValue | null, name: string): void {
    if (value === null && text === '') return;
    this.pieces.push(text);
    this.dynamic.push(value);
    this.names.push(name);
  }

  /** The whole head: `requestLine` (with CRLF), the set fields, the client's fields, CRLF. */
  build(r: HttpRequest, requestLine: string, body: BodyFraming, passClientHeaders: boolean): string {
    let head = requestLine;
    const { pieces, dynamic } = this;
    for (let i = 0; i < pieces.length; i++) {
      const value = dynamic[i];
      if (value === null) head += pieces[i];
      else {
        const v = value!.evaluate(r);
        if (v !== '') head += `${this.names[i]}: ${v}\r\n`;
      }
    }
    if (!this.userLength && body.length >= 0 && !body.chunked) head += `Content-Length: ${body.length}\r\n`;
    if (!this.userChunked && body.chunked) head += 'Transfer-Encoding: chunked\r\n';
    if (passClientHeaders) {
      const { names, rawNames, values } = r.parsed;
      const skip = this.skip;
      for (let i = 0; i < names.length; i++) {
        if (!skip.has(names[i]!)) head += `${rawNames[i]}: ${values[i]}\r\n`;
      }
    }
    return `${head}\r\n`;
  }
}

/** Response fields the upstream module itself consumes or drops. */
const ALWAYS_DROPPED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-type',
]);

/** ngx_http_proxy_hide_headers. */
export const DEFAULT_HIDDEN = [
  'date',
  'server',
  'x-pad',
  'x-accel-expires',
  'x-accel-redirect',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
];

/** One proxy_redirect rule: a prefix or a regex, and the replacement. */
export interface RedirectRule {
  readonly prefix: ComplexValue | null;
  readonly regex: RegExp | null;
  readonly replacement: ComplexValue;
}

/** Rewrite `value` with the first matching rule; null when none matches. */
export function rewriteRedirect(
  r: HttpRequest,
  value: string,
  rules: readonly RedirectRule[],
): string | null {
  for (const rule of rules) {
    if (rule.regex !== null) {
      const m = rule.regex.exec(value);
      if (m === null) continue;
      const saved = r.captures;
      r.captures = Array.from(m, (x) => x ?? '');
      const out = rule.replacement.evaluate(r) + value.slice(m.index + m[0].length);
      r.captures = saved;
      return value.slice(0, m.index) + out;
    }
    const prefix = (rule.prefix as ComplexValue).evaluate(r);
    if (value.startsWith(prefix)) return rule.replacement.evaluate(r) + value.slice(prefix.length);
  }
  return null;
}

/** The parsed upstream head the copier reads. */
export interface UpstreamHead {
  readonly rawNames: readonly string[];
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/**
 * Fill `out` (flat name/value list, emptied first) as nginx orders the client's head:
 * Content-Type, then Last-Modified, then a rewritten Location (these three go to the header
 * filter's fixed slots), then every other passed field in upstream order. Returns the index of
 * a rewritten relative Location value (for the absolute-redirect rule), or -1.
 */
export function copyResponseHeaders(
  r: HttpRequest,
  head: UpstreamHead,
  hidden: ReadonlySet<string>,
  redirects: readonly RedirectRule[] | null,
  out: string[],
): number {
  if (out.length > 0) out.length = 0;
  const { rawNames, names, values } = head;
  let contentType = -1;
  let lastModified = -1;
  let location: string | null = null;
  // the indexes of the other passed fields, in a list reused from call to call (no allocation)
  const rest = REST;
  let k = 0;
  for (let i = 0; i < names.length; i++) {
    const lower = names[i]!;
    if (lower === 'content-type') {
      if (contentType < 0) contentType = i;
      continue;
    }
    if (ALWAYS_DROPPED.has(lower) || hidden.has(lower)) continue;
    if (lower === 'last-modified' && lastModified < 0) {
      lastModified = i;
      continue;
    }
    if (lower === 'location' && redirects !== null && location === null) {
      const rewritten = rewriteRedirect(r, values[i]!, redirects);
      if (rewritten !== null) {
        location = rewritten;
        continue;
      }
    }
    rest[k++] = i;
  }
  if (contentType >= 0) out.push('Content-Type', values[contentType]!);
  if (lastModified >= 0) out.push('Last-Modified', values[lastModified]!);
  let at = -1;
  if (location !== null) {
    at = location.startsWith('/') ? out.length + 1 : -1;
    out.push('Location', location);
  }
  for (let j = 0; j < k; j++) {
    const i = rest[j]!;
    out.push(rawNames[i]!, values[i]!);
  }
  return at;
}

const REST: number[] = [];
