// ngx_stream_zone_sync_module's directives and their defaults (nginx.org's reference), and the
// configuration one cycle's zone_sync server builds from them. `zone_sync` and `zone_sync_server`
// stand in the stream server; the tuning and client-TLS directives may also stand in `stream`.
import { isIP } from 'node:net';
import { findAll, inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfEntry, Context, DirectiveSpec } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import {
  flagDirective,
  ngxAtoi,
  ngxSize,
  parseAddress,
  sizeDirective,
  timeDirective,
} from '../../config/values.ts';
import { buildClientTls, type ClientTls, clientTlsDirectives } from '../../http/tls/client.ts';
import type { NginxResolver } from '../resolver.ts';
import type { StreamBuildContext, StreamServer } from '../types.ts';
import { DEFAULT_MAX_FRAME, MAX_MAX_FRAME } from './frames.ts';
import { tlsFingerprint } from './tls_fingerprint.ts';

const SS: Context[] = ['stream', 'stream_server'];
/** One memory page: nginx's `4k|8k` defaults on this platform. */
const PAGE = 4096;

/** One `zone_sync_server` line. */
export interface ZoneSyncServer {
  readonly host: string;
  readonly port: number;
  /** Re-resolve the name while running (`resolve`). */
  readonly resolve: boolean;
  /** As written, for logs: `cluster.example.com:9000`. */
  readonly text: string;
  readonly entry: ConfEntry;
}

/** The configuration of the one zone_sync server of a cycle. */
export interface ZoneSyncConf {
  readonly servers: readonly ZoneSyncServer[];
  readonly connectRetryMs: number;
  readonly connectTimeoutMs: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The largest frame this node accepts (HELLO maxFrame): 1 MiB, or zone_sync_recv_buffer_size if larger. */
  readonly maxFrame: number;
  /** Client TLS for outgoing connections (zone_sync_ssl on), else null. */
  readonly tls: ClientTls | null;
  /** Where this node listens for peers (`--listen-address` applied to port-only listens). */
  readonly listens: readonly { readonly host: string | null; readonly port: number }[];
  /** `--listen-address`: outgoing connections leave from it. */
  readonly localAddress: string | undefined;
  readonly resolver: NginxResolver | null;
  /** The directives as written: a reload that leaves it unchanged keeps the peer connections. */
  readonly fingerprint: string;
}

function parseServer(e: ConfEntry): Omit<ZoneSyncServer, 'entry'> {
  const [text, flag] = e.args;
  if (flag !== undefined && flag !== 'resolve') invalid(`invalid parameter "${flag}"`, e);
  if (text.slice(0, 5).toLowerCase() === 'unix:') {
    invalid(`unix domain sockets are not supported in "${text}" of the "zone_sync_server" directive`, e);
  }
  const addr = parseAddress(text, 'zone_sync_server', 0);
  if (addr.host === null || addr.port === 0)
    invalid(`no port in "${text}" of the "zone_sync_server" directive`, e);
  return { host: addr.host, port: addr.port, resolve: flag === 'resolve', text };
}

/** `zone_sync_buffers number size`: accepted and checked; our writer sizes its buffers itself. */
function parseBuffers(e: ConfEntry): { number: number; size: number } {
  const number = ngxAtoi(e.args[0]);
  const size = ngxSize(e.args[1]);
  if (number === null || number === 0 || size === null || size === 0) {
    invalid(`invalid value "${e.args.join(' ')}"`, e);
  }
  return { number, size };
}

/** The client side's TLS directives: zone_sync_ssl_* are nginx's proxy_ssl_* for peers. */
const sslDirectives: DirectiveSpec[] = [
  flagDirective('zone_sync_ssl', SS),
  ...clientTlsDirectives('zone_sync_ssl', SS),
];

export const zoneSyncDirectives: DirectiveSpec[] = [
  { name: 'zone_sync', contexts: ['stream_server'], args: [0] },
  {
    name: 'zone_sync_server',
    contexts: ['stream_server'],
    args: [1, 2],
    multiple: true,
    parse: (e): ZoneSyncServer => ({ ...parseServer(e), entry: e }),
  },
  { name: 'zone_sync_buffers', contexts: SS, args: [2], parse: parseBuffers },
  timeDirective('zone_sync_connect_retry_interval', SS),
  timeDirective('zone_sync_connect_timeout', SS),
  timeDirective('zone_sync_interval', SS),
  sizeDirective('zone_sync_recv_buffer_size', SS),
  timeDirective('zone_sync_timeout', SS),
  ...sslDirectives,
];

/**
 * Every directive of the server's zone_sync, as written, with the resolver and listens it uses and
 * its TLS (files by content): what must be unchanged for peer connections to survive a reload.
 */
function fingerprintOf(srv: StreamServer, listenAddress: string | undefined): string {
  const written: string[] = [`listen-address ${listenAddress ?? ''}`];
  for (const name of ['resolver', 'resolver_timeout', ...zoneSyncDirectives.map((d) => d.name)]) {
    for (const e of inherited(srv.block, name)) written.push(`${name} ${e.args.join(' ')}`);
  }
  for (const l of srv.listens) written.push(`listen ${l.host ?? '*'}:${l.port} ${l.ssl ? 'ssl' : ''}`);
  written.push(tlsFingerprint(srv));
  return written.join('\n');
}

/** Build the server's zone_sync configuration, with nginx's checks; null when it has no `zone_sync`. */
export function buildZoneSyncConf(srv: StreamServer, cx: StreamBuildContext): ZoneSyncConf | null {
  if (findAll(srv.block, 'zone_sync').length === 0) return null;
  const servers = findAll(srv.block, 'zone_sync_server').map((e) => e.value as ZoneSyncServer);
  for (const s of servers) {
    if (s.resolve && srv.resolver === null && isIP(s.host) === 0) {
      invalid('no resolver defined to resolve names at run time in "zone_sync_server"', s.entry);
    }
  }
  const value = <T>(name: string, fallback: T): T => inheritedValue(srv.block, name, fallback);
  const buffers = value('zone_sync_buffers', { number: 8, size: PAGE });
  const recvBuffer = value('zone_sync_recv_buffer_size', PAGE);
  if (recvBuffer < buffers.size) {
    const where = inherited(srv.block, 'zone_sync_recv_buffer_size')[0];
    invalid(
      '"zone_sync_recv_buffer_size" must not be less than the size of one "zone_sync_buffers" buffer',
      where,
    );
  }
  const listenAddress = cx.listenAddress;
  return {
    servers,
    connectRetryMs: value('zone_sync_connect_retry_interval', 1000),
    connectTimeoutMs: value('zone_sync_connect_timeout', 5000),
    intervalMs: value('zone_sync_interval', 1000),
    // A HELLO timeout of 0 is refused by peers: 1 ms is the least a link can promise.
    timeoutMs: Math.max(1, value('zone_sync_timeout', 5000)),
    maxFrame: Math.min(MAX_MAX_FRAME, Math.max(DEFAULT_MAX_FRAME, recvBuffer)),
    tls: value('zone_sync_ssl', false) ? buildClientTls(srv.block, 'zone_sync_ssl', false) : null,
    listens: srv.listens.map((l) => ({ host: l.host ?? listenAddress ?? null, port: l.port })),
    localAddress: listenAddress,
    resolver: srv.resolver,
    fingerprint: fingerprintOf(srv, listenAddress),
  };
}
