// ngx_stream_return_module: `return value;` sends the value (text with stream variables) to the
// client and closes the connection. A content handler of its own, so a stream server can be served
// (and tested) without zone_sync.

import { find } from '../config/tree.ts';
import type { Module } from '../core/module.ts';
import type { StreamServer } from './types.ts';
import { streamVariables } from './variables.ts';

function server(srv: StreamServer): void {
  const entry = find(srv.block, 'return');
  if (entry === undefined) return;
  // Compiled here, not when parsed: modules' variables (keyval) exist once every init has run.
  const value = streamVariables(srv.block).compile(entry.args[0], entry);
  srv.handler = (socket, session) => {
    socket.on('error', () => socket.destroy());
    socket.end(value.evaluate(session));
  };
}

export const streamReturnModule: Module = {
  name: 'stream_return',
  directives: [{ name: 'return', contexts: ['stream_server'], args: [1] }],
  stream: { server },
};
