// The replacement of `rewrite regex replacement`, compiled and applied as nginx's script engine
// does it: `$1`..`$9` captures, variables, the first literal `?` starting new arguments, a trailing
// `?` dropping the old ones, and capture escaping when the request URI was percent-encoded.
import type { ConfEntry } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { BuildContext, HttpRequest } from '../types.ts';

type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'capture'; readonly n: number }
  | { readonly kind: 'var'; readonly value: ComplexValue }
  /** Where the new arguments start (internal rewrites only). */
  | { readonly kind: 'args' };

export interface Replacement {
  readonly parts: readonly Part[];
  /** http://, https:// or $scheme: an external redirect rather than a new URI. */
  readonly redirect: boolean;
  /** The original arguments are appended (no trailing `?`). */
  readonly addArgs: boolean;
  /** The replacement has a literal `?`: original arguments join with `&` rather than `?`. */
  readonly hasArgs: boolean;
}

/** Whether a rewrite replacement or a one-argument `return` is a redirect, by its start. */
export function isRedirectTarget(text: string): boolean {
  return text.startsWith('http://') || text.startsWith('https://') || text.startsWith('$scheme');
}

const NAME_CHAR = /[A-Za-z0-9_]/;

/** Compile the replacement text (the `?` suffix and redirect prefix decided as in ngx_http_rewrite). */
export function compileReplacement(
  text: string,
  entry: ConfEntry,
  variables: BuildContext['variables'],
): Replacement {
  const addArgs = !text.endsWith('?');
  const source = addArgs ? text : text.slice(0, -1);
  const redirect = isRedirectTarget(source);
  const parts: Part[] = [];
  let compileArgs = !redirect;
  let hasArgs = false;
  let literal = '';
  const flush = () => {
    if (literal !== '') parts.push({ kind: 'text', text: literal });
    literal = '';
  };
  for (let i = 0; i < source.length; ) {
    const ch = source[i];
    if (ch === '$') {
      flush();
      if (++i === source.length) invalid('invalid variable name', entry);
      if (source[i] >= '1' && source[i] <= '9') {
        parts.push({ kind: 'capture', n: source.charCodeAt(i) - 48 });
        i++;
        continue;
      }
      const bracket = source[i] === '{';
      if (bracket && ++i === source.length) invalid('invalid variable name', entry);
      const start = i;
      while (i < source.length && NAME_CHAR.test(source[i])) i++;
      const name = source.slice(start, i);
      if (bracket) {
        if (source[i] !== '}') invalid(`the closing bracket in "${name}" variable is missing`, entry);
        i++;
      }
      if (name === '') invalid('invalid variable name', entry);
      parts.push({ kind: 'var', value: variables.compile(`\${${name}}`, entry) });
      continue;
    }
    if (ch === '?') {
      hasArgs = true;
      if (compileArgs) {
        flush();
        parts.push({ kind: 'args' });
        compileArgs = false;
        i++;
        continue;
      }
    }
    literal += ch;
    i++;
  }
  flush();
  return { parts, redirect, addArgs, hasArgs };
}

/** The request's raw path had `%` or `+` (nginx's quoted_uri/plus_in_uri): captures get escaped. */
function capturesNeedEscape(r: HttpRequest): boolean {
  const target = r.parsed.target;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return path.includes('%') || path.includes('+');
}

/** The replacement evaluated: the text, and where the new arguments start (-1: none). */
function evaluate(r: HttpRequest, rep: Replacement): { text: string; argsAt: number } {
  const escapeCaptures = capturesNeedEscape(r);
  let text = '';
  let argsAt = -1;
  for (const p of rep.parts) {
    if (p.kind === 'text') text += p.text;
    else if (p.kind === 'var') text += p.value.evaluate(r);
    else if (p.kind === 'args') argsAt = text.length;
    else {
      const c = r.captures?.[p.n] ?? '';
      text += escapeCaptures && (rep.redirect || argsAt >= 0) ? escapeArgs(c) : c;
    }
  }
  return { text, argsAt };
}

/** Apply an internal rewrite to r.uri/r.args; returns the new URI (empty is the caller's error). */
export function rewriteUri(r: HttpRequest, rep: Replacement): string {
  const { text, argsAt } = evaluate(r, rep);
  if (argsAt >= 0) {
    const extra = rep.addArgs && r.args !== '' ? `&${r.args}` : '';
    r.args = text.slice(argsAt) + extra;
    return text.slice(0, argsAt);
  }
  if (!rep.addArgs) r.args = '';
  return text;
}

/** The Location of a redirecting rewrite: partly unescaped, original arguments appended. */
export function redirectTarget(r: HttpRequest, rep: Replacement): string {
  let location = unescapeRedirect(evaluate(r, rep).text);
  if (rep.addArgs && r.args !== '') location += (rep.hasArgs ? '&' : '?') + r.args;
  return location;
}

const HEX = '0123456789ABCDEF';

/**
 * ngx_escape_uri(NGX_ESCAPE_ARGS): space # % & + ; ? controls and non-ASCII bytes as %XX. A string
 * of chars below 256 is taken as bytes (as the engine keeps raw URIs), anything wider as UTF-8.
 */
export function escapeArgs(s: string): string {
  if (!/[\x00-\x20#%&+;?\x7f-\uffff]/.test(s)) return s;
  const bytes = /[^\x00-\xff]/.test(s) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
  let out = '';
  for (const byte of bytes) {
    if (byte <= 0x20 || byte >= 0x7f || ARGS_SPECIAL.has(byte)) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

const ARGS_SPECIAL = new Set([...'#%&+;?'].map((c) => c.charCodeAt(0)));

function hexValue(ch: string | undefined): number {
  if (ch === undefined) return -1;
  const n = Number.parseInt(ch, 16);
  return Number.isNaN(n) ? -1 : n;
}

/**
 * ngx_unescape_uri(NGX_UNESCAPE_REDIRECT): up to the first `?`, %XX of a printable character
 * above `%` is decoded; other escapes stay; a broken escape loses its `%` (and first digit).
 */
export function unescapeRedirect(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '?') return out + s.slice(i);
    if (ch !== '%') {
      out += ch;
      i++;
      continue;
    }
    const hi = hexValue(s[i + 1]);
    if (hi < 0) {
      if (i + 1 < s.length) out += s[i + 1];
      i += 2;
      continue;
    }
    const lo = hexValue(s[i + 2]);
    if (lo < 0) {
      if (i + 2 < s.length) out += s[i + 2];
      i += 3;
      continue;
    }
    const code = hi * 16 + lo;
    out += code > 0x25 && code < 0x7f ? String.fromCharCode(code) : s.slice(i, i + 3);
    i += 3;
  }
  return out;
}
