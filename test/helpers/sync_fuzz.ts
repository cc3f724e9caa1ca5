// Generates zone_sync traffic for fuzzing: valid frames of every type (optional unknown frames and
// unknown HELLO TLVs included), and mutations of them (flipped bytes, corrupted length fields,
// truncations, splices). The codec tests drive a FrameDecoder with it; a node-level fuzz can send
// the same bytes to a live instance after `handshake()`.
import { FrameDecoder, type FrameDecoderOptions, FrameWriter } from '../../src/stream/zone_sync/codec.ts';
import { type Frame, MAX_U48 } from '../../src/stream/zone_sync/frames.ts';
import { rng } from './http_fuzz.ts';

export { rng };
export type Rand = () => number;

export const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)];

function bytes(rand: Rand, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(rand, 256);
  return out;
}

/** Lengths that like to sit on edges: 0, 1, powers of two and their neighbours. */
function edgyLength(rand: Rand, max: number): number {
  const edges = [0, 1, 2, 12, 20, 31, 32, 33, 255, 256];
  return Math.min(max, rand() < 0.7 ? pick(rand, edges) : int(rand, max + 1));
}

function wall(rand: Rand): number {
  return pick(rand, [0, 1, Date.UTC(2026, 0, 1) + int(rand, 1e6), 2 ** 32 - 1, 2 ** 32, MAX_U48]);
}

const ZONE_TYPES = ['keyval', 'sticky', 'limit_req'];

/** Preamble, HELLO and CATALOGUE, as a node opens a connection. */
export function handshake(rand: Rand, zones = 3): Uint8Array {
  const w = new FrameWriter();
  w.preamble();
  w.hello({
    instanceId: BigInt(1 + int(rand, 2 ** 48)),
    nodeId: int(rand, 0x10000),
    wall: Date.now(),
    maxFrame: 1 << 20,
    snapshotWindow: 256 * 1024,
    timeoutMs: 5000,
    nodeName: 'fuzz',
  });
  w.catalogue(
    1,
    Array.from({ length: zones }, (_, i) => ({
      index: i,
      name: `z${i}`,
      type: ZONE_TYPES[i % 3],
      version: 1,
    })),
  );
  return w.take();
}

function writeRecords(rand: Rand, w: FrameWriter, kind: 'records' | 'snapshot-chunk'): void {
  w.beginRecords(kind, int(rand, 4), rand() < 0.1 ? 64 : undefined);
  const n = 1 + int(rand, 8);
  for (let i = 0; i < n; i++) {
    const deleted = rand() < 0.2;
    const key = bytes(rand, 1 + edgyLength(rand, 300));
    const value = deleted ? new Uint8Array(0) : bytes(rand, edgyLength(rand, 2000));
    w.record(key, value, wall(rand), int(rand, 2 ** 32), rand() < 0.3 ? 0 : wall(rand), deleted);
  }
  w.endRecords();
}

/** Bytes of one frame with a TLV this build does not know, to check that it is skipped. */
function helloWithUnknownTlv(rand: Rand): Uint8Array {
  const w = new FrameWriter();
  w.hello({
    instanceId: 7n,
    nodeId: 1,
    wall: 0,
    maxFrame: 1 << 16,
    snapshotWindow: 1,
    timeoutMs: 1,
    software: 'zonesync/fuzz',
  });
  const hello = w.take();
  const tlv = bytes(rand, edgyLength(rand, 40));
  const out = new Uint8Array(hello.length + 4 + tlv.length);
  out.set(hello);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, hello.length - 5 + 4 + tlv.length, true);
  dv.setUint16(hello.length, 1000 + int(rand, 60000), true);
  dv.setUint16(hello.length + 2, tlv.length, true);
  out.set(tlv, hello.length + 4);
  return out;
}

