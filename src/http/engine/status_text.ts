// Reason phrases exactly as nginx's header filter sends them (ngx_http_status_lines).
// Codes nginx has no phrase for (203, 205, 300, 305, 306, 407, 417-420, 422-428, 506, 1xx
// and anything unknown) go out as "HTTP/1.1 NNN " with the trailing space and no phrase.
// nginx's internal codes are never sent: 444 closes without a response, 494 (header too
// large), 495-497 (TLS client errors) are answered as 400 with their own error page title,
// and 499 (client closed the request) exists only in the access log.

export const STATUS_TEXT: ReadonlyMap<number, string> = new Map([
  [200, 'OK'],
  [201, 'Created'],
  [202, 'Accepted'],
  [204, 'No Content'],
  [206, 'Partial Content'],
  [301, 'Moved Permanently'],
  [302, 'Moved Temporarily'],
  [303, 'See Other'],
  [304, 'Not Modified'],
  [307, 'Temporary Redirect'],
  [308, 'Permanent Redirect'],
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [402, 'Payment Required'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Not Allowed'],
  [406, 'Not Acceptable'],
  [408, 'Request Time-out'],
  [409, 'Conflict'],
  [410, 'Gone'],
  [411, 'Length Required'],
  [412, 'Precondition Failed'],
  [413, 'Request Entity Too Large'],
  [414, 'Request-URI Too Large'],
  [415, 'Unsupported Media Type'],
  [416, 'Requested Range Not Satisfiable'],
  [421, 'Misdirected Request'],
  [429, 'Too Many Requests'],
  [500, 'Internal Server Error'],
  [501, 'Not Implemented'],
  [502, 'Bad Gateway'],
  [503, 'Service Temporarily Unavailable'],
  [504, 'Gateway Time-out'],
  [505, 'HTTP Version Not Supported'],
  [507, 'Insufficient Storage'],
]);

const statusLines = new Map<number, string>();

/** "HTTP/1.1 200 OK\r\n", built once per status code. */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    const text = STATUS_TEXT.get(status);
    line = `HTTP/1.1 ${String(status).padStart(3, '0')} ${text ?? ''}\r\n`;
    if (statusLines.size < 1000) statusLines.set(status, line);
  }
  return line;
}
