// The runner's control channel: a unix socket at PREFIX/nodes/cluster.sock. A command is one JSON
// line from the client; the runner answers with JSON lines `{"out": text}` (or `"err"`) while it
// works, then `{"exit": code}`, and closes. `zonesync cluster scale|reload|status|stop` are clients.
import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export type ControlRequest =
  | { readonly cmd: 'scale'; readonly nodes: number }
  | { readonly cmd: 'reload'; readonly conf?: string }
  | { readonly cmd: 'status' }
  | { readonly cmd: 'stop' };

/** What a command handler writes to its client. */
export interface Reply {
  out(line: string): void;
  err(line: string): void;
}

export type ControlHandler = (request: ControlRequest, reply: Reply) => Promise<number>;

export function controlPath(prefix: string): string {
  return path.join(prefix, 'nodes', 'cluster.sock');
}

/** Whether something answers at `socketPath`. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Listen at `socketPath`; a socket left by a runner that died is replaced, a live one refused. */
export async function serveControl(socketPath: string, handler: ControlHandler): Promise<net.Server> {
  mkdirSync(path.dirname(socketPath), { recursive: true });
  if (existsSync(socketPath)) {
    if (await answers(socketPath)) throw new Error(`a cluster is already running (${socketPath})`);
    unlinkSync(socketPath);
  }
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    const send = (message: object) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
    };
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      socket.removeAllListeners('data');
      let request: ControlRequest;
      try {
        request = JSON.parse(buffered.slice(0, newline)) as ControlRequest;
      } catch {
        send({ err: 'malformed control request' });
        socket.end(`${JSON.stringify({ exit: 1 })}\n`);
        return;
      }
      const reply: Reply = { out: (text) => send({ out: text }), err: (text) => send({ err: text }) };
      handler(request, reply).then(
        (code) => socket.end(`${JSON.stringify({ exit: code })}\n`),
        (e: Error) => {
          send({ err: e.message });
          socket.end(`${JSON.stringify({ exit: 1 })}\n`);
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

/** Send `request` to the runner at `socketPath`; prints its answer and resolves to its exit code. */
export function sendControl(socketPath: string, request: ControlRequest, reply: Reply): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    let buffered = '';
    let code = 1;
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, nl)) as { out?: string; err?: string; exit?: number };
        buffered = buffered.slice(nl + 1);
        if (message.out !== undefined) reply.out(message.out);
        if (message.err !== undefined) reply.err(message.err);
        if (message.exit !== undefined) code = message.exit;
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const missing = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
      reply.err(missing ? `no cluster is running (${socketPath})` : `${socketPath}: ${e.message}`);
      resolve(1);
    });
    socket.on('close', (hadError) => {
      if (!hadError) resolve(code);
    });
  });
}
