// The Set-Cookie value of `sticky cookie`, byte for byte as ngx_http_upstream_sticky_cookie_insert
// writes it: `name=SID[; expires=D; max-age=N][; domain=D][; httponly][; secure][; samesite=V][; path=P]`.
import type { ComplexValue } from '../../variables/types.ts';
import type { HttpRequest } from '../types.ts';
import { type CookieConf, EXPIRES_MAX, isSamesite } from './sticky_conf.ts';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `expires=max`: a fixed far date (2^31 - 1 seconds minus a little) and ten years of max-age. */
const EXPIRES_MAX_ATTRIBUTES = '; expires=Thu, 31-Dec-37 23:55:55 GMT; max-age=315360000';

const two = (n: number) => String(n).padStart(2, '0');

/**
 * ngx_http_cookie_time: `Thu, 01-Jan-26 00:00:00 GMT`. Two-digit years up to 2037 (for Netscape 3,
 * nginx's comment says), four digits after.
 */
export function cookieTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  return (
    `${WEEKDAYS[d.getUTCDay()]}, ${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-` +
    `${year > 2037 ? year : two(year % 100)} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT`
  );
}

/** A `sticky cookie` with its domain and samesite texts compiled. */
export class StickyCookie {
  private readonly conf: CookieConf;
  private readonly domain: ComplexValue | null;
  private readonly samesite: ComplexValue | null;

  constructor(conf: CookieConf, compile: (text: string) => ComplexValue) {
    this.conf = conf;
    this.domain = conf.domain === null ? null : compile(conf.domain);
    this.samesite = conf.samesite === null ? null : compile(conf.samesite);
  }

  /** The cookie naming server `sid`; `nowSeconds` dates `expires=`. */
  value(r: HttpRequest, sid: string, nowSeconds: number): string {
    const c = this.conf;
    let out = `${c.name}=${sid}`;
    if (c.expires === EXPIRES_MAX) out += EXPIRES_MAX_ATTRIBUTES;
    else if (c.expires !== null)
      out += `; expires=${cookieTime(nowSeconds + c.expires)}; max-age=${c.expires}`;
    const domain = this.domain?.evaluate(r) ?? '';
    if (domain !== '') out += `; domain=${domain}`;
    if (c.httponly) out += '; httponly';
    if (c.secure) out += '; secure';
    let samesite = this.samesite?.evaluate(r) ?? '';
    // Only a value from variables can be invalid here: the directive checked a constant one.
    if (samesite !== '' && !isSamesite(samesite)) samesite = 'strict';
    if (samesite !== '') out += `; samesite=${samesite}`;
    return out + c.pathAttribute;
  }
}
