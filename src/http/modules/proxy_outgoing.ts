// The request as it goes upstream: what the content handler hands the exchange, and its bytes on
// the wire — the head and a buffered body joined for one write, or a streamed body's pieces in
// chunked framing. Kept apart from the exchange, which only decides when these are written.

import type { UpstreamGroup } from '../upstream/balancer.ts';
import type { BodyFraming } from './proxy_headers.ts';
import type { UpstreamTls } from './proxy_ssl.ts';

/** What the content handler hands over: the request to send and how to send its body. */
export interface OutgoingRequest {
  readonly group: UpstreamGroup;
  readonly schema: string;
  /** TLS settings and name for https://, else null. */
  readonly tls: UpstreamTls | null;
  /** The request-target sent upstream, also shown in error logs. */
  readonly uri: string;
  /** The whole head, request line to the empty line. */
  readonly head: string;
  readonly framing: BodyFraming;
  /** The buffered body (null: none, or streamed from the client when `streamBody`). */
  readonly body: Buffer | null;
  readonly streamBody: boolean;
}

/** The head (latin1) and the buffered body in one buffer: one write. */
export function requestBytes(head: string, body: Buffer | null): Buffer {
  const n = head.length;
  const out = Buffer.allocUnsafe(body === null ? n : n + body.length);
  out.write(head, 0, n, 'latin1');
  if (body !== null) out.set(body, n);
  return out;
}

const CRLF = Buffer.from('\r\n');

/** A piece of a streamed body in chunked framing. */
export function bodyChunk(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, CRLF]);
}

/** The chunked body's end. */
export const LAST_CHUNK = '0\r\n\r\n';
