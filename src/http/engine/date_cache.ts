// The Date header changes once a second; build its line once per second, not per response.

let cachedSecond = -1;
let cachedLine = '';

/** "Date: Tue, 01 Jan 2030 00:00:00 GMT\r\n" for the current second. */
export function dateHeaderLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return cachedLine;
}
