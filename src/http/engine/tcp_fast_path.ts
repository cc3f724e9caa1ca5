// The engine's fast path for client sockets (plain TCP and TLS), below Node's stream layer, whose per-read
// and per-write costs are most of a small request's CPU after the syscalls:
// - reads go into one buffer that every connection shares: Node's `onread` mode, which net.Server
//   does not offer for the sockets it accepts. No ArrayBuffer and no 'data' event per read; the
//   engine parses in place and copies out only the bytes it keeps past the callback.
// - on plain TCP, a write with nothing queued before it goes straight to the handle: no Writable
//   bookkeeping and no nextTick per response. Anything queued (a slow client) sends later writes
//   the usual way, behind it in libuv's queue, so the order holds. Not on TLS: a TLSWrap takes one
//   write at a time (its queue is not libuv's), which the Writable serializes for it.
// Both lean on Node internals (two symbols, `_handle`, `_writeGeneric`); where those are missing
// (another Node) sockets keep the stream API.

import type { Socket } from 'node:net';

/** Valid only during an onRead callback: the next read overwrites it. */
export const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Returns false to pause reading (as Node's onread.callback does). */
export type OnRead = (nread: number, buf: Buffer) => boolean;

interface ReadSymbols {
  buffer: symbol;
  callback: symbol;
}

interface TcpHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
  /** Bytes libuv still holds for writes that did not complete at once. */
  writeQueueSize?: number;
}

interface SocketInternals {
  _handle?: TcpHandle | null;
  _writeGeneric?: (writev: boolean, data: Buffer, encoding: string, cb: (err?: Error | null) => void) => void;
}

let symbols: ReadSymbols | null | undefined;

function findSymbols(socket: Socket): ReadSymbols | null {
  const byName = new Map(Object.getOwnPropertySymbols(socket).map((s) => [s.description, s]));
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  return buffer !== undefined && callback !== undefined ? { buffer, callback } : null;
}

/** Switches a fresh, unread client socket to the fast path; false if it cannot. */
export function readIntoSharedBuffer(socket: Socket, onRead: OnRead): boolean {
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function') return false;
  if (typeof handle.writeQueueSize !== 'number' || typeof internals._writeGeneric !== 'function')
    return false;
  // TCP and TLSWrap handles both take a user buffer (tls.connect documents `onread` too)
  if (handle.constructor.name !== 'TCP' && handle.constructor.name !== 'TLSWrap') return false;
  // a socket something else has read from (plain HTTP sniffed on an ssl port) keeps its events
  if (socket.bytesRead > 0 || socket.readableLength > 0) return false;
  symbols ??= findSymbols(socket);
  if (symbols === null) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[symbols.buffer] !== null || fields[symbols.callback] !== null) return false;
  fields[symbols.buffer] = SHARED_READ_BUFFER;
  fields[symbols.callback] = onRead;
  handle.useUserBuffer(SHARED_READ_BUFFER);
  return true;
}

/** Whether writeDirect may be used on this fast-path socket (plain TCP). */
export function writesDirectly(socket: Socket): boolean {
  return (socket as unknown as SocketInternals)._handle?.constructor.name === 'TCP';
}

/**
 * On a plain TCP fast-path socket: writes `data` (which must not change afterwards) straight to the handle
 * if nothing is queued before it, reporting errors to `done`; false when socket.write must do it.
 */
export function writeDirect(socket: Socket, data: Buffer, done: (err?: Error | null) => void): boolean {
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (
    handle == null ||
    handle.writeQueueSize !== 0 ||
    socket.writableLength !== 0 ||
    socket.writableCorked !== 0 ||
    socket.writableEnded
  ) {
    return false;
  }
  internals._writeGeneric!(false, data, 'buffer', done);
  return true;
}

/** Bytes not yet handed to the kernel, by either write path. */
export function pendingWriteBytes(socket: Socket): number {
  const handle = (socket as unknown as SocketInternals)._handle;
  return socket.writableLength + (handle?.writeQueueSize ?? 0);
}
