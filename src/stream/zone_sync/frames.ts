// The zone_sync wire vocabulary (docs/protocol.md): frame type codes, limits, the decoded frame
// shapes, and ProtocolError. The writer (frame_writer.ts) and the reader (frame_parser.ts, codec.ts)
// share these, so a layout is named once.
import { StampedRecord } from '../../zones/record.ts';
import type { WireRecords } from './frame_parser.ts';

/** Protocol versions this build speaks (the preamble announces the range). */
export const MIN_VERSION = 1;
export const MAX_VERSION = 1;

/** `ZSYN`: the first bytes of every connection, frozen for all versions. */
export const MAGIC = new Uint8Array([0x5a, 0x53, 0x59, 0x4e]);
export const PREAMBLE_BYTES = 8;
/** u32 body length + u8 type. */
export const FRAME_HEADER_BYTES = 5;
/** flags, key length, value length, logical, wall, expire at. */
export const RECORD_HEADER_BYTES = 23;
/** zone index + count, ahead of the records of RECORDS and SNAPSHOT_CHUNK. */
export const RECORDS_PREFIX_BYTES = 6;
export const HELLO_FIXED_BYTES = 28;

export const DEFAULT_MAX_FRAME = 1024 * 1024;
/** The range a HELLO's maxFrame must be in (and so a decoder's own limit). */
export const MIN_MAX_FRAME = 64 * 1024;
export const MAX_MAX_FRAME = 16 * 1024 * 1024;
export const MAX_KEY_LENGTH = 0xffff;
/** Largest u48: wall-clock ms until the year 10889. */
export const MAX_U48 = 2 ** 48 - 1;

export const FrameType = {
  Hello: 0x01,
  Catalogue: 0x02,
  Ping: 0x03,
  Pong: 0x04,
  Close: 0x05,
  Records: 0x10,
  SnapshotBegin: 0x11,
  SnapshotChunk: 0x12,
  SnapshotEnd: 0x13,
  SnapshotAck: 0x14,
  CaughtUp: 0x15,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];
/** Types from here up may be skipped by a receiver that does not know them. */
export const FIRST_OPTIONAL_TYPE = 0x80;

export const CloseCode = {
  Shutdown: 0,
  ProtocolError: 1,
  Self: 2,
  Duplicate: 3,
  NodeIdConflict: 4,
  Timeout: 5,
} as const;

/** HELLO extension TLVs this build knows; others are skipped. */
export const Tlv = { NodeName: 1, Software: 2 } as const;

/** Anything the protocol forbids: the connection closes with `reason` logged, nothing else happens. */
export class ProtocolError extends Error {
  readonly code = 'ZONE_SYNC_PROTOCOL';
  readonly reason: string;
  constructor(reason: string) {
    super(`zone_sync protocol error: ${reason}`);
    this.name = 'ProtocolError';
    this.reason = reason;
  }
}

export interface Preamble {
  readonly type: 'preamble';
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The version this connection speaks: the highest both sides know. */
  readonly version: number;
}

export interface Hello {
  /** Random per process start, never 0: tells instances (and restarts) apart. */
  readonly instanceId: bigint;
  /** The HLC node id: the low 16 bits of every stamp the node issues. */
  readonly nodeId: number;
  /** The sender's wall clock at sending, ms. */
  readonly wall: number;
  /** Largest frame the sender accepts. */
  readonly maxFrame: number;
  /** Snapshot bytes the sender accepts unacknowledged. */
  readonly snapshotWindow: number;
  /** The sender's zone_sync_timeout, ms. */
  readonly timeoutMs: number;
  readonly nodeName?: string;
  readonly software?: string;
}

export interface CatalogueEntry {
  readonly index: number;
  readonly name: string;
  /** The owning module: `keyval`, `sticky`, `limit_req`. */
  readonly type: string;
  /** The module's record-encoding version. */
  readonly version: number;
}

/**
 * A decoded record. `key` and `value` are views into the received bytes: the decoder never writes
 * to memory it has handed out, so they stay valid, but they keep that chunk alive; copy to keep.
 */
export class WireRecord extends StampedRecord {}

export type Frame =
  | Preamble
  | ({ readonly type: 'hello' } & Hello)
  | { readonly type: 'catalogue'; readonly generation: number; readonly entries: CatalogueEntry[] }
  | { readonly type: 'ping'; readonly wall: number }
  | { readonly type: 'pong'; readonly echo: number; readonly wall: number }
  | { readonly type: 'close'; readonly code: number; readonly reason: string }
  | {
      readonly type: 'records' | 'snapshot-chunk';
      readonly zone: number;
      readonly records: WireRecords;
      /** Whole frame, header included: what a SNAPSHOT_ACK returns as credit. */
      readonly bytes: number;
    }
  | { readonly type: 'snapshot-begin'; readonly zone: number }
  | { readonly type: 'snapshot-end'; readonly zone: number; readonly count: number }
  | { readonly type: 'snapshot-ack'; readonly bytes: number }
  | { readonly type: 'caught-up'; readonly generation: number };

/** Highest version in both ranges, or undefined when they do not overlap. */
export function negotiateVersion(
  min: number,
  max: number,
  peerMin: number,
  peerMax: number,
): number | undefined {
  const version = Math.min(max, peerMax);
  return version >= Math.max(min, peerMin) && version >= 1 ? version : undefined;
}
