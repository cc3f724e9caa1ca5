// ngx_stream_return_module: `return value;` sends the value to the client and closes the
// connection. A content handler of its own, so a stream server can be served (and tested)
// without zone_sync.

import { find } from '../config/tree.ts';
import type { ConfEntry } from '../config/types.ts';
import { invalid } from '../config/types.ts';
import type { Module } from '../core/module.ts';
import type { StreamServer } from './types.ts';

/** The value is sent as written: stream variables do not exist here. */
function parseReturn(e: ConfEntry): string {
  const value = e.args[0];
  if (/\$[A-Za-z0-9_{]/.test(value)) invalid('variables are not supported in stream "return"', e);
  return value;
}

function server(srv: StreamServer): void {
  const entry = find(srv.block, 'return');
  if (entry === undefined) return;
  const value = entry.value as string;
  srv.handler = (socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(value);
  };
}

export const streamReturnModule: Module = {
  name: 'stream_return',
  directives: [{ name: 'return', contexts: ['stream_server'], args: [1], parse: parseReturn }],
  stream: { server },
};
