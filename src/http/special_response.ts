// nginx's built-in answers (ngx_http_special_response.c): the default error and redirect pages,
// byte for byte, with our name where nginx prints its own.
import { VERSION } from '../core/version.ts';

const TITLES: Record<number, string> = {
  301: '301 Moved Permanently',
  302: '302 Found',
  303: '303 See Other',
  307: '307 Temporary Redirect',
  308: '308 Permanent Redirect',
  400: '400 Bad Request',
  401: '401 Authorization Required',
  402: '402 Payment Required',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Not Allowed',
  406: '406 Not Acceptable',
  408: '408 Request Time-out',
  409: '409 Conflict',
  410: '410 Gone',
  411: '411 Length Required',
  412: '412 Precondition Failed',
  413: '413 Request Entity Too Large',
  414: '414 Request-URI Too Large',
  415: '415 Unsupported Media Type',
  416: '416 Requested Range Not Satisfiable',
  421: '421 Misdirected Request',
  429: '429 Too Many Requests',
  494: '400 Request Header Or Cookie Too Large',
  495: '400 The SSL certificate error',
  496: '400 No required SSL certificate was sent',
  497: '400 The plain HTTP request was sent to HTTPS port',
  500: '500 Internal Server Error',
  501: '501 Not Implemented',
  502: '502 Bad Gateway',
  503: '503 Service Temporarily Unavailable',
  504: '504 Gateway Time-out',
  505: '505 HTTP Version Not Supported',
  507: '507 Insufficient Storage',
};

/** Statuses nginx sends on the wire differently from the internal code (494-497 are 400). */
export function wireStatus(status: number): number {
  return status >= 494 && status <= 497 ? 400 : status;
}

/** After these nginx drops keep-alive (ngx_http_special_response_handler). */
export function closesConnection(status: number): boolean {
  return (
    status === 400 ||
    status === 413 ||
    status === 414 ||
    (status >= 494 && status <= 497) ||
    status === 500 ||
    status === 501
  );
}

const TAIL_ON = `<hr><center>zonesync/${VERSION}</center>\r\n</body>\r\n</html>\r\n`;
const TAIL_OFF = '<hr><center>zonesync</center>\r\n</body>\r\n</html>\r\n';
const MSIE_PADDING = `<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n`.repeat(6);

const cache = new Map<number, string>();

/** The default page for `status`, or null when nginx sends none (an empty body). */
export function specialPage(status: number, tokens: boolean, msiePadding: boolean): string | null {
  const title = TITLES[status];
  if (title === undefined) return null;
  const key = status * 4 + (tokens ? 2 : 0) + (msiePadding ? 1 : 0);
  let page = cache.get(key);
  if (page === undefined) {
    page = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n`;
    page += tokens ? TAIL_ON : TAIL_OFF;
    if (msiePadding && status >= 400) page += MSIE_PADDING;
    cache.set(key, page);
  }
  return page;
}
