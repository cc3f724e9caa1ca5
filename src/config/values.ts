// nginx's value parsers (src/core/ngx_parse.c, ngx_string.c ngx_atoi, ngx_inet.c ngx_parse_url) and
// the conf-slot wording around them (ngx_conf_set_*_slot), plus spec builders for module tables.
// The `ngx*` functions return null where nginx returns NGX_ERROR; the `parse*` ones throw the
// message nginx's slot gives, for the parser to place at the directive's file and line.
import { isIPv6 } from 'node:net';
import { type ArgRule, type Context, type DirectiveSpec, invalid } from './types.ts';

/** The largest value nginx accepts in its 64-bit slots (NGX_MAX_INT_T_VALUE, NGX_MAX_OFF_T_VALUE). */
const MAX_INT = 2 ** 63 - 1;

/** ngx_atoi: decimal digits only, at least one, no sign. */
export function ngxAtoi(text: string): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const n = Number(text);
  return n > MAX_INT ? null : n;
}

/** A count with an optional unit, as ngx_parse_size / ngx_parse_offset. */
function scaled(text: string, units: Record<string, number>): number | null {
  if (text === '') return null;
  const scale = units[text[text.length - 1]];
  const n = ngxAtoi(scale ? text.slice(0, -1) : text);
  if (n === null) return null;
  const factor = scale ?? 1;
  return n > MAX_INT / factor ? null : n * factor;
}

const K = 1024;
const SIZE_UNITS: Record<string, number> = { k: K, K: K, m: K * K, M: K * K };
const OFFSET_UNITS: Record<string, number> = { ...SIZE_UNITS, g: K * K * K, G: K * K * K };

/** ngx_parse_size: bytes, or `k`/`m` (either case). nginx has no `g` for sizes, only for offsets. */
export function ngxSize(text: string): number | null {
  return scaled(text, SIZE_UNITS);
}

/** ngx_parse_offset: bytes, or `k`/`m`/`g` (either case). */
export function ngxOffset(text: string): number | null {
  return scaled(text, OFFSET_UNITS);
}

// ngx_parse_time's units, largest first: each may appear once, in this order.
const TIME_STEPS = ['y', 'M', 'w', 'd', 'h', 'm', 's', 'ms'] as const;
const TIME_SECONDS: Record<(typeof TIME_STEPS)[number], number> = {
  y: 365 * 24 * 3600,
  M: 30 * 24 * 3600,
  w: 7 * 24 * 3600,
  d: 24 * 3600,
  h: 3600,
  m: 60,
  s: 1,
  ms: 0.001,
};

/**
 * ngx_parse_time: `1h30m`, `500ms`, `10` (a bare number is seconds). Returns milliseconds, or
 * seconds when `inSeconds` (then `ms` is refused). In milliseconds nginx refuses `y` and `M`.
 */
export function ngxTime(text: string, inSeconds: boolean): number | null {
  // The step reached so far: 0 before any unit; milliseconds start past `M`, as in nginx.
  let step = inSeconds ? 0 : TIME_STEPS.indexOf('M') + 1;
  let total = 0;
  let value = 0;
  let valid = false;
  const unitScale = inSeconds ? 1 : 1000;
  let p = 0;
  while (p < text.length) {
    const ch = text[p];
    if (ch >= '0' && ch <= '9') {
      value = value * 10 + (ch.charCodeAt(0) - 48);
      if (value > MAX_INT) return null;
      valid = true;
      p++;
      continue;
    }
    p++;
    let unit: (typeof TIME_STEPS)[number] | 'space';
    if (ch === 'm' && text[p] === 's') {
      if (inSeconds) return null;
      unit = 'ms';
      p++;
    } else if (ch === ' ') {
      unit = 'space';
    } else if ((TIME_STEPS as readonly string[]).includes(ch)) {
      unit = ch as (typeof TIME_STEPS)[number];
    } else {
      return null;
    }
    // A space ends a number with no unit of its own: nginx counts it as seconds, after `m` at most.
    const index = TIME_STEPS.indexOf(unit === 'space' ? 's' : unit) + 1;
    if (unit === 'y' ? step > 0 : step >= index) return null;
    step = unit === 'space' ? TIME_STEPS.length + 1 : index;
    const seconds = unit === 'space' ? 1 : TIME_SECONDS[unit];
    const scale = inSeconds ? seconds : Math.round(seconds * 1000);
    if (value > Math.floor(MAX_INT / scale)) return null;
    total += value * scale;
    if (total > MAX_INT) return null;
    value = 0;
    while (text[p] === ' ') p++;
  }
  if (!valid) return null;
  total += value * unitScale;
  return total > MAX_INT ? null : total;
}

/** The value of a size slot (`client_max_body_size` style): `"X" directive invalid value`. */
export function parseSize(text: string, directive: string): number {
  return ngxSize(text) ?? invalid(`"${directive}" directive invalid value`);
}

/** The value of an offset slot (sizes that may use `g`). */
export function parseOffset(text: string, directive: string): number {
  return ngxOffset(text) ?? invalid(`"${directive}" directive invalid value`);
}

/** A msec slot (`proxy_connect_timeout`): milliseconds. */
export function parseTime(text: string, directive: string): number {
  return ngxTime(text, false) ?? invalid(`"${directive}" directive invalid value`);
}

