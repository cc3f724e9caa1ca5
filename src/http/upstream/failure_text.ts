// nginx's wording for upstream failures: `connect() failed (111: Connection refused) while
// connecting to upstream`, `upstream timed out (110: Connection timed out) while ...`.

/** What the exchange was doing, as nginx's "while ..." suffixes name it. */
export const CONNECTING = 0;
export const SENDING = 1;
export const READING_HEAD = 2;
export const READING_BODY = 3;
export const FINISHED = 4;
/** TCP is up, the TLS handshake (and the certificate checks) not done yet. */
export const HANDSHAKING = 5;

const WHILE = [
  'while connecting to upstream',
  'while sending request to upstream',
  'while reading response header from upstream',
  'while reading upstream',
  '',
  'while SSL handshaking to upstream',
];

const SYSCALL = ['connect()', 'writev()', 'recv()', 'recv()', 'recv()', 'SSL_do_handshake()'];

/** errno names to nginx's `111: Connection refused` text. */
const ERRNO: Record<string, string> = {
  ECONNREFUSED: '111: Connection refused',
  ECONNRESET: '104: Connection reset by peer',
  EPIPE: '32: Broken pipe',
  EHOSTUNREACH: '113: No route to host',
  ENETUNREACH: '101: Network is unreachable',
  ETIMEDOUT: '110: Connection timed out',
  EADDRNOTAVAIL: '99: Cannot assign requested address',
};

/** `message while ...` for the step `phase`. */
export function during(phase: number, message: string): string {
  return `${message} ${WHILE[phase]}`;
}

/** OpenSSL's error as nginx prints it: `SSL: error:0A00010B:SSL routines::wrong version number`. */
function sslError(err: NodeJS.ErrnoException & { library?: string; reason?: string }): string | null {
  const code = /error:([0-9A-F]{8}):/.exec(err.message)?.[1];
  return err.reason === undefined || code === undefined
    ? null
    : `SSL: error:${code}:${err.library ?? ''}::${err.reason}`;
}

/** A socket error as nginx logs it for the step `phase`. */
export function socketFailure(phase: number, err: NodeJS.ErrnoException): string {
  const ssl = sslError(err);
  // a handshake cut short without an OpenSSL error is ngx_ssl_handshake's "peer closed"
  if (phase === HANDSHAKING && ssl === null) return during(phase, 'peer closed connection in SSL handshake');
  return during(phase, `${SYSCALL[phase]} failed (${ssl ?? ERRNO[err.code ?? ''] ?? err.message})`);
}

export const TIMED_OUT = 'upstream timed out (110: Connection timed out)';
