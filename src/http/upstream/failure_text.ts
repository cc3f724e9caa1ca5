// nginx's wording for upstream failures: `connect() failed (111: Connection refused) while
// connecting to upstream`, `upstream timed out (110: Connection timed out) while ...`.

/** What the exchange was doing, as nginx's "while ..." suffixes name it. */
export const CONNECTING = 0;
export const SENDING = 1;
export const READING_HEAD = 2;
export const READING_BODY = 3;
export const FINISHED = 4;

const WHILE = [
  'while connecting to upstream',
  'while sending request to upstream',
  'while reading response header from upstream',
  'while reading upstream',
  '',
];

const SYSCALL = ['connect()', 'writev()', 'recv()', 'recv()', 'recv()'];

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

/** A socket error as nginx logs it for the step `phase`. */
export function socketFailure(phase: number, err: NodeJS.ErrnoException): string {
  return during(phase, `${SYSCALL[phase]} failed (${ERRNO[err.code ?? ''] ?? err.message})`);
}

export const TIMED_OUT = 'upstream timed out (110: Connection timed out)';
