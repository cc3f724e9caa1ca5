// Every module of this build, in the order nginx would run them within a phase.
// Adding a module is one import and one line here.

import { coreModule } from './core/core_module.ts';
import type { Module } from './core/module.ts';
import { apiModule } from './http/modules/api.ts';
import { httpCoreModule } from './http/modules/core.ts';
import { headersModule } from './http/modules/headers.ts';
import { indexModule } from './http/modules/index.ts';
import { internalModule } from './http/modules/internal.ts';
import { keyvalModule } from './http/modules/keyval.ts';
import { limitReqModule } from './http/modules/limit_req.ts';
import { logModule } from './http/modules/log.ts';
import { mapModule } from './http/modules/map.ts';
import { metricsModule } from './http/modules/metrics.ts';
import { proxyModule } from './http/modules/proxy.ts';
import { rewriteModule } from './http/modules/rewrite.ts';
import { sslModule } from './http/modules/ssl.ts';
import { staticModule } from './http/modules/static.ts';
import { stickyModule } from './http/modules/sticky.ts';
import { tryFilesModule } from './http/modules/try_files.ts';
import { upstreamModule } from './http/upstream/upstream.ts';
import { streamCoreModule } from './stream/core_module.ts';
import { streamReturnModule } from './stream/return_module.ts';
import { streamSslModule } from './stream/ssl_module.ts';
import { zoneSyncModule } from './stream/zone_sync/zone_sync_module.ts';
// -- modules: add imports above this line --

export const modules: readonly Module[] = [
  coreModule,
  httpCoreModule,
  logModule,
  // internal's 404 comes before any rewrite-phase handler of the location (nginx checks it in find_config).
  internalModule,
  // map before rewrite: map's init defines its variables before rewrite's init declares `set` ones.
  mapModule,
  // keyval before rewrite too: its variables may be written by `set`.
  keyvalModule,
  rewriteModule,
  tryFilesModule,
  // headers before static: static's filter adds Accept-Ranges/Content-Range after add_header's, as nginx.
  headersModule,
  // The content phase runs index, then static, which must stay the last content handler.
  indexModule,
  staticModule,
  upstreamModule,
  proxyModule,
  sslModule,
  apiModule,
  metricsModule,
  stickyModule,
  limitReqModule,
  streamCoreModule,
  streamSslModule,
  // The stream content handlers: the one a server's directives choose serves its connections.
  streamReturnModule,
  zoneSyncModule,
  // -- modules: add entries above this line --
];
