// A client connection's outgoing bytes. A small response written while nothing else is queued
// waits for the end of the event loop's I/O phase and then leaves with the other connections'
// responses, back to back (plain TCP: one write() each, below the stream layer; TLS: the socket's
// own write).
//
// Why: each loopback write() to a client that is asleep waking it costs more kernel time than the
// write itself (on this 2-vCPU VM a cross-CPU wake-up is an IPI, a VM exit). Written one by one
// between the requests of a busy turn, the responses find their clients asleep again each time;
// written together, most find them awake. Measured with wrk -c64 (docs/benchmarks.md): return 200
// went from 15-31 µs of CPU per request (the rate swinging between 32k and 64k/s) to a steady
// 16-21 µs; a TLS listener from 53 to 38 µs.
// The delay is the rest of the turn's callbacks (microseconds under load, nothing when idle).
//
// Order holds: any other write on the connection (a second piece of a response, 100 Continue, the
// FIN) first sends what is held.

import type { Socket } from 'node:net';
import { pendingWriteBytes, writeDirect } from './tcp_fast_path.ts';

/** Responses up to this size may be held (a head and a small body, copied into one buffer). */
const HOLD_LIMIT = 16 * 1024;

const held: ClientOutput[] = [];
let flushScheduled = false;

function flushHeld(): void {
  flushScheduled = false;
  for (let i = 0; i < held.length; i++) held[i]!.flush();
  held.length = 0;
}

export class ClientOutput {
  private readonly socket: Socket;
  /** Plain TCP on the fast path: writes may bypass the stream layer (tcp_fast_path.ts). */
  private readonly direct: boolean;
  private pending: Buffer | null = null;
  private readonly afterDirectWrite = (err?: Error | null): void => {
    if (err) this.socket.destroy();
  };

  constructor(socket: Socket, direct: boolean) {
    this.socket = socket;
    this.direct = direct;
  }

  /** Write bytes that will not change afterwards; false asks the caller to wait for 'drain'. */
  send(data: Buffer): boolean {
    if (this.pending !== null) this.flush();
    else if (data.length <= HOLD_LIMIT && this.idle()) {
      this.pending = data;
      held.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushHeld);
      }
      return true;
    }
    if (this.direct && writeDirect(this.socket, data, this.afterDirectWrite)) return true;
    return this.socket.write(data);
  }

  /** Send what is held now (before any other write, the FIN, or handing the socket over). */
  flush(): void {
    const data = this.pending;
    if (data === null) return;
    this.pending = null;
    if (this.socket.destroyed) return;
    if (!this.direct || !writeDirect(this.socket, data, this.afterDirectWrite)) this.socket.write(data);
  }

  /** The connection is gone: what is held is dropped. */
  drop(): void {
    this.pending = null;
  }

  /** Bytes not yet handed to the kernel, held ones included. */
  get backlog(): number {
    return (this.pending?.length ?? 0) + pendingWriteBytes(this.socket);
  }

  private idle(): boolean {
    return this.socket.writableCorked === 0 && pendingWriteBytes(this.socket) === 0;
  }
}
