// Plain TCP client sockets read into one buffer that every connection shares: Node's `onread`
// mode, which net.Server does not offer for the sockets it accepts. It saves an ArrayBuffer and a
// stream 'data' event per read, the largest per-request cost of the engine after the syscalls.
// The engine parses in place and copies out only the bytes it keeps past the callback.
// Node keeps the mode behind two internal symbols; where they are missing (another Node) the
// socket stays on 'data' events.

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
}

let symbols: ReadSymbols | null | undefined;

function findSymbols(socket: Socket): ReadSymbols | null {
  const byName = new Map(Object.getOwnPropertySymbols(socket).map((s) => [s.description, s]));
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  return buffer !== undefined && callback !== undefined ? { buffer, callback } : null;
}

/** Switches a fresh, unread plain TCP socket to the shared buffer; false if it cannot. */
export function readIntoSharedBuffer(socket: Socket, onRead: OnRead): boolean {
  const handle = (socket as unknown as { _handle?: TcpHandle | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function') return false;
  if (handle.constructor.name !== 'TCP') return false;
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
