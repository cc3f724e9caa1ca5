// proxy_pass https://: the proxy_ssl_* directives (../tls/client.ts builds the context, shared
// with zone_sync), the name nginx's ngx_http_upstream_ssl_name picks for SNI and verification,
// and what one connection to a peer dials with. Sessions are kept per peer and name for
// proxy_ssl_session_reuse, as nginx keeps one per peer.
import type { TLSSocket } from 'node:tls';
import { inherited } from '../../config/tree.ts';
import type { ConfBlock, Context, DirectiveSpec } from '../../config/types.ts';
import { flagDirective } from '../../config/values.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { TlsDial, UpstreamConnection } from '../engine/upstream_pool.ts';
import { buildClientTls, type ClientTls, certificateFailure, clientTlsDirectives } from '../tls/client.ts';
import type { BuildContext, HttpRequest } from '../types.ts';
import type { Peer } from '../upstream/balancer.ts';

const HSL: Context[] = ['http', 'server', 'location'];
const PREFIX = 'proxy_ssl';

export const proxySslDirectives: DirectiveSpec[] = [
  ...clientTlsDirectives(PREFIX, HSL),
  flagDirective('proxy_ssl_session_reuse', HSL),
];

/** One set of proxy_ssl_* settings: locations with the same ones share it (and its sessions). */
export interface ProxyTls {
  readonly client: ClientTls;
  /** Tells settings apart in keep-alive cache keys. */
  readonly id: number;
  /** proxy_ssl_name; null: the proxy_pass host. */
  readonly name: ComplexValue | null;
  readonly sessionReuse: boolean;
  /** The last session of each peer and name. */
  readonly sessions: Map<string, Buffer>;
}

/** The TLS of one request: its settings and the name it evaluated to. */
export interface UpstreamTls {
  readonly tls: ProxyTls;
  readonly name: string;
}

const settingsCaches = new WeakMap<ConfBlock, Map<string, ProxyTls>>();
let nextId = 1;

/** The proxy_ssl_* settings in effect at `block` (built once per distinct set and http block). */
export function buildProxyTls(block: ConfBlock, http: ConfBlock, cx: BuildContext): ProxyTls {
  const written: string[] = [];
  for (const d of proxySslDirectives) {
    for (const e of inherited(block, d.name)) written.push(`${d.name} ${e.args.join(' ')}`);
  }
  const key = written.join('\n');
  let cache = settingsCaches.get(http);
  if (cache === undefined) settingsCaches.set(http, (cache = new Map()));
  let found = cache.get(key);
  if (found !== undefined) return found;
  const reuse = inherited(block, 'proxy_ssl_session_reuse');
  const sessionReuse = (reuse[0]?.value as boolean | undefined) ?? true;
  const nameEntry = inherited(block, 'proxy_ssl_name')[0];
  found = {
    client: buildClientTls(block, PREFIX, sessionReuse),
    id: nextId++,
    name: nameEntry === undefined ? null : cx.variables.compile(nameEntry.args[0], nameEntry),
    sessionReuse,
    sessions: new Map(),
  };
  cache.set(key, found);
  return found;
}

/**
 * ngx_http_upstream_ssl_name: proxy_ssl_name (else the proxy_pass host, `hostHeader`) without a
 * port, which such names as $proxy_host or $http_host may carry.
 */
export function upstreamTlsFor(tls: ProxyTls, r: HttpRequest, hostHeader: string): UpstreamTls {
  const name = tls.name === null ? hostHeader : tls.name.evaluate(r);
  const close = name.startsWith('[') ? name.indexOf(']') : -1;
  const colon = name.indexOf(':', Math.max(close, 0));
  return { tls, name: colon < 0 ? name : name.slice(0, colon) };
}

/** The keep-alive cache key of a connection to `peer`, and its TLS (none for http://). */
export function dialFor(u: UpstreamTls | null, peer: Peer): { key: string; dial: TlsDial | null } {
  if (u === null) return { key: peer.name, dial: null };
  const { tls, name } = u;
  // a TLS connection is cached under its settings and name too
  const key = `${peer.name} ${tls.id} ${name}`;
  // RFC 6066: no address literals as SNI
  const sni = tls.client.serverName && name !== '' && !name.startsWith('[') && !/^[0-9.]+$/.test(name);
  const sessions = tls.sessionReuse ? tls.sessions : null;
  return {
    key,
    dial: {
      options: {
        secureContext: tls.client.context,
        servername: sni ? name : undefined,
        session: sessions?.get(key),
        // verification is ours (checkUpstream), so its failure is logged in nginx's words
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      },
      saveSession: sessions === null ? null : (session) => sessions.set(key, session),
    },
  };
}

/**
 * proxy_ssl_verify's checks after a handshake: nginx's log text when they fail, else null. A
 * resumed session (which brings no certificate) passed them when it was new: only sessions of
 * connections that passed are kept, under the same peer, settings and name.
 */
export function checkUpstream(u: UpstreamTls | null, conn: UpstreamConnection): string | null {
  const socket = conn.socket as TLSSocket;
  if (u === null || !u.tls.client.verify || socket.isSessionReused()) return null;
  const name = u.name.startsWith('[') ? u.name.slice(1, -1) : u.name;
  const failure = certificateFailure(socket, u.tls.client, name, 'upstream');
  // a TLS 1.2 session is saved during the handshake; the socket is closed before any later one
  if (failure !== null) u.tls.sessions.delete(conn.key);
  return failure;
}
