// A socket's outgoing bytes, client or upstream. A small write made while nothing else is queued
// waits for the end of the event loop's I/O phase and then leaves with the other sockets' writes,
// back to back (plain TCP: one write() each, below the stream layer; TLS: the socket's own write).
//
// Why: each loopback write() to a peer that is asleep waking it costs more kernel time than the
// write itself (on this 2-vCPU VM a cross-CPU wake-up is an IPI, a VM exit). Written one by one
// between the requests of a busy turn, the writes find their peers asleep again each time;
// written together, most find them awake. Measured with wrk -c64 (docs/benchmarks.md): holding
// responses took return 200 from 15-31 µs of CPU per request (the rate swinging between 32k and
// 64k/s) to a steady 16-21 µs, a TLS listener from 53 to 38 µs; holding the requests a proxy
// sends upstream as well took a proxied request's CPU down by another 13-20 %.
// The delay is the rest of the turn's callbacks (microseconds under load, nothing when idle).
//
// Order holds: any other write on the socket (a second piece of a response, 100 Continue, the
// FIN) first sends what is held.

import type { Socket } from 'node:net';
import { pendingWriteBytes, writeDirect } from './tcp_fast_path.ts';

/** Writes up to this size may be held (a head and a small body, copied into one buffer). */
const HOLD_LIMIT = 16 * 1024;

const held: HeldOutput[] = [];
let flushScheduled = false;

function flushHeld(): void {
  flushScheduled = false;
  for (let i = 0; i < held.length; i++) held[i]!.flush();
  held.length = 0;
}

export class HeldOutput {
  private readonly socket: Socket;
  /** Plain TCP on the fast path: writes may bypass the stream layer (tcp_fast_path.ts). */
  private readonly direct: boolean;
  /** What a failed write does to the socket (a client's is just closed). */
  private readonly fail: (err: Error) => void;
  private pending: Buffer | null = null;
  private pendingWritten: (() => void) | null = null;
  private readonly afterDirectWrite = (err?: Error | null): void => {
    if (err) this.fail(err);
  };

  constructor(socket: Socket, direct: boolean, fail: (err: Error) => void) {
    this.socket = socket;
    this.direct = direct;
    this.fail = fail;
  }

  /**
   * Write bytes that will not change afterwards; `written` runs once the kernel has them. False
   * asks the caller to wait for 'drain'.
   */
  send(data: Buffer, written?: () => void): boolean {
    if (this.pending !== null) this.flush();
    else if (data.length <= HOLD_LIMIT && this.idle()) {
      this.pending = data;
      this.pendingWritten = written ?? null;
      held.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushHeld);
      }
      return true;
    }
    return this.write(data, written ?? null);
  }

  /** Send what is held now (before any other write, the FIN, or handing the socket over). */
  flush(): void {
    const data = this.pending;
    if (data === null) return;
    const written = this.pendingWritten;
    this.pending = null;
    this.pendingWritten = null;
    if (!this.socket.destroyed) this.write(data, written);
  }

  /** The socket is gone: what is held is dropped. */
  drop(): void {
    this.pending = null;
    this.pendingWritten = null;
  }

  /** Bytes not yet handed to the kernel, held ones included. */
  get backlog(): number {
    return (this.pending?.length ?? 0) + pendingWriteBytes(this.socket);
  }

  private write(data: Buffer, written: (() => void) | null): boolean {
    const done =
      written === null ? this.afterDirectWrite : (err?: Error | null) => (err ? this.fail(err) : written());
    if (this.direct && writeDirect(this.socket, data, done)) return true;
    return written === null ? this.socket.write(data) : this.socket.write(data, done);
  }

  private idle(): boolean {
    return this.socket.writableCorked === 0 && pendingWriteBytes(this.socket) === 0;
  }
}
