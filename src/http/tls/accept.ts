// Accepting a connection on a `listen ... ssl` address, as ngx_http_ssl_handshake: the first byte
// tells a TLS handshake from plain HTTP (which is served, to be answered 497); for TLS the first
// record is read for its SNI name, which picks the server's certificate and client verification,
// and the socket is handed to a TLSSocket with those bytes. The engine gets the decrypted stream.
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { ErrorLog } from '../../core/error_log.ts';
import type { HttpServer, ListenGroup } from '../build.ts';
import type { ConnectionInfo } from '../engine/types.ts';
import { recordLength, serverNameOf, TLS_HANDSHAKE } from './client_hello.ts';
import { chooseHandshake, type SslServerConf } from './server_ssl.ts';
import { type VerifyResult, verifyResultOf } from './verify.ts';

/** The TLS side of a connection, for the request checks and the $ssl_* variables. */
export interface TlsSession {
  readonly socket: TLSSocket;
  /** The SNI name as the client sent it; '' without one. */
  readonly servername: string;
  /** The server the SNI name selected, null when it selected none. */
  readonly sniServer: HttpServer | null;
  readonly verify: VerifyResult;
}

/**
 * ConnectionInfo as the listeners build it. `ssl`: the session on TLS connections, null for
 * plain HTTP sent to an `ssl` address (answered 497), undefined on plain addresses.
 */
export interface TlsConnectionInfo extends ConnectionInfo {
  readonly ssl: TlsSession | null | undefined;
}

/** The session of a request's connection, if it came over TLS. */
export function tlsSessionOf(conn: ConnectionInfo): TlsSession | null {
  return (conn as TlsConnectionInfo).ssl ?? null;
}

/** A fatal unrecognized_name alert (RFC 8446 6.2), nginx's answer under ssl_reject_handshake. */
const UNRECOGNIZED_NAME_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);

/**
 * Take over a socket accepted on an `ssl` group; `serve` gets the stream to speak HTTP on: the
 * TLSSocket after its handshake, or the socket itself (session null) for plain HTTP.
 */
export function acceptTls(
  socket: Socket,
  group: ListenGroup,
  id: number,
  log: ErrorLog,
  serve: (stream: Socket, session: TlsSession | null) => void,
): void {
  const client = socket.remoteAddress?.replace(/^::ffff:/, '');
  const info = (message: string) =>
    log.log(
      'info',
      `${message} while SSL handshaking, client: ${client}, server: ${group.host ?? '0.0.0.0'}:${group.port}`,
      id,
    );
  let received: Buffer = Buffer.alloc(0);
  // client_header_timeout bounds the wait for the first bytes and the handshake, as in nginx.
  const timer = setTimeout(() => {
    info('client timed out (110: Connection timed out)');
    socket.destroy();
  }, group.limits.clientHeaderTimeout);
  socket.once('close', () => clearTimeout(timer));
  socket.on('error', () => socket.destroy());

  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    // An SSLv2-style hello has its high bit set; anything else that is not a handshake is plain HTTP.
    const isTls = received[0] === TLS_HANDSHAKE || (received[0] & 0x80) !== 0;
    if (isTls && received[0] === TLS_HANDSHAKE && received.length < recordLength(received)) return;
    socket.removeListener('data', onData);
    if (!isTls) {
      clearTimeout(timer);
      socket.unshift(received);
      serve(socket, null);
      return;
    }
    handshake(socket, received, group, info, (stream, session) => {
      clearTimeout(timer);
      serve(stream, session);
    });
  };
  socket.on('data', onData);
}

/** nginx's protocols for ALPN (NGX_HTTP_ALPN_PROTOS): no h2 here. */
const ALPN = ['http/1.1', 'http/1.0', 'http/0.9'];

function handshake(
  socket: Socket,
  received: Buffer,
  group: ListenGroup,
  info: (message: string) => void,
  done: (stream: Socket, session: TlsSession) => void,
): void {
  const servername = serverNameOf(received);
  const choice = chooseHandshake(group, servername);
  const sniServer = choice?.sniServer ?? null;
  serverHandshake(socket, received, choice?.conf ?? null, ALPN, info, (tls, verify) =>
    done(tls, { socket: tls, servername, sniServer, verify }),
  );
}

/** What a server-side handshake uses: the certificate's context and client verification. */
export type HandshakeConf = Pick<SslServerConf, 'verify' | 'verifyDepth'> & {
  readonly context: SecureContext;
};

/**
 * The server side of a TLS handshake on `socket`, whose first bytes `received` were already read
 * (empty when none were); `done` gets the TLSSocket and the client certificate's verify result.
 * A null `conf` refuses the handshake with an unrecognized_name alert (ssl_reject_handshake).
 * Failures are logged through `info` in nginx's words and the connection is closed.
 */
export function serverHandshake(
  socket: Socket,
  received: Buffer,
  conf: HandshakeConf | null,
  alpn: string[] | undefined,
  info: (message: string) => void,
  done: (tls: TLSSocket, verify: VerifyResult) => void,
): void {
  if (conf === null) {
    info('handshake rejected');
    socket.end(UNRECOGNIZED_NAME_ALERT);
    return;
  }
  // Paused, with the bytes read so far put back: the TLSSocket reads them first.
  socket.pause();
  if (received.length > 0) socket.unshift(received);
  const requestCert = conf.verify !== 'off';
  const tls = new TLSSocket(socket, {
    isServer: true,
    secureContext: conf.context,
    requestCert,
    // nginx completes the handshake whatever the certificate, then judges the verify result.
    rejectUnauthorized: false,
    ALPNProtocols: alpn,
  });
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') info('peer closed connection in SSL handshake');
    else info(`SSL_do_handshake() failed (SSL: ${openSslText(err.message)})`);
    tls.destroy();
  };
  tls.on('error', onError);
  tls.once('secure', () => {
    tls.removeListener('error', onError);
    done(tls, verifyResultOf(tls, requestCert, conf.verifyDepth));
  });
}

/**
 * Node's OpenSSL error line (`HEX:error:CODE:LIB:FUNC:REASON:FILE:LINE:DATA`) as nginx prints
 * OpenSSL 3's queue: `error:CODE:LIB::REASON[:DATA]`, without the function or the source place.
 */
function openSslText(message: string): string {
  const m = /^(?:[0-9A-F]+:)?error:([0-9A-F]+):([^:]*):[^:]*:([^:]*):[^:]*:\d+:(.*)$/s.exec(message.trim());
  if (m === null) return message.trim();
  return `error:${m[1]}:${m[2]}::${m[3]}${m[4] ? `:${m[4]}` : ''}`;
}
