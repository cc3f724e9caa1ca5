// The engine's fast path for client sockets (plain TCP and TLS), below Node's stream layer, whose per-read
// and per-write costs are most of a small request's CPU after the syscalls:
// - reads go into one buffer that every connection shares: Node's `onread` mode, which net.Server
//   does not offer for the sockets it accepts. No ArrayBuffer and no 'data' event per read; the
//   engine parses in place and copies out only the bytes it keeps past the callback.
// - on plain TCP, a write with nothing queued before it goes straight to the handle: no Writable
//   bookkeeping and no nextTick per response. Anything queued (a slow client) sends later writes
//   the usual way, behind it in libuv's queue, so the order holds. Not on TLS: a TLSWrap takes one
//   write at a time (its queue is not libuv's), which the Writable serializes for it.
// - on plain TCP, each read goes from the handle to the engine without Node's onStreamRead (a
//   timer refresh and a buffer-generator call per read, for features these sockets do not use);
//   the end of the stream and errors still go through Node.
// - such a write hands the handle a request object that is reused while writes complete at once
//   (nearly all of them): Node makes a new WriteWrap, a native-backed object, per write.
// All lean on Node internals (two symbols, `_handle`, `_writeGeneric`, the stream_wrap binding);
// where those are missing (another Node) sockets keep the stream API or Node's write path.

import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

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
  /** Called by the native side per read, the byte count (or error) in streamBaseState. */
  onread?: (this: TcpHandle, arrayBuffer: unknown) => unknown;
  /** Bytes libuv still holds for writes that did not complete at once. */
  writeQueueSize?: number;
  /** Returns 0 or a negative errno; streamBaseState says whether the write completed. */
  writeBuffer?: (req: WriteRequest, data: Buffer) => number;
}

type WriteDone = (err?: Error | null) => void;

/** A WriteWrap as Node's stream_base_commons fills it. */
interface WriteRequest {
  oncomplete: (this: WriteRequest, status: number) => void;
  callback: WriteDone | null;
  /** Keeps the bytes alive while libuv writes them. */
  buffer: Buffer | null;
  /** Set by the native side on a failed asynchronous write. */
  error?: string;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kReadBytesOrError: number;
}

interface SocketInternals {
  _handle?: TcpHandle | null;
  _writeGeneric?: (writev: boolean, data: Buffer, encoding: string, cb: WriteDone) => void;
}

let symbols: ReadSymbols | null | undefined;

const streamWrap = loadStreamWrap();
/** A request object whose last write completed at once: free for the next one. */
let spareRequest: WriteRequest | null = null;

function loadStreamWrap(): StreamWrapBinding | null {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding(
      'stream_wrap',
    );
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding;
    if (typeof WriteWrap !== 'function' || !(streamBaseState instanceof Int32Array)) return null;
    const known = typeof kLastWriteWasAsync === 'number' && typeof binding.kReadBytesOrError === 'number';
    return known ? (binding as StreamWrapBinding) : null;
  } catch {
    return null;
  }
}

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
  readDirectly(socket, (nread) => {
    if (!onRead(nread, SHARED_READ_BUFFER)) socket.pause();
    return undefined;
  });
  return true;
}

/**
 * On a plain TCP socket reading into a buffer of its own (`onread`), whose reads no socket
 * timeout watches: each read's byte count goes to `onRead` at once, which returns the buffer the
 * next read goes to (undefined: the same one). False where Node's internals differ.
 */
export function readDirectly(socket: Socket, onRead: (nread: number) => Uint8Array | undefined): boolean {
  const handle = (socket as unknown as SocketInternals)._handle;
  const nodeOnRead = handle?.onread;
  if (streamWrap === null || handle == null || typeof nodeOnRead !== 'function') return false;
  if (handle.constructor.name !== 'TCP') return false;
  const state = streamWrap.streamBaseState;
  const nreadAt = streamWrap.kReadBytesOrError;
  handle.onread = function (this: TcpHandle, arrayBuffer: unknown): unknown {
    const nread = state[nreadAt]!;
    if (nread > 0 && !socket.destroyed) return onRead(nread);
    return nodeOnRead.call(this, arrayBuffer);
  };
  return true;
}

/** Whether writeDirect may be used on this fast-path socket (plain TCP). */
export function writesDirectly(socket: Socket): boolean {
  return (socket as unknown as SocketInternals)._handle?.constructor.name === 'TCP';
}

/**
 * On a plain TCP fast-path socket: writes `data` (which must not change afterwards) straight to the handle
 * if nothing is queued before it, reporting the outcome to `done` (at once when the kernel took
 * it all, as Node does); false when socket.write must do it.
 */
export function writeDirect(socket: Socket, data: Buffer, done: WriteDone): boolean {
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
  if (streamWrap === null || socket.connecting || typeof handle.writeBuffer !== 'function') {
    internals._writeGeneric!(false, data, 'buffer', done);
    return true;
  }
  const req = spareRequest ?? newWriteRequest(streamWrap);
  spareRequest = null;
  const err = handle.writeBuffer(req, data);
  if (streamWrap.streamBaseState[streamWrap.kLastWriteWasAsync] !== 0) {
    // libuv holds the write: this object is the native request's now, until onWriteDone
    req.buffer = data;
    req.callback = done;
    return true;
  }
  spareRequest = req;
  if (err !== 0) done(writeError(err, undefined));
  else done();
  return true;
}

function newWriteRequest(binding: StreamWrapBinding): WriteRequest {
  const req = new binding.WriteWrap();
  req.oncomplete = onWriteDone;
  req.callback = null;
  req.buffer = null;
  return req;
}

function onWriteDone(this: WriteRequest, status: number): void {
  const done = this.callback;
  this.callback = null;
  this.buffer = null;
  done?.(status < 0 ? writeError(status, this.error) : null);
}

/** The error Node's own write path gives (code, errno, syscall 'write'). */
function writeError(errno: number, detail: string | undefined): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const err: NodeJS.ErrnoException = new Error(`write ${code}${detail ? ` ${detail}` : ''}`);
  err.errno = errno;
  err.code = code;
  err.syscall = 'write';
  return err;
}

/** Bytes not yet handed to the kernel, by either write path. */
export function pendingWriteBytes(socket: Socket): number {
  const handle = (socket as unknown as SocketInternals)._handle;
  return socket.writableLength + (handle?.writeQueueSize ?? 0);
}
