// ngx_http_validate_host: lowercase, strip the port and one trailing dot, reject "..",
// '/', NUL, spaces and control bytes (nginx >= 1.21.1) and an empty result.

/** The host as nginx keeps it for $host, or null for an invalid host (400). */
export function validateHost(host: string): string | null {
  let dotPos = host.length;
  let hostLen = host.length;
  let state = 0; // 0 usual, 1 IP literal, 2 after the host
  let upper = false;
  for (let i = 0; i < host.length; i++) {
    const ch = host.charCodeAt(i);
    switch (ch) {
      case 0x2e:
        if (dotPos === i - 1) return null;
        dotPos = i;
        break;
      case 0x3a:
        if (state === 0) {
          hostLen = i;
          state = 2;
        }
        break;
      case 0x5b:
        if (i === 0) state = 1;
        break;
      case 0x5d:
        if (state === 1) {
          hostLen = i + 1;
          state = 2;
        }
        break;
      default:
        if (ch === 0x2f || ch <= 0x20 || ch === 0x7f) return null;
        if (ch >= 0x41 && ch <= 0x5a) upper = true;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  if (hostLen <= 0) return null;
  const h = hostLen === host.length ? host : host.slice(0, hostLen);
  return upper ? h.toLowerCase() : h;
}
