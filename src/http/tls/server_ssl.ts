// A server's TLS configuration as the listeners use it, nginx's checks of `listen ... ssl`, and
// the choice of server (certificate, client verification) for a ClientHello's SNI name.
import type { SecureContext } from 'node:tls';
import { ConfigError } from '../../config/types.ts';
import type { HttpServer, ListenGroup } from '../build.ts';
import type { ServerConf } from '../types.ts';
import type { VerifyClient } from './context.ts';

/** Key of the ssl module's configuration in ServerConf.conf. */
export const SSL_CONF_KEY = 'http_ssl';

export interface SslServerConf {
  /** null for a server without ssl_certificate. */
  readonly context: SecureContext | null;
  readonly verify: VerifyClient;
  readonly verifyDepth: number;
  readonly rejectHandshake: boolean;
}

const NO_SSL: SslServerConf = { context: null, verify: 'off', verifyDepth: 1, rejectHandshake: false };

export function sslConfOf(server: ServerConf): SslServerConf {
  return (server.conf.get(SSL_CONF_KEY) as SslServerConf | undefined) ?? NO_SSL;
}

/**
 * ngx_http_ssl_init: the default server of a `listen ... ssl` address needs a certificate, unless
 * it rejects handshakes; then every server there needs one (or rejects handshakes too).
 */
export function checkSslGroup(group: ListenGroup): void {
  const fail = (srv: HttpServer): never => {
    const where = srv.block.owner;
    throw new ConfigError(
      `no "ssl_certificate" is defined for the "listen ... ssl" directive in ${where?.file}:${where?.line}`,
    );
  };
  const conf = sslConfOf(group.defaultServer);
  if (conf.context !== null) return;
  if (!conf.rejectHandshake) fail(group.defaultServer);
  for (const srv of group.servers) {
    const c = sslConfOf(srv);
    if (c.context === null && !c.rejectHandshake) fail(srv);
  }
}

/** What the handshake of one connection uses, decided from its SNI name. */
export interface HandshakeChoice {
  /** The server the SNI name selected (nginx's hc->ssl_servername is set), or null. */
  readonly sniServer: HttpServer | null;
  /** The configuration whose certificate and client verification the handshake uses. */
  readonly conf: SslServerConf & { readonly context: SecureContext };
}

/**
 * ngx_http_ssl_servername: the server named by SNI, else the default one; a server without a
 * certificate keeps the default server's certificate and verification. null: refuse the handshake
 * (ssl_reject_handshake, or no certificate anywhere).
 */
export function chooseHandshake(group: ListenGroup, serverName: string): HandshakeChoice | null {
  const sniServer = serverName === '' ? null : (group.names.find(serverName.toLowerCase())?.value ?? null);
  const chosen = sslConfOf(sniServer ?? group.defaultServer);
  if (chosen.rejectHandshake) return null;
  const conf = chosen.context !== null ? chosen : sslConfOf(group.defaultServer);
  if (conf.context === null) return null;
  return { sniServer, conf: conf as HandshakeChoice['conf'] };
}