/** One valid frame of a random type (possibly an optional one this build skips). */
export function randomFrame(rand: Rand): Uint8Array {
  const w = new FrameWriter();
  switch (int(rand, 13)) {
    case 0:
      return helloWithUnknownTlv(rand);
    case 1:
      w.catalogue(1 + int(rand, 9), [
        { index: int(rand, 0x10000), name: 'zone-é', type: pick(rand, ZONE_TYPES), version: int(rand, 3) },
      ]);
      break;
    case 2:
      w.ping(wall(rand));
      break;
    case 3:
      w.pong(wall(rand), wall(rand));
      break;
    case 4:
      w.close(int(rand, 6), 'bye');
      break;
    case 5:
    case 6:
      writeRecords(rand, w, 'records');
      break;
    case 7:
      writeRecords(rand, w, 'snapshot-chunk');
      break;
    case 8:
      w.snapshotBegin(int(rand, 4));
      break;
    case 9:
      w.snapshotEnd(int(rand, 4), int(rand, 100));
      break;
    case 10:
      w.snapshotAck(1 + int(rand, 1e6));
      break;
    case 11:
      w.caughtUp(int(rand, 5));
      break;
    default: {
      // An optional frame type (0x80-0xff) with an arbitrary body.
      const body = bytes(rand, edgyLength(rand, 100));
      const out = new Uint8Array(5 + body.length);
      new DataView(out.buffer).setUint32(0, body.length, true);
      out[4] = 0x80 + int(rand, 0x80);
      out.set(body, 5);
      return out;
    }
  }
  return w.take();
}

const EVIL_U32 = [0, 1, 4, 5, 22, 23, 24, 0x7fffffff, 0xffffffff, 1 << 20, (1 << 20) - 5];

/** A mutation of `frame`: what a buggy or hostile peer might send instead. */
export function mutate(rand: Rand, frame: Uint8Array): Uint8Array {
  const out = frame.slice();
  const dv = new DataView(out.buffer);
  switch (int(rand, 7)) {
    case 0: {
      const flips = 1 + int(rand, 4);
      for (let i = 0; i < flips; i++) out[int(rand, out.length)] ^= 1 << int(rand, 8);
      return out;
    }
    case 1:
      if (out.length >= 4) dv.setUint32(0, pick(rand, EVIL_U32), true);
      return out;
    case 2: {
      // A u16 or u32 somewhere in the body (where counts and lengths live) set to an edge value.
      if (out.length < 9) return out;
      const at = 5 + int(rand, out.length - 8);
      if (rand() < 0.5) dv.setUint16(at, pick(rand, [0, 1, 0xff, 0x100, 0xffff]), true);
      else dv.setUint32(at, pick(rand, EVIL_U32), true);
      return out;
    }
    case 3:
      return out.subarray(0, int(rand, out.length));
    case 4: {
      // Truncated with the frame length adjusted: the body itself is short.
      const cut = out.subarray(0, 5 + int(rand, Math.max(1, out.length - 5)));
      if (cut.length >= 4) new DataView(cut.buffer, cut.byteOffset).setUint32(0, cut.length - 5, true);
      return cut;
    }
    case 5:
      out[4] = int(rand, 256);
      return out;
    default: {
      const at = int(rand, out.length + 1);
      const junk = bytes(rand, 1 + int(rand, 8));
      const spliced = new Uint8Array(out.length + junk.length);
      spliced.set(out.subarray(0, at));
      spliced.set(junk, at);
      spliced.set(out.subarray(at), at + junk.length);
      return spliced;
    }
  }
}

/** Cut `data` into 1..8 chunks at random places, as a socket might deliver it. */
export function randomChunks(rand: Rand, data: Uint8Array): Uint8Array[] {
  const cuts = Array.from({ length: int(rand, 8) }, () => int(rand, data.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, data.length]) {
    chunks.push(data.subarray(prev, c));
    prev = c;
  }
  return chunks;
}

/** Decode a whole stream delivered as `chunks`; throws what the decoder throws, end() included. */
export function decodeAll(chunks: readonly Uint8Array[], options?: FrameDecoderOptions): Frame[] {
  const decoder = new FrameDecoder(options);
  const frames: Frame[] = [];
  for (const chunk of chunks) for (const frame of decoder.push(chunk)) frames.push(frame);
  decoder.end();
  return frames;
}

/** A frame as plain data (records' bytes as hex), for deepEqual. */
export function plain(frame: Frame): unknown {
  if (frame.type !== 'records' && frame.type !== 'snapshot-chunk') return { ...frame };
  return {
    ...frame,
    records: [...frame.records].map((r) => ({
      key: Buffer.from(r.key).toString('hex'),
      value: Buffer.from(r.value).toString('hex'),
      wall: r.wall,
      logical: r.logical,
      expireAt: r.expireAt,
      deleted: r.deleted,
    })),
  };
}
