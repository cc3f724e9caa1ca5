// The zone_sync codec (docs/protocol.md): FrameWriter encodes, FrameDecoder turns socket chunks into
// typed frames. The decoder checks each frame's length against its limit as soon as the 4 length
// bytes are in, buffers at most one frame (allocated at its checked size, never from a length it
// has not checked), parses frames lying whole in a chunk in place, and throws ProtocolError at the
// first violation; after that it refuses every further chunk, as the connection is closing.
import { parseFrame, u32 } from './frame_parser.ts';
import {
  DEFAULT_MAX_FRAME,
  FIRST_OPTIONAL_TYPE,
  FRAME_HEADER_BYTES,
  type Frame,
  FrameType,
  MAGIC,
  MAX_MAX_FRAME,
  MAX_VERSION,
  MIN_MAX_FRAME,
  MIN_VERSION,
  negotiateVersion,
  PREAMBLE_BYTES,
  type Preamble,
  ProtocolError,
} from './frames.ts';

export { RecordCursor, WireRecords } from './frame_parser.ts';
export { FrameWriter, type FrameWriterOptions } from './frame_writer.ts';
export * from './frames.ts';

const CORE_TYPES = new Set<number>(Object.values(FrameType));

export interface FrameDecoderOptions {
  /** Largest frame accepted (this node's HELLO maxFrame). Default 1 MiB. */
  readonly maxFrame?: number;
  /** Protocol versions this side speaks; default: the build's. */
  readonly minVersion?: number;
  readonly maxVersion?: number;
}

