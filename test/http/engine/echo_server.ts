// A loopback server whose connections go to the engine's Connection with a handler that echoes the
// parsed request as JSON, for the engine tests. Also a raw socket client.

import net from 'node:net';
import { Connection } from '../../../src/http/engine/connection.ts';
import {
  type ConnectionInfo,
  type EngineLimits,
  HttpError,
  type RequestHandler,
} from '../../../src/http/engine/types.ts';

export const DEFAULT_LIMITS: EngineLimits = {
  clientHeaderTimeout: 5000,
  clientBodyTimeout: 5000,
  keepaliveTimeout: 5000,
  keepaliveRequests: 1000,
  clientHeaderBufferSize: 1024,
  largeHeaderBuffers: 4,
  largeHeaderBufferSize: 8192,
  lingeringTimeout: 1000,
};

export interface BadRequestRecord {
  status: number;
  reason: string;
}

export interface EchoServer {
  port: number;
  badRequests: BadRequestRecord[];
  close(): Promise<void>;
}

const HEADERS = ['Server', 'test', 'Content-Type', 'application/json'];

export async function startEchoServer(
  overrides: Partial<EngineLimits> = {},
  bodyLimit = 1 << 20,
): Promise<EchoServer> {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  const badRequests: BadRequestRecord[] = [];
  const handler: RequestHandler = {
    request: (req, body, res, conn) => {
      body.readAll(bodyLimit).then(
        (data) => {
          const echo = {
            method: req.method,
            target: req.target,
            path: req.path,
            query: req.query,
            version: req.version,
            host: req.host,
            names: req.names,
            values: req.values,
            body: data.toString('latin1'),
            requests: conn.requests,
          };
          res.send(200, HEADERS, JSON.stringify(echo));
        },
        (err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500;
          if (status === 408) res.destroy();
          else res.send(status, HEADERS, `{"error":${status}}`);
        },
      );
    },
    badRequest: (status, reason, res) => {
      badRequests.push({ status, reason });
      if (res.finished || status === 408) {
        res.destroy();
        return;
      }
      res.send(status === 494 ? 400 : status, HEADERS, `{"error":${status}}`);
    },
  };
  let serial = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const info: ConnectionInfo = {
      id: ++serial,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
      tls: false,
      servername: undefined,
      requests: 0,
    };
    new Connection(socket, limits, handler, info);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    badRequests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Exchange {
  data: Buffer;
  /** Whether the server closed the connection (rather than the read timing out). */
  closed: boolean;
  /** Milliseconds from the first write until close or timeout. */
  elapsed: number;
}

/**
 * Writes `parts` (with `gapMs` between them) and reads until the server closes or stays quiet
 * for `idleMs`. The client never half-closes unless `end` is set.
 */
export function exchange(
  port: number,
  parts: (string | Buffer)[],
  opts: { idleMs?: number; gapMs?: number; end?: boolean; until?: (data: Buffer) => boolean } = {},
): Promise<Exchange> {
  const idleMs = opts.idleMs ?? 300;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed, elapsed: Date.now() - started });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), idleMs);
    };
    socket.on('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (!socket.destroyed) socket.write(parts[i]!);
      }
      if (opts.end) socket.end();
      arm();
    });
    socket.on('data', (d) => {
      chunks.push(d);
      if (opts.until?.(Buffer.concat(chunks))) finish(false);
      else arm();
    });
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
  });
}
