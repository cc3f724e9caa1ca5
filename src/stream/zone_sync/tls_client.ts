// The client side of zone_sync's TLS (zone_sync_ssl on): the zone_sync_ssl_* context and checks
// are nginx's proxy_ssl_* ones (../../http/tls/client.ts); a peer that fails them is logged and
// never spoken to.
import type { Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { type ClientTls, certificateFailure } from '../../http/tls/client.ts';

/**
 * Run the client handshake on a connected socket. `done` gets the TLS socket, or the reason the
 * peer is refused (nginx's wording for upstreams: `... while SSL handshaking to peer`).
 */
export function clientHandshake(
  socket: Socket,
  tls: ClientTls,
  host: string,
  done: (result: { socket: TLSSocket } | { failure: string }) => void,
): TLSSocket {
  const name = tls.name ?? host;
  const secure = connect({
    socket,
    secureContext: tls.context,
    servername: tls.serverName ? name : undefined,
    // Verification is ours, below, so the reason can be logged in nginx's words.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  let settled = false;
  const finish = (result: { socket: TLSSocket } | { failure: string }) => {
    if (settled) return;
    settled = true;
    done(result);
  };
  secure.once('secureConnect', () => {
    const failure = tls.verify ? certificateFailure(secure, tls, name, 'peer') : null;
    finish(failure === null ? { socket: secure } : { failure });
  });
  secure.once('error', (err) => finish({ failure: `SSL_do_handshake() failed (SSL: ${err.message})` }));
  secure.once('close', () => finish({ failure: 'connection closed while SSL handshaking' }));
  return secure;
}