/** A sec slot (`ssl_session_timeout`): whole seconds. */
export function parseSeconds(text: string, directive: string): number {
  return ngxTime(text, true) ?? invalid(`"${directive}" directive invalid value`);
}

/** A num slot: `"X" directive invalid number`. */
export function parseNumber(text: string, directive: string): number {
  return ngxAtoi(text) ?? invalid(`"${directive}" directive invalid number`);
}

/** A flag slot: on/off in any case, as ngx_conf_set_flag_slot. */
export function parseFlag(text: string, directive: string): boolean {
  const lower = text.toLowerCase();
  if (lower === 'on') return true;
  if (lower === 'off') return false;
  return invalid(`invalid value "${text}" in "${directive}" directive, it must be "on" or "off"`);
}

/** An enum slot: one of `values`, matched in any case, as ngx_conf_set_enum_slot. */
export function parseEnum<T extends string>(text: string, values: readonly T[]): T {
  const lower = text.toLowerCase();
  return values.find((v) => v.toLowerCase() === lower) ?? invalid(`invalid value "${text}"`);
}

/** A listening address: `host` is null for the IPv4 wildcard (`80`, `*:80`); `unix` is the socket path. */
export interface Address {
  readonly host: string | null;
  readonly port: number;
  readonly unix?: string;
}

/** sun_path's size on Linux: the path plus its terminating NUL must fit. */
const UNIX_PATH_MAX = 108;

/**
 * ngx_parse_url in listen mode: `unix:/path`, `[::1]:8080`, `host:port`, `*:port`, `port`, `host`
 * (port `defaultPort`). Host names are kept as written: resolving them is the caller's business.
 * Errors read `invalid port in "x" of the "listen" directive`, with the directive's name.
 */
export function parseAddress(text: string, directive = 'listen', defaultPort = 80): Address {
  const fail = (why: string): never => invalid(`${why} in "${text}" of the "${directive}" directive`);
  const port = (digits: string): number => {
    const n = ngxAtoi(digits);
    return n !== null && n >= 1 && n <= 65535 ? n : fail('invalid port');
  };

  if (text.slice(0, 5).toLowerCase() === 'unix:') {
    const path = text.slice(5);
    if (path === '') fail('no path in the unix domain socket');
    if (Buffer.byteLength(path) + 1 > UNIX_PATH_MAX) fail('too long path in the unix domain socket');
    return { host: null, port: 0, unix: path };
  }

  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) fail('invalid host');
    const after = text.slice(close + 1);
    if (after.includes('/') || (after !== '' && !after.startsWith(':'))) fail('invalid host');
    const n = after === '' ? defaultPort : port(after.slice(1));
    const host = text.slice(1, close);
    if (host === '') fail('no host');
    if (!isIPv6(host)) fail('invalid IPv6 address');
    return { host, port: n };
  }

  if (/[/?]/.test(text)) fail('invalid host');
  const colon = text.indexOf(':');
  let host = text;
  let n = defaultPort;
  if (colon !== -1) {
    n = port(text.slice(colon + 1));
    host = text.slice(0, colon);
  } else if (ngxAtoi(text) !== null) {
    return { host: null, port: port(text) };
  }
  if (host === '') fail('no host');
  return { host: host === '*' ? null : host, port: n };
}

// Spec builders: a directive whose argument is one nginx slot value.

/** An on|off directive; the parser checks the value and stores the boolean in entry.value. */
export function flagDirective(name: string, contexts: readonly Context[]): DirectiveSpec {
  return { name, contexts, args: 'flag' };
}

/** A size slot (`client_body_buffer_size 16k`). */
export function sizeDirective(name: string, contexts: readonly Context[]): DirectiveSpec {
  return { name, contexts, args: [1], parse: (e) => parseSize(e.args[0], name) };
}

/** An offset slot (`client_max_body_size 1g`). */
export function offsetDirective(name: string, contexts: readonly Context[]): DirectiveSpec {
  return { name, contexts, args: [1], parse: (e) => parseOffset(e.args[0], name) };
}

/** A msec slot: entry.value is milliseconds. */
export function timeDirective(name: string, contexts: readonly Context[]): DirectiveSpec {
  return { name, contexts, args: [1], parse: (e) => parseTime(e.args[0], name) };
}

/** A sec slot: entry.value is seconds. */
export function secondsDirective(name: string, contexts: readonly Context[]): DirectiveSpec {
  return { name, contexts, args: [1], parse: (e) => parseSeconds(e.args[0], name) };
}

/** A num slot (`keepalive_requests 1000`). */
export function numberDirective(name: string, contexts: readonly Context[]): DirectiveSpec {
  return { name, contexts, args: [1], parse: (e) => parseNumber(e.args[0], name) };
}

/** An enum slot: entry.value is the matching entry of `values`. */
export function enumDirective(
  name: string,
  contexts: readonly Context[],
  values: readonly string[],
): DirectiveSpec {
  return { name, contexts, args: [1], parse: (e) => parseEnum(e.args[0], values) };
}

/** Accepted for compatibility and otherwise ignored: only the argument count is checked. */
export function ignoredDirective(
  name: string,
  contexts: readonly Context[],
  args: ArgRule,
  multiple = false,
): DirectiveSpec {
  return { name, contexts, args, multiple };
}
