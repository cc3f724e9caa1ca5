// ngx_stream_ssl_module: the same ssl_* server directives as HTTP's (one table, one context
// builder: ../http/modules/ssl.ts and ../http/tls/context.ts), in `stream` and its servers, plus
// ssl_handshake_timeout. The listeners (./listeners.ts) use each server's context per connection.

import { inheritedValue } from '../config/tree.ts';
import type { Context } from '../config/types.ts';
import { ConfigError } from '../config/types.ts';
import { timeDirective } from '../config/values.ts';
import type { Module } from '../core/module.ts';
import { sslServerDirectives, sslSettingsOf } from '../http/modules/ssl.ts';
import { buildSecureContext } from '../http/tls/context.ts';
import type { SslServerConf } from '../http/tls/server_ssl.ts';
import type { StreamBuildContext, StreamServer } from './types.ts';

const SS: Context[] = ['stream', 'stream_server'];

/** Key of this module's configuration in StreamServer.conf. */
const STREAM_SSL_CONF_KEY = 'stream_ssl';

export interface StreamSslConf extends SslServerConf {
  /** ssl_handshake_timeout (default 60s), in milliseconds. */
  readonly handshakeTimeout: number;
}

const NO_SSL: StreamSslConf = {
  context: null,
  verify: 'off',
  verifyDepth: 1,
  rejectHandshake: false,
  handshakeTimeout: 60_000,
};

export function streamSslConfOf(srv: StreamServer): StreamSslConf {
  return (srv.conf.get(STREAM_SSL_CONF_KEY) as StreamSslConf | undefined) ?? NO_SSL;
}

/**
 * ngx_stream_ssl_init: a server listening with `ssl` needs a certificate unless it rejects
 * every handshake. Checked once the servers are built (see ./build.ts).
 */
export function checkStreamSsl(srv: StreamServer): void {
  const conf = streamSslConfOf(srv);
  if (conf.context !== null || conf.rejectHandshake) return;
  const where = srv.block.owner;
  throw new ConfigError(
    `no "ssl_certificate" is defined for the "listen ... ssl" directive in ${where?.file}:${where?.line}`,
  );
}

function server(srv: StreamServer, cx: StreamBuildContext): void {
  const settings = sslSettingsOf(srv.block);
  const conf: StreamSslConf = {
    context: buildSecureContext(settings),
    verify: settings.verify,
    verifyDepth: settings.verifyDepth,
    rejectHandshake: inheritedValue(srv.block, 'ssl_reject_handshake', false),
    handshakeTimeout: inheritedValue(srv.block, 'ssl_handshake_timeout', 60_000),
  };
  if (conf.context !== null && inheritedValue(srv.block, 'ssl_stapling', false)) {
    cx.log.log('warn', '"ssl_stapling" ignored, not supported');
  }
  srv.conf.set(STREAM_SSL_CONF_KEY, conf);
}

export const streamSslModule: Module = {
  name: 'stream_ssl',
  directives: [...sslServerDirectives(SS), timeDirective('ssl_handshake_timeout', SS)],
  stream: { server },
};