export class FrameDecoder {
  readonly maxFrame: number;
  /** The negotiated version, once the peer's preamble is in. */
  version: number | undefined;
  private readonly minVersion: number;
  private readonly maxVersion: number;
  /** A preamble or frame header split across chunks. */
  private readonly head = new Uint8Array(PREAMBLE_BYTES);
  private headLength = 0;
  /** A frame split across chunks, allocated at its full (checked) size, and how much is in. */
  private frame: Uint8Array | undefined;
  private filled = 0;
  /** Bytes of an unknown optional frame still to be skipped. */
  private skip = 0;
  private failure: ProtocolError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!(maxFrame >= MIN_MAX_FRAME && maxFrame <= MAX_MAX_FRAME)) {
      throw new RangeError(`maxFrame must be within ${MIN_MAX_FRAME}..${MAX_MAX_FRAME}`);
    }
    this.maxFrame = maxFrame;
    this.minVersion = options.minVersion ?? MIN_VERSION;
    this.maxVersion = options.maxVersion ?? MAX_VERSION;
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.frame ? this.filled : this.headLength;
  }

  /**
   * Feed one chunk; yields the frames it completes, in order, the preamble first. A frame that
   * violates the protocol throws ProtocolError after the frames before it were yielded. Iterate to
   * the end (the chunk is consumed as the iteration goes).
   */
  *push(chunk: Uint8Array): Generator<Frame> {
    if (this.failure) throw this.failure;
    try {
      let o = 0;
      if (this.version === undefined) {
        o = this.readPreamble(chunk);
        if (this.version === undefined) return;
        yield this.preamble();
      }
      const n = chunk.length;
      while (o < n) {
        if (this.skip > 0) {
          const k = Math.min(this.skip, n - o);
          this.skip -= k;
          o += k;
        } else if (this.frame !== undefined) {
          const frame = this.frame;
          const k = Math.min(frame.length - this.filled, n - o);
          frame.set(chunk.subarray(o, o + k), this.filled);
          this.filled += k;
          o += k;
          if (this.filled < frame.length) return;
          this.frame = undefined;
          yield parseFrame(frame[4], frame, FRAME_HEADER_BYTES, frame.length, frame.length);
        } else if (this.headLength > 0 || n - o < FRAME_HEADER_BYTES) {
          const k = Math.min(FRAME_HEADER_BYTES - this.headLength, n - o);
          this.head.set(chunk.subarray(o, o + k), this.headLength);
          this.headLength += k;
          o += k;
          if (this.headLength < FRAME_HEADER_BYTES) return;
          this.headLength = 0;
          const total = this.checkHeader(this.head, 0);
          if (total === 0) continue;
          if (total === FRAME_HEADER_BYTES) {
            // An empty body: the header completes the frame.
            yield parseFrame(this.head[4], this.head, total, total, total);
            continue;
          }
          this.frame = new Uint8Array(total);
          this.frame.set(this.head.subarray(0, FRAME_HEADER_BYTES));
          this.filled = FRAME_HEADER_BYTES;
        } else {
          const total = this.checkHeader(chunk, o);
          if (total === 0) {
            o += FRAME_HEADER_BYTES;
          } else if (n - o >= total) {
            // The whole frame is in this chunk: parse it in place, no copy.
            const frame = parseFrame(chunk[o + 4], chunk, o + FRAME_HEADER_BYTES, o + total, total);
            o += total;
            yield frame;
          } else {
            this.frame = new Uint8Array(total);
            this.frame.set(chunk.subarray(o));
            this.filled = n - o;
            return;
          }
        }
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }

  /** The peer closed: an error if it stopped in the middle of the preamble or a frame. */
  end(): void {
    if (this.failure) return;
    if (this.version === undefined && this.headLength > 0) {
      throw (this.failure = new ProtocolError(
        `connection closed after ${this.headLength} of ${PREAMBLE_BYTES} bytes of the preamble`,
      ));
    }
    const inFrame = this.frame !== undefined || this.headLength > 0 || this.skip > 0;
    if (!inFrame) return;
    const got = this.frame ? `${this.filled} of ${this.frame.length} bytes` : `${this.headLength} bytes`;
    throw (this.failure = new ProtocolError(`connection closed after ${got} of a frame`));
  }

  /**
   * Check a frame header at `b[o]`: its size against the limit and its type. Returns the frame's
   * whole size, or 0 for an unknown optional frame (its body is skipped).
   */
  private checkHeader(b: Uint8Array, o: number): number {
    const body = u32(b, o);
    const type = b[o + 4];
    if (body > this.maxFrame - FRAME_HEADER_BYTES) {
      throw new ProtocolError(
        `frame of ${body + FRAME_HEADER_BYTES} bytes exceeds the limit of ${this.maxFrame} bytes`,
      );
    }
    if (CORE_TYPES.has(type)) return FRAME_HEADER_BYTES + body;
    if (type < FIRST_OPTIONAL_TYPE) throw new ProtocolError(`unknown frame type 0x${type.toString(16)}`);
    this.skip = body;
    return 0;
  }

  /** Consume preamble bytes; a wrong magic byte fails at once, not after 8 bytes. */
  private readPreamble(chunk: Uint8Array): number {
    let o = 0;
    while (this.headLength < PREAMBLE_BYTES && o < chunk.length) {
      const byte = chunk[o++];
      if (this.headLength < MAGIC.length && byte !== MAGIC[this.headLength]) {
        throw new ProtocolError(notZoneSync(this.headLength, byte));
      }
      this.head[this.headLength++] = byte;
    }
    if (this.headLength < PREAMBLE_BYTES) return o;
    this.headLength = 0;
    const peerMin = this.head[4];
    const peerMax = this.head[5];
    const version = negotiateVersion(this.minVersion, this.maxVersion, peerMin, peerMax);
    if (version === undefined) {
      throw new ProtocolError(
        `peer speaks protocol versions ${peerMin}..${peerMax}, this node ${this.minVersion}..${this.maxVersion}`,
      );
    }
    this.version = version;
    return o;
  }

  private preamble(): Preamble {
    return { type: 'preamble', minVersion: this.head[4], maxVersion: this.head[5], version: this.version! };
  }
}

function notZoneSync(at: number, byte: number): string {
  if (at === 0 && byte === 0x16) {
    return 'peer started a TLS handshake on a plain-text zone_sync connection (ssl on one side only?)';
  }
  if (at === 0 && byte >= 0x41 && byte <= 0x5a) return 'peer sent text (an HTTP request?), not zone_sync';
  return `not a zone_sync peer: byte ${at} of the preamble is 0x${byte.toString(16).padStart(2, '0')}`;
}
