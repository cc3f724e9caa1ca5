// `log_format` texts: parsed once at configuration time into literal and variable parts, compiled per
// cycle into a line builder. Escaping follows ngx_http_log_module: only variable values are escaped,
// literal text is written as is; an unset variable is `-` by default and empty with json/none.
import type { ConfEntry } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import type { VariableGetter } from '../../variables/registry.ts';
import type { HttpRequest } from '../types.ts';

export type LogEscape = 'default' | 'json' | 'none';

/** A `log_format` as written: its name, escaping, and the text split into literals and `$variables`. */
export interface LogFormatSpec {
  readonly name: string;
  readonly escape: LogEscape;
  readonly parts: readonly (string | { readonly variable: string })[];
}

/** Builds one log line (without the newline) for a request. */
export type LineBuilder = (r: HttpRequest) => string;

export const COMBINED_TEXT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

function isNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** Split format strings as ngx_http_log_compile_format does; `entry` (if any) locates the errors. */
export function parseFormat(name: string, args: readonly string[], entry?: ConfEntry): LogFormatSpec {
  let escaping: LogEscape = 'default';
  let first = 0;
  if (args.length > 0 && args[0].startsWith('escape=')) {
    const value = args[0].slice(7);
    if (value !== 'default' && value !== 'json' && value !== 'none') {
      invalid(`unknown log format escaping "${value}"`, entry);
    }
    escaping = value;
    first = 1;
  }
  const parts: (string | { variable: string })[] = [];
  // Adjacent literals (across arguments too) are merged: the line builder then runs fewer steps.
  const pushText = (text: string) => {
    const last = parts.length - 1;
    if (last >= 0 && typeof parts[last] === 'string') parts[last] += text;
    else parts.push(text);
  };
  for (let s = first; s < args.length; s++) {
    const arg = args[s];
    let i = 0;
    while (i < arg.length) {
      const start = i;
      if (arg[i] !== '$') {
        i = arg.indexOf('$', i);
        if (i < 0) i = arg.length;
        pushText(arg.slice(start, i));
        continue;
      }
      if (++i === arg.length) invalid(`invalid parameter "${arg.slice(start)}"`, entry);
      let bracket = false;
      if (arg[i] === '{') {
        bracket = true;
        if (++i === arg.length) invalid(`invalid parameter "${arg.slice(start)}"`, entry);
      }
      const nameStart = i;
      while (i < arg.length && isNameChar(arg.charCodeAt(i))) i++;
      const variable = arg.slice(nameStart, i);
      if (bracket) {
        if (arg[i] !== '}') invalid(`the closing bracket in "${variable}" variable is missing`, entry);
        i++;
      }
      if (variable === '') invalid(`invalid parameter "${arg.slice(start)}"`, entry);
      parts.push({ variable });
    }
  }
  return { name, escape: escaping, parts };
}

const HEX = '0123456789ABCDEF';
const UTF8 = new TextEncoder();
const NEEDS_DEFAULT_ESCAPE = /[\x00-\x1f"\\\x7f-\uffff]/;
const NEEDS_JSON_ESCAPE = /[\x00-\x1f"\\]/;

function hexByte(b: number): string {
  return '\\x' + HEX[b >> 4] + HEX[b & 15];
}

/**
 * nginx's default escaping: `"`, `\`, and bytes below 0x20 or from 0x7f up become `\xHH`. Request
 * strings carry one byte per character (latin1); characters beyond 0xff are escaped as their UTF-8 bytes.
 */
export function escapeDefault(s: string): string {
  if (!NEEDS_DEFAULT_ESCAPE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += s[i];
    else if (c <= 0xff) out += hexByte(c);
    else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of UTF8.encode(String.fromCodePoint(cp))) out += hexByte(b);
    }
  }
  return out;
}

/** nginx's ngx_escape_json: `"` and `\` backslashed, control characters as `\n`... or `\u00XX`. */
export function escapeJson(s: string): string {
  if (!NEEDS_JSON_ESCAPE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x1f) out += c === 0x22 || c === 0x5c ? '\\' + s[i] : s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

function variableStep(get: VariableGetter, escaping: LogEscape): LineBuilder {
  switch (escaping) {
    case 'json':
      return (r) => {
        const v = get(r);
        return v === undefined ? '' : escapeJson(v);
      };
    case 'none':
      return (r) => get(r) ?? '';
    default:
      return (r) => {
        const v = get(r);
        return v === undefined ? '-' : escapeDefault(v);
      };
  }
}

/** Compile a parsed format: `resolve` returns each variable's getter (and throws for unknown names). */
export function compileFormat(spec: LogFormatSpec, resolve: (name: string) => VariableGetter): LineBuilder {
  const steps: (string | LineBuilder)[] = spec.parts.map((p) =>
    typeof p === 'string' ? p : variableStep(resolve(p.variable), spec.escape),
  );
  if (steps.length === 1 && typeof steps[0] === 'string') {
    const text = steps[0];
    return () => text;
  }
  return (r) => {
    let line = '';
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      line += typeof step === 'string' ? step : step(r);
    }
    return line;
  };
}
