// Validators and preconditions for static files: HTTP dates (ngx_parse_http_time), nginx's ETag,
// and the not-modified filter's rules (If-Unmodified-Since, If-Match, If-Modified-Since,
// If-None-Match) plus If-Range as the range filter reads it.

export type IfModifiedSince = 'off' | 'exact' | 'before';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MDAY = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// The three formats nginx accepts; the weekday is skipped unchecked, and so is anything after the time.
const RFC822 = /^[^ ,]*, *(\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d)/;
const RFC850 = /^[^ ,]*, *(\d\d)-([A-Z][a-z]{2})-(\d\d) (\d\d):(\d\d):(\d\d)/;
const ASCTIME = /^[^ ,]* +([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})/;

/** Seconds since the epoch, or -1 (nginx's NGX_ERROR) for a value it would not parse. */
export function parseHttpTime(value: string): number {
  let m = RFC822.exec(value);
  let day: number, month: number, year: number, hms: RegExpExecArray;
  if (m !== null) {
    [day, month, year, hms] = [Number(m[1]), MONTHS.indexOf(m[2]), Number(m[3]), m];
  } else if ((m = RFC850.exec(value)) !== null) {
    const yy = Number(m[3]);
    [day, month, year, hms] = [Number(m[1]), MONTHS.indexOf(m[2]), yy < 70 ? 2000 + yy : 1900 + yy, m];
  } else if ((m = ASCTIME.exec(value)) !== null) {
    [day, month, year] = [Number(m[2]), MONTHS.indexOf(m[1]), Number(m[6])];
    hms = [m[0], '', '', '', m[3], m[4], m[5]] as unknown as RegExpExecArray;
  } else return -1;
  const [hour, min, sec] = [Number(hms[4]), Number(hms[5]), Number(hms[6])];
  if (month < 0 || hour > 23 || min > 59 || sec > 59) return -1;
  const leap = (year & 3) === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > MDAY[month] || (month === 1 && day === 29 && !leap)) return -1;
  return Date.UTC(year, month, day, hour, min, sec) / 1000;
}

/** `Thu, 01 Jan 1970 00:00:00 GMT`: the same text as nginx's ngx_http_time. */
export function httpTime(seconds: number): string {
  // Last-Modified of the same files again and again: remember the last few.
  const slot = seconds & (TIME_SLOTS - 1);
  if (timeKeys[slot] === seconds) return timeTexts[slot];
  const text = new Date(seconds * 1000).toUTCString();
  timeKeys[slot] = seconds;
  timeTexts[slot] = text;
  return text;
}

const TIME_SLOTS = 64;
const timeKeys: number[] = new Array(TIME_SLOTS).fill(Number.NaN);
const timeTexts: string[] = new Array(TIME_SLOTS).fill('');

/** nginx's strong ETag for a file: `"<mtime hex>-<size hex>"`. */
export function fileEtag(mtime: number, size: number): string {
  if (mtime !== etagMtime || size !== etagSize) {
    etagMtime = mtime;
    etagSize = size;
    etag = `"${mtime.toString(16)}-${size.toString(16)}"`;
  }
  return etag;
}

// the last ETag made: the same file is asked for again and again
let etagMtime = -1;
let etagSize = -1;
let etag = '';

/** ngx_http_test_if_match: whether a header's list names the ETag (`*` names any). */
export function etagMatches(list: string, etag: string | null, weak: boolean): boolean {
  if (list === '*') return true;
  if (etag === null) return false;
  let p = 0;
  const end = list.length;
  while (p < end) {
    if (weak && end - p > 2 && list[p] === 'W' && list[p + 1] === '/') p += 2;
    if (etag.length > end - p) return false;
    if (list.startsWith(etag, p)) {
      p += etag.length;
      while (p < end && (list[p] === ' ' || list[p] === '\t')) p++;
      if (p === end || list[p] === ',') return true;
    }
    while (p < end && list[p] !== ',') p++;
    while (p < end && (list[p] === ' ' || list[p] === '\t' || list[p] === ',')) p++;
  }
  return false;
}

/** The request headers the precondition checks read. */
export interface Preconditions {
  readonly ifUnmodifiedSince?: string;
  readonly ifMatch?: string;
  readonly ifModifiedSince?: string;
  readonly ifNoneMatch?: string;
}

/** What the not-modified filter makes of a 200: keep it, 304 Not Modified, or 412 Precondition Failed. */
export function preconditionStatus(
  h: Preconditions,
  lastModified: number,
  etag: string | null,
  mode: IfModifiedSince,
): 200 | 304 | 412 {
  if (h.ifUnmodifiedSince !== undefined && !(parseHttpTime(h.ifUnmodifiedSince) >= lastModified)) return 412;
  if (h.ifMatch !== undefined && !etagMatches(h.ifMatch, etag, false)) return 412;
  if (h.ifModifiedSince === undefined && h.ifNoneMatch === undefined) return 200;
  if (h.ifModifiedSince !== undefined && modifiedSince(h.ifModifiedSince, lastModified, mode)) return 200;
  if (h.ifNoneMatch !== undefined && !etagMatches(h.ifNoneMatch, etag, true)) return 200;
  return 304;
}

/** ngx_http_test_if_modified: `exact` wants the very date, `before` any date not older. */
function modifiedSince(value: string, lastModified: number, mode: IfModifiedSince): boolean {
  if (mode === 'off') return true;
  const ims = parseHttpTime(value);
  if (ims === lastModified) return false;
  return mode === 'exact' || ims < lastModified;
}

/** If-Range: a quoted value must equal the ETag, a date the Last-Modified time. */
export function ifRangeAllows(ifRange: string, lastModified: number, etag: string | null): boolean {
  if (ifRange.length >= 2 && ifRange.endsWith('"')) return etag !== null && ifRange === etag;
  return parseHttpTime(ifRange) === lastModified;
}
