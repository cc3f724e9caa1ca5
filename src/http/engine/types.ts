// The engine's boundary: bytes and messages on one side, the HTTP layer's handler on the other.
// The engine never reads directives; the HTTP layer hands it limits as plain numbers.

/** Per-listener limits, already resolved from the configuration (milliseconds and bytes). */
export interface EngineLimits {
  clientHeaderTimeout: number;
  clientBodyTimeout: number;
  keepaliveTimeout: number;
  keepaliveRequests: number;
  /** client_header_buffer_size: a request line or header longer than this is moved to a large buffer. */
  clientHeaderBufferSize: number;
  /** large_client_header_buffers NUMBER SIZE: line longer than SIZE gives 414 (request line) or 400. */
  largeHeaderBuffers: number;
  largeHeaderBufferSize: number;
  /** Methods this build knows (others get 405 only when a module asks; the parser takes any token). */
  lingeringTimeout: number;
}

/** The socket's identity, for variables and logs. */
export interface ConnectionInfo {
  /** $connection: a serial number, process-wide. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: boolean;
  /** SNI name the client sent, for TLS listeners. */
  readonly servername: string | undefined;
  /** $connection_requests: requests served on this connection so far, this one included. */
  requests: number;
}

/** A request as the parser read it. Header names are kept lowercased beside their raw spelling. */
export interface ParsedRequest {
  readonly method: string;
  /** The request-target as received: `$request_uri`. */
  readonly target: string;
  /** Percent-decoded path with `//`, `/./`, `/../` merged as nginx does: `$uri`. */
  readonly path: string;
  /** Query string without the `?` (`$args`); `''` when absent. */
  readonly query: string;
  /** Whether the target had a `?` at all (`$is_args`). */
  readonly hasQuery: boolean;
  /** 9, 10 or 11 (HTTP/0.9, 1.0, 1.1). */
  readonly version: number;
  /** The request line without CRLF: `$request`. */
  readonly requestLine: string;
  /** Lowercased header names, parallel to rawNames and values. */
  readonly names: string[];
  readonly rawNames: string[];
  readonly values: string[];
  /** Host from the absolute-form target or the Host header, lowercased, port and trailing dot removed. */
  readonly host: string;
  /** Whether the connection may be kept after this request (version, Connection header). */
  keepAlive: boolean;
  /** Declared body: -1 chunked, otherwise Content-Length (0 when none). */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly expectContinue: boolean;
}

/** Reads the request body. The engine discards whatever is left unread before the next request. */
export interface BodyReader {
  /**
   * Read the whole body, at most `limit` bytes (0: no limit). Resolves with the body; rejects
   * with an HttpError (413 over the limit, 400 on a bad chunk, 408 on client_body_timeout).
   */
  readAll(limit: number): Promise<Buffer>;
  /** Stream the body as it arrives, for proxying. */
  onData(chunk: (data: Buffer) => void, end: (err?: HttpError) => void): void;
  /** Bytes of body received so far. */
  readonly received: number;
}

/** An HTTP-level failure with the status nginx answers it with. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** Writes one response. Headers are a flat list: name, value, name, value, ... */
export interface ResponseWriter {
  /**
   * Status line and headers. `bodyLength` -1 means unknown (chunked on HTTP/1.1, close on 1.0);
   * the engine adds Date, Content-Length/Transfer-Encoding and Connection itself. `statusText`
   * (`200 Fine`, as an upstream sent it) replaces the code and reason phrase of the status line.
   */
  writeHead(status: number, headers: string[], bodyLength: number, statusText?: string): void;
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): void;
  /** Head and whole body in one socket write: the fast path. */
  send(status: number, headers: string[], body: Buffer | string, statusText?: string): void;
  /** After the response: close the connection instead of keeping it alive. */
  closeAfter(): void;
  /** Drop the connection at once (no response or a truncated one). */
  destroy(): void;
  /**
   * 101 Switching Protocols: send the head (Server first if given, then Date, `Connection: upgrade`,
   * the rest) and hand the socket over; `head` holds client bytes read past the request. Null when
   * the connection is gone or a head was sent already.
   */
  upgrade(headers: string[], statusText?: string): { socket: import('node:net').Socket; head: Buffer } | null;
  /** Resolves when the socket can take more (after write() returned false). */
  drain(): Promise<void>;
  readonly headersSent: boolean;
  readonly finished: boolean;
  /** Body bytes sent so far ($body_bytes_sent) and all bytes ($bytes_sent). */
  readonly bodyBytesSent: number;
  readonly bytesSent: number;
  /** Called once the response is fully written (or the connection died), for the log phase. */
  onFinish(cb: () => void): void;
}

/** What the HTTP layer gives the engine. */
export interface RequestHandler {
  /** A request is parsed; its body (if any) is readable through `body`. */
  request(req: ParsedRequest, body: BodyReader, res: ResponseWriter, conn: ConnectionInfo): void;
  /**
   * The request could not be parsed or broke a limit: answer `status` (400, 408, 413, 414, 431->400,
   * 501...) or, with `status` 0, close silently. `req` is what was parsed so far, if anything.
   * The connection closes after the response, as nginx does.
   */
  badRequest(
    status: number,
    reason: string,
    res: ResponseWriter,
    conn: ConnectionInfo,
    req: Partial<ParsedRequest> | null,
  ): void;
}
