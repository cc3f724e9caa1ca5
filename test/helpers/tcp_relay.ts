// A TCP relay on loopback for partition tests: it forwards every connection it accepts to one
// target. `cut()` destroys every relayed connection and refuses new ones (they are accepted and
// reset at once, as a dropped link looks to a peer that keeps retrying); `restore()` relays again.
// Point one node's `zone_sync_server` at the relay to put that link under the test's control.
import net from 'node:net';

export interface RelayOptions {
  /** Where the relay listens (default 127.0.0.1); port 0 (default) lets the kernel pick. */
  readonly host?: string;
  readonly port?: number;
  readonly target: { readonly host: string; readonly port: number };
}

export interface TcpRelay {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as a `zone_sync_server` line takes it. */
  readonly address: string;
  /** Whether the link is cut. */
  readonly isCut: boolean;
  /** Connections relayed so far (accepted while not cut). */
  accepted(): number;
  /** Connections open right now. */
  open(): number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<TcpRelay> {
  const host = options.host ?? '127.0.0.1';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let cut = false;
  let accepted = 0;

  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = net.connect({ host: options.target.host, port: options.target.port });
    upstream.on('error', () => {});
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    host,
    port,
    address: `${host}:${port}`,
    get isCut() {
      return cut;
    },
    accepted: () => accepted,
    open: () => pairs.size,
    cut() {
      cut = true;
      // A reset on both sides, as a link that dies: no orderly FIN the peers could read as a CLOSE.
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut = true;
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
