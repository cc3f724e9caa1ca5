// The `expires` directive's value and the Expires / Cache-Control pair it yields, as
// ngx_http_parse_expires and ngx_http_set_expires compute them.
import { ngxTime } from '../../config/values.ts';
import { httpTime } from './conditional.ts';

export type ExpiresKind = 'off' | 'epoch' | 'max' | 'access' | 'modified' | 'daily';

export interface Expires {
  readonly kind: ExpiresKind;
  /** Seconds: an offset (may be negative), or for `daily` the time of day. */
  readonly time: number;
}

/** ngx_http_parse_expires: the value, or nginx's error text. `kind` is `modified` after that keyword. */
export function parseExpires(value: string, kind: 'access' | 'modified'): Expires | string {
  if (kind !== 'modified' && (value === 'epoch' || value === 'max' || value === 'off'))
    return { kind: value, time: 0 };
  let k: ExpiresKind = kind;
  let text = value;
  let minus = false;
  if (text.startsWith('@')) {
    if (kind === 'modified') return 'daily time cannot be used with "modified" parameter';
    k = 'daily';
    text = text.slice(1);
  } else if (text.startsWith('+')) {
    text = text.slice(1);
  } else if (text.startsWith('-')) {
    text = text.slice(1);
    minus = true;
  }
  const time = ngxTime(text, true);
  if (time === null) return 'invalid value';
  if (k === 'daily' && time > 24 * 60 * 60) return 'daily time value must be less than 24 hours';
  return { kind: k, time: minus ? -time : time };
}

/** ngx_next_time: the next moment (local time) at `timeOfDay` seconds past midnight, after `now`. */
export function nextTime(timeOfDay: number, now: number): number {
  const d = new Date(now * 1000);
  d.setHours(Math.floor(timeOfDay / 3600), Math.floor((timeOfDay % 3600) / 60), timeOfDay % 60, 0);
  if (d.getTime() / 1000 - now > 0) return d.getTime() / 1000;
  d.setDate(d.getDate() + 1);
  return d.getTime() / 1000;
}

/**
 * The Expires and Cache-Control values for a response at `now` (whole seconds), given its
 * Last-Modified time (null when it has none). `negativeConf` is a constant negative offset,
 * which nginx always answers with `no-cache`.
 */
export function expiresHeaders(
  e: Expires,
  now: number,
  lastModified: number | null,
  negativeConf: boolean,
): [string, string] {
  if (e.kind === 'epoch') return ['Thu, 01 Jan 1970 00:00:01 GMT', 'no-cache'];
  // 10 years, and the last date a 32-bit time_t was sure to hold.
  if (e.kind === 'max') return ['Thu, 31 Dec 2037 23:55:55 GMT', 'max-age=315360000'];
  if (e.time === 0 && e.kind !== 'daily') return [httpTime(now), 'max-age=0'];
  let expires: number;
  let maxAge: number;
  if (e.kind === 'daily') {
    expires = nextTime(e.time, now);
    maxAge = expires - now;
  } else if (e.kind === 'access' || lastModified === null) {
    maxAge = e.time;
    expires = now + e.time;
  } else {
    expires = lastModified + e.time;
    maxAge = expires - now;
  }
  return [httpTime(expires), negativeConf || maxAge < 0 ? 'no-cache' : `max-age=${maxAge}`];
}
