// The arguments of `sticky cookie|route|learn` in an `upstream` block, checked with the messages of
// ngx_http_upstream_sticky_module.c (open source since 1.29.6; `sync` is the NGINX Plus addition).
// Variables are kept by name here: they are compiled once the cycle's variables are known.
import { type ConfEntry, invalid } from '../../config/types.ts';
import { ngxSize, ngxTime } from '../../config/values.ts';

/** `expires=max`: nginx writes a fixed date instead of computing one. */
export const EXPIRES_MAX = -1;

export interface CookieConf {
  readonly name: string;
  /** Seconds; null: a session cookie; EXPIRES_MAX for `expires=max`. */
  readonly expires: number | null;
  /** Texts that may hold variables; null when absent. */
  readonly domain: string | null;
  readonly samesite: string | null;
  /** `; path=P` as written out, or ''. */
  readonly pathAttribute: string;
  readonly httponly: boolean;
  readonly secure: boolean;
}

export interface LearnConf {
  /** Variable names (without `$`) tried in order for a new session's id. */
  readonly create: readonly string[];
  readonly zone: string;
  readonly size: number;
  /** Milliseconds a session lives after its last use. */
  readonly timeout: number;
  /** Learn when the response head arrives rather than when the response is over. */
  readonly header: boolean;
  readonly sync: boolean;
}

interface Common {
  /** Variable names (without `$`) whose first non-empty value is the request's session or server id. */
  readonly lookup: readonly string[];
}

export type StickyConf =
  | (Common & { readonly mode: 'cookie'; readonly cookie: CookieConf })
  | (Common & { readonly mode: 'route' })
  | (Common & { readonly mode: 'learn'; readonly learn: LearnConf });

/** nginx: "32k ~ 200 sessions"; below 8 pages the zone is refused. */
const MIN_ZONE_SIZE = 8 * 4096;
const DEFAULT_TIMEOUT = 600_000;
const SAMESITE = ['strict', 'lax', 'none'];

/** A handler's returned error, which nginx prints after the directive name. */
function directiveError(message: string, e: ConfEntry): never {
  return invalid(`"sticky" directive ${message}`, e);
}

export function isSamesite(value: string): boolean {
  return SAMESITE.includes(value.toLowerCase());
}

export function parseSticky(e: ConfEntry): StickyConf {
  const mode = e.args[0];
  if (mode === 'cookie') return { mode, lookup: [`cookie_${e.args[1]}`], cookie: parseCookie(e) };
  if (mode === 'route') {
    const lookup = e.args.slice(1).map((v) => {
      if (!v.startsWith('$')) invalid(`invalid variable name "${v}"`, e);
      return v.slice(1);
    });
    return { mode, lookup };
  }
  if (mode === 'learn') return parseLearn(e);
  return invalid(`unknown parameter "${mode}"`, e);
}

function parseCookie(e: ConfEntry): CookieConf {
  const name = e.args[1];
  if (name === '') directiveError('empty cookie name', e);
  let expires: number | null = null;
  let domain: string | null = null;
  let samesite: string | null = null;
  let pathAttribute = '';
  let httponly = false;
  let secure = false;
  const once = (set: boolean, param: string) => {
    if (set) directiveError(`parameter "${param}" is duplicate`, e);
  };
  for (const p of e.args.slice(2)) {
    if (p.startsWith('domain=')) {
      once(domain !== null, 'domain');
      domain = p.slice(7);
      if (domain === '') directiveError('no value for "domain"', e);
    } else if (p.startsWith('path=')) {
      once(pathAttribute !== '', 'path');
      if (p.length === 5) directiveError('no value for "path"', e);
      pathAttribute = `; path=${p.slice(5)}`;
    } else if (p.startsWith('expires=')) {
      once(expires !== null, 'expires');
      const value = p.slice(8);
      expires = value === 'max' ? EXPIRES_MAX : ngxTime(value, true);
      if (expires === null) directiveError('invalid "expires" parameter value', e);
    } else if (p === 'httponly') {
      once(httponly, 'httponly');
      httponly = true;
    } else if (p === 'secure') {
      once(secure, 'secure');
      secure = true;
    } else if (p.startsWith('samesite=')) {
      once(samesite !== null, 'samesite');
      samesite = p.slice(9);
      // A value with variables is checked per request (an invalid one becomes `strict`).
      if (!samesite.includes('$') && !isSamesite(samesite))
        directiveError('invalid "samesite" parameter value', e);
    } else {
      invalid(`unknown parameter "${p}"`, e);
    }
  }
  return { name, expires, domain, samesite, pathAttribute, httponly, secure };
}

function parseLearn(e: ConfEntry): StickyConf {
  const create: string[] = [];
  const lookup: string[] = [];
  let zone = '';
  let size = 0;
  let timeout: number | null = null;
  let header = false;
  let sync = false;
  for (const p of e.args.slice(1)) {
    if (p.startsWith('zone=')) {
      if (size !== 0) directiveError('duplicate zone', e);
      const colon = p.indexOf(':');
      if (colon < 0) directiveError('zone size is not specified', e);
      zone = p.slice(5, colon);
      if (zone === '') directiveError('zone name is not specified', e);
      size = ngxSize(p.slice(colon + 1)) ?? directiveError('invalid zone size', e);
      if (size < MIN_ZONE_SIZE) directiveError('zone is too small', e);
    } else if (p.startsWith('timeout=')) {
      if (timeout !== null) directiveError('duplicate timeout', e);
      timeout = ngxTime(p.slice(8), false);
      if (timeout === null || timeout === 0) directiveError('invalid timeout', e);
    } else if (p.startsWith('create=') || p.startsWith('lookup=')) {
      const param = p.slice(0, 6);
      if (p[7] !== '$') directiveError(`missing variable in the "${param}" parameter`, e);
      (param === 'create' ? create : lookup).push(p.slice(8));
    } else if (p === 'header') {
      header = true;
    } else if (p === 'sync') {
      sync = true;
    } else {
      invalid(`unknown parameter "${p}"`, e);
    }
  }
  if (lookup.length === 0) directiveError('"lookup" parameter is not specified', e);
  if (create.length === 0) directiveError('"create" parameter is not specified', e);
  if (size === 0) directiveError('"zone" parameter is not specified', e);
  return {
    mode: 'learn',
    lookup,
    learn: { create, zone, size, timeout: timeout ?? DEFAULT_TIMEOUT, header, sync },
  };
}
