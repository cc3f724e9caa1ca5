// Small upstream servers for proxy tests, on 127.0.0.1 ephemeral ports: an HTTP one that records
// what it received (raw head, body, which connection) and a raw TCP one for malformed answers.
import http from 'node:http';
import net from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  /** Header lines as received, in order. */
  readonly rawHeaders: [string, string][];
  readonly body: Buffer;
  /** Serial number of the TCP connection it came on (1-based). */
  readonly connection: number;
}

export type Handler = (req: SeenRequest, res: http.ServerResponse) => void;

export interface Backend {
  readonly port: number;
  readonly seen: SeenRequest[];
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  /** TCP connections open now (httpBackend only). */
  readonly open?: () => number;
  close(): Promise<void>;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** An HTTP backend; the default handler answers 200 with `name` as the body. */
export async function httpBackend(name: string, handler?: Handler): Promise<Backend> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const serials = new WeakMap<net.Socket, number>();
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawHeaders: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      const rec: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        rawHeaders,
        body: Buffer.concat(chunks),
        connection: serials.get(req.socket) ?? 0,
      };
      seen.push(rec);
      if (handler) handler(rec, res);
      else res.end(name);
    });
  });
  server.on('connection', (s: net.Socket) => {
    serials.set(s, ++accepted);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    port,
    seen,
    connections: () => accepted,
    open: () => sockets.size,
    close: closer(server, sockets),
  };
}

/** A TCP backend that answers every connection with `onConnection` (raw bytes, delays, resets). */
export async function rawBackend(
  onConnection: (socket: net.Socket, serial: number) => void,
): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s, ++accepted);
  });
  const port = await listen(server);
  return { port, seen: [], connections: () => accepted, close: closer(server, sockets) };
}

/** A port with nothing listening on 127.0.0.1 (connect() is refused). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}
