// After a 101 Switching Protocols both sockets carry opaque bytes (WebSocket and the like), as
// nginx's ngx_http_upstream_upgrade does: each side's data goes to the other, with back-pressure,
// until either closes or nothing moves for proxy_read_timeout.
import type { Socket } from 'node:net';
import type { ConnectionOwner, UpstreamConnection } from '../engine/upstream_pool.ts';

/** Join `client` and `upstream`; the buffers are bytes each side sent before the switch. */
export function tunnel(
  client: Socket,
  upstream: UpstreamConnection,
  toUpstream: Buffer,
  toClient: Buffer,
  idleMs: number,
): void {
  const up = upstream.socket;
  const closeBoth = (): void => {
    client.destroy();
    upstream.close();
  };
  const owner: ConnectionOwner = {
    onConnect: () => {},
    onData: (_c, data) => {
      upstream.retain();
      if (!client.write(data)) {
        up.pause();
        client.once('drain', () => up.resume());
      }
    },
    onEnd: () => client.end(),
    onError: closeBoth,
    onTimeout: closeBoth,
  };
  upstream.owner = owner;
  upstream.setTimeout(idleMs);
  client.on('data', (data: Buffer) => {
    upstream.setTimeout(idleMs);
    if (!up.write(data)) {
      client.pause();
      up.once('drain', () => client.resume());
    }
  });
  client.on('end', () => up.end());
  client.on('close', closeBoth);
  client.on('error', closeBoth);
  up.on('close', closeBoth);
  if (toUpstream.length > 0) up.write(toUpstream);
  if (toClient.length > 0) client.write(toClient);
}
