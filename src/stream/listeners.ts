// Stream listening sockets and their hand-over across reloads (the same ListeningSockets as
// HTTP's): each connection goes to the default server of its address in the cycle current when
// it arrives. On an `ssl` address the TLS handshake and the client certificate check come first,
// as in ngx_stream_ssl_handler: a client that fails them is logged and closed, never handed to
// the server's handler.
import type { Socket } from 'node:net';
import type { ErrorLog, Level } from '../core/error_log.ts';
import { bindKey, forLocalAddress, ListeningSockets, nextConnectionId } from '../core/listening.ts';
import { serverHandshake } from '../http/tls/accept.ts';
import { clientCertFailure } from '../http/tls/verify.ts';
import type { StreamListenGroup, StreamRuntime } from './build.ts';
import { streamSslConfOf } from './ssl_module.ts';
import type { StreamSession } from './types.ts';

const NOTHING_READ = Buffer.alloc(0);

function stripMapped(addr: string | undefined): string {
  return addr?.startsWith('::ffff:') ? addr.slice(7) : (addr ?? '');
}

export class StreamListeners {
  private readonly sockets = new ListeningSockets(
    (socket) => this.accept(socket),
    () => this.log,
  );
  private groups = new Map<string, StreamListenGroup>();
  private log: ErrorLog;

  constructor(log: ErrorLog) {
    this.log = log;
  }

  /** Bind everything `runtime` needs that is not bound yet; throws nginx's bind() error. */
  bind(runtime: StreamRuntime): Promise<void> {
    return this.sockets.bind(runtime.groups);
  }

  /** Switch to `runtime` (null: a cycle without `stream`): new connections use it. */
  activate(runtime: StreamRuntime | null, log: ErrorLog): void {
    this.log = log;
    const groups = runtime?.groups ?? [];
    this.groups = new Map(groups.map((g) => [bindKey(g.host, g.port), g]));
    this.sockets.retain(groups);
  }

  close(graceful: boolean): Promise<void> {
    return this.sockets.close(graceful);
  }

  private accept(socket: Socket): void {
    const group = forLocalAddress(this.groups, socket.localAddress ?? '', socket.localPort ?? 0);
    if (group === undefined) {
      socket.destroy();
      return;
    }
    // A reset or a write after the peer left must not throw: the handler sees 'close'.
    socket.on('error', () => socket.destroy());
    const server = group.defaultServer;
    const handler = server.handler!;
    const log = this.log;
    const id = nextConnectionId();
    const remoteAddress = stripMapped(socket.remoteAddress);
    const remotePort = socket.remotePort ?? 0;
    const peer = remoteAddress.includes(':')
      ? `[${remoteAddress}]:${remotePort}`
      : `${remoteAddress}:${remotePort}`;
    log.log('info', `client ${peer} connected to ${group.text}`, id);
    const logFor = (level: Level, message: string) =>
      log.log(level, `${message}, client: ${remoteAddress}, server: ${group.text}`, id);
    const session = (clientCertificate: StreamSession['clientCertificate'], tls: boolean): StreamSession => ({
      id,
      remoteAddress,
      remotePort,
      localAddress: stripMapped(socket.localAddress),
      localPort: socket.localPort ?? 0,
      server,
      clientCertificate,
      tls,
      log: logFor,
    });
    if (!group.ssl) {
      handler(socket, session(null, false));
      return;
    }
    const conf = streamSslConfOf(server);
    const handshaking = (message: string) => logFor('info', `${message} while SSL handshaking`);
    // ssl_handshake_timeout: nginx closes a client that does not finish in time, silently.
    const timer = setTimeout(() => socket.destroy(), conf.handshakeTimeout);
    socket.once('close', () => clearTimeout(timer));
    const usable = conf.context !== null && !conf.rejectHandshake ? { ...conf, context: conf.context } : null;
    serverHandshake(socket, NOTHING_READ, usable, undefined, handshaking, (tls, verify) => {
      clearTimeout(timer);
      const failure = clientCertFailure(conf.verify, verify);
      if (failure !== null) {
        handshaking(failure.message);
        tls.destroy();
        return;
      }
      tls.on('error', () => tls.destroy());
      handler(tls, session(verify.cert, true));
    });
  }
}
