// ngx_http_headers_filter_module: `add_header` and `expires`, applied just before the response
// head is written. Both act only on success and redirect statuses unless `always` is given; a level
// with any add_header of its own inherits none from outer levels (nginx's merge).
import { inherited } from '../../config/tree.ts';
import type { ConfEntry, Context } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import type { Module } from '../../core/module.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { HeaderFilter, HttpRequest } from '../types.ts';
import { parseHttpTime } from './conditional.ts';
import { type Expires, expiresHeaders, parseExpires } from './expires.ts';

const HSLI: Context[] = ['http', 'server', 'location', 'if_location'];

/** Statuses add_header and expires apply to without `always`. */
const SAFE_STATUS = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);

/** What `expires` parses to: a fixed value, or text with variables parsed per request. */
type ExpiresValue = Expires | { readonly dynamic: string; readonly kind: 'access' | 'modified' };

function parseExpiresDirective(entry: ConfEntry): ExpiresValue {
  const args = entry.args;
  if (args.length === 2 && args[0] !== 'modified') invalid('"expires" directive invalid value', entry);
  const kind = args.length === 2 ? 'modified' : 'access';
  const text = args[args.length - 1];
  if (text.includes('$')) return { dynamic: text, kind };
  const value = parseExpires(text, kind);
  if (typeof value === 'string') invalid(`"expires" directive ${value}`, entry);
  return value;
}

function parseAddHeader(entry: ConfEntry): boolean {
  const always = entry.args[2];
  if (always !== undefined && always !== 'always') invalid(`invalid parameter "${always}"`, entry);
  return always !== undefined;
}

/** How a header is set: most are appended; these replace (or, when empty, remove) the response's own. */
type SetMode = 'add' | 'multi' | 'replace';

const SET_MODES: Record<string, SetMode> = {
  'cache-control': 'multi',
  link: 'multi',
  'last-modified': 'replace',
  etag: 'replace',
};

interface AddHeader {
  readonly name: string;
  readonly lower: string;
  readonly value: ComplexValue;
  readonly always: boolean;
  readonly mode: SetMode;
}

export const headersModule: Module = {
  name: 'http_headers',
  directives: [
    { name: 'add_header', contexts: HSLI, args: [2, 3], multiple: true, parse: parseAddHeader },
    { name: 'expires', contexts: HSLI, args: [1, 2], parse: parseExpiresDirective },
  ],
  http: {
    headerFilter(loc, cx): HeaderFilter | undefined {
      const headers: AddHeader[] = inherited(loc.block, 'add_header').map((e) => ({
        name: e.args[0],
        lower: e.args[0].toLowerCase(),
        value: cx.variables.compile(e.args[1], e),
        always: e.value as boolean,
        mode: SET_MODES[e.args[0].toLowerCase()] ?? 'add',
      }));
      const expiresEntry = inherited(loc.block, 'expires')[0];
      const expires = expiresEntry?.value as ExpiresValue | undefined;
      const setExpires = expires === undefined ? null : expiresSetter(expires, expiresEntry, cx.variables);
      if (headers.length === 0 && setExpires === null) return undefined;
      return (r) => {
        const safe = SAFE_STATUS.has(r.status);
        if (safe && setExpires !== null) setExpires(r);
        for (const h of headers) if (safe || h.always) addHeader(r, h);
      };
    },
  },
};

type Compiler = { compile(text: string, entry?: ConfEntry): ComplexValue };

/** The per-request work of `expires`, or null for `expires off`. */
function expiresSetter(
  value: ExpiresValue,
  entry: ConfEntry,
  variables: Compiler,
): ((r: HttpRequest) => void) | null {
  if (!('dynamic' in value)) {
    if (value.kind === 'off') return null;
    const negative = value.time < 0;
    return (r) => setExpires(r, value, negative);
  }
  const cv = variables.compile(value.dynamic, entry);
  return (r) => {
    const parsed = parseExpires(cv.evaluate(r), value.kind);
    // A value that does not parse, or `off`, leaves the response alone.
    if (typeof parsed !== 'string' && parsed.kind !== 'off') setExpires(r, parsed, false);
  };
}

function setExpires(r: HttpRequest, e: Expires, negativeConf: boolean): void {
  const lm = r.headerOut('last-modified');
  const lastModified = lm === undefined ? null : parseHttpTime(lm);
  const now = Math.floor(Date.now() / 1000);
  const [expires, cacheControl] = expiresHeaders(
    e,
    now,
    lastModified === -1 ? null : lastModified,
    negativeConf,
  );
  const h = r.headersOut;
  if (!replaceFirst(h, 'expires', expires)) h.push('Expires', expires);
  // The response's first Cache-Control takes the value; any others go.
  if (replaceFirst(h, 'cache-control', cacheControl)) removeAll(h, 'cache-control', 1);
  else h.push('Cache-Control', cacheControl);
}

function addHeader(r: HttpRequest, h: AddHeader): void {
  // nginx's ngx_http_sanitize_header_value: NUL, CR and LF become spaces.
  const value = h.value.evaluate(r).replace(/[\0\r\n]/g, ' ');
  const out = r.headersOut;
  if (h.mode === 'replace') {
    if (value === '') removeAll(out, h.lower, 0);
    else if (!replaceFirst(out, h.lower, value, h.name)) out.push(h.name, value);
  } else if (value !== '') out.push(h.name, value);
}

/** Set the first header named `lower` (renaming it when `name` is given); false when there is none. */
function replaceFirst(h: string[], lower: string, value: string, name?: string): boolean {
  for (let i = 0; i < h.length; i += 2) {
    if (h[i].toLowerCase() === lower) {
      if (name !== undefined) h[i] = name;
      h[i + 1] = value;
      return true;
    }
  }
  return false;
}

/** Remove the headers named `lower`, keeping the first `keep` of them. */
function removeAll(h: string[], lower: string, keep: number): void {
  let kept = 0;
  for (let i = 0; i < h.length; ) {
    if (h[i].toLowerCase() === lower && kept++ >= keep) h.splice(i, 2);
    else i += 2;
  }
}
