// The outgoing connection to one peer address: connect (from the --listen-address, within
// zone_sync_connect_timeout), the TLS handshake and the peer's certificate check when zone_sync_ssl
// is on, then the protocol (ZoneSyncNode.attach). When the connection ends it tries again after
// zone_sync_connect_retry_interval, with the protocol's jitter (docs/protocol.md §5.2); an address
// that turned out to be this node is left alone, and so is a peer already connected the other way.
import net from 'node:net';
import { errnoText } from '../../core/listening.ts';
import type { ZoneSyncConf } from './conf.ts';
import { CloseCode } from './frames.ts';
import type { ZoneSyncNode } from './node.ts';
import type { PeerConnection } from './peer_connection.ts';
import { clientHandshake } from './tls_client.ts';

export type DialerState = 'connecting' | 'connected' | 'waiting' | 'self' | 'stopped';

/** `127.0.0.2:9000`, `[::1]:9000`. */
export function addressText(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export class Dialer {
  readonly ip: string;
  readonly port: number;
  readonly address: string;
  state: DialerState = 'waiting';
  /** Why the last attempt failed, for the API. */
  lastError: string | undefined;
  /** The peer's instance, once a handshake told it. */
  peerInstance: bigint | undefined;
  /** The zone_sync_server host this address came from: the default name its certificate must have. */
  private readonly serverHost: string;
  private readonly node: ZoneSyncNode;
  private conf: ZoneSyncConf;
  /** The socket of an attempt in progress (connecting, TLS handshake). */
  private socket: net.Socket | null = null;
  private timer: NodeJS.Timeout | undefined;
  private loggedError: string | undefined;

  constructor(ip: string, port: number, serverHost: string, node: ZoneSyncNode, conf: ZoneSyncConf) {
    this.ip = ip;
    this.port = port;
    this.address = addressText(ip, port);
    this.serverHost = serverHost;
    this.node = node;
    this.conf = conf;
  }

  /** A reload with the same zone_sync directives: new TLS context and timings for the next attempt. */
  update(conf: ZoneSyncConf): void {
    this.conf = conf;
  }

  /** The first attempt, now or after `delayMs`. */
  start(delayMs = 0): void {
    if (delayMs <= 0) this.connect();
    else this.timer = setTimeout(() => this.connect(), delayMs);
  }

  /** The address left the cluster (DNS) or zone_sync stopped: no more attempts, connections closed. */
  stop(reason: string): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.node.closePeer(this.address, this.peerInstance, reason);
  }

  private connect(): void {
    if (this.state === 'stopped' || this.state === 'self') return;
    // A peer that reached us first (a node joining dials everyone before their DNS shows it) is
    // known by its HELLO's name and source address: dialing it would only make a duplicate whose
    // replacement (§5.2) restarts the snapshots both ways.
    this.peerInstance ??= this.node.instanceAt(this.ip, this.address);
    // A peer connected the other way (its connection survived, §5.2) is not dialed again until it goes.
    if (this.peerInstance !== undefined && this.node.isConnectedTo(this.peerInstance)) {
      this.retryLater();
      return;
    }
    this.state = 'connecting';
    const family = net.isIP(this.ip);
    const from = this.conf.localAddress;
    const localAddress = from !== undefined && net.isIP(from) === family ? from : undefined;
    const socket = net.connect({ host: this.ip, port: this.port, localAddress, noDelay: true });
    this.socket = socket;
    // The attempt ends once: connected, or failed (an error, the timeout, or the TLS checks).
    let over = false;
    const fail = (message: string) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      this.failed(message);
      socket.destroy();
    };
    const succeed = (connected: net.Socket) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      this.attach(connected);
    };
    const timer = setTimeout(
      () => fail(`connect() to ${this.address} timed out (110: Connection timed out)`),
      this.conf.connectTimeoutMs,
    );
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(`connect() to ${this.address} failed (${errnoText(err)})`),
    );
    socket.once('connect', () => {
      const tls = this.conf.tls;
      if (tls === null) {
        succeed(socket);
        return;
      }
      clientHandshake(socket, tls, this.serverHost, (result) => {
        if ('failure' in result) fail(`${result.failure} while SSL handshaking to peer ${this.address}`);
        else succeed(result.socket);
      });
    });
  }

  private attach(socket: net.Socket): void {
    if (this.state === 'stopped') {
      socket.destroy();
      return;
    }
    this.state = 'connected';
    this.lastError = undefined;
    this.loggedError = undefined;
    // The connection owns the socket now.
    this.socket = null;
    this.node.attach(socket, {
      outbound: true,
      address: this.address,
      onClose: (conn) => this.closed(conn),
    });
  }

  private closed(conn: PeerConnection): void {
    if (conn.hello !== undefined) this.peerInstance = conn.hello.instanceId;
    if (this.state === 'stopped') return;
    if (conn.closeCode === CloseCode.Self) {
      // Not again while DNS keeps the address: membership drops and re-adds it when that changes.
      this.state = 'self';
      return;
    }
    this.retryLater();
  }

  /** A failed attempt: logged at `error` when new, at `info` while it repeats. */
  private failed(message: string): void {
    if (this.state === 'stopped') return;
    this.socket = null;
    this.lastError = message;
    this.node.log(message === this.loggedError ? 'info' : 'error', `zone_sync: ${message}`);
    this.loggedError = message;
    this.retryLater();
  }

  private retryLater(): void {
    if (this.state === 'stopped') return;
    this.state = 'waiting';
    const interval = this.conf.connectRetryMs;
    // Not in lockstep with the rest of a restarted cluster; and a peer whose connection would win
    // the duplicate rule (it has the lower instance id) gets a head start.
    let delay = interval * (1 + Math.random() * 0.5);
    if (this.peerInstance !== undefined && this.peerInstance < this.node.instanceId)
      delay += Math.random() * interval;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
