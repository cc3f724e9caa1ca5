// $time_local, $time_iso8601 and $msec, as nginx's cached log times: the two strings are rebuilt
// once per second, not per request.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

let cachedSecond = Number.NaN;
let cachedLocal = '';
let cachedIso = '';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function refresh(second: number): void {
  const d = new Date(second * 1000);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const hours = pad2(Math.floor(Math.abs(offset) / 60));
  const minutes = pad2(Math.abs(offset) % 60);
  const day = pad2(d.getDate());
  const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  const year = d.getFullYear();
  cachedLocal = `${day}/${MONTHS[d.getMonth()]}/${year}:${clock} ${sign}${hours}${minutes}`;
  cachedIso = `${String(year).padStart(4, '0')}-${pad2(d.getMonth() + 1)}-${day}T${clock}${sign}${hours}:${minutes}`;
  cachedSecond = second;
}

/** `27/Nov/2026:06:43:14 +0000` in local time (nginx's ngx_cached_http_log_time). */
export function timeLocal(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) refresh(second);
  return cachedLocal;
}

/** `2026-11-27T06:43:14+00:00` in local time (nginx's ngx_cached_http_log_iso8601). */
export function timeIso8601(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) refresh(second);
  return cachedIso;
}

/** Milliseconds as nginx prints durations and $msec: `seconds.mmm`. */
export function secondsWithMillis(ms: number): string {
  const whole = Math.floor(ms);
  const frac = whole % 1000;
  return `${Math.floor(whole / 1000)}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}
