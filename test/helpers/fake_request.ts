// A plain-object HttpRequest for unit tests of variables and handlers: no sockets, no engine.
// Only the data fields are real; the response methods throw if a test reaches them.
import type { BodyReader, ConnectionInfo, ParsedRequest } from '../../src/http/engine/types.ts';
import type { HttpRequest, LocationConf, ServerConf } from '../../src/http/types.ts';

export interface FakeRequestInit {
  method?: string;
  /** The request-target as sent: `/path?query`. */
  target?: string;
  /** 9, 10 or 11. */
  version?: number;
  /** Raw header names and values, in order. */
  headers?: [string, string][];
  /** The Host as the parser leaves it (lowercased, no port); defaults to the Host header's. */
  host?: string;
  conn?: Partial<ConnectionInfo>;
  serverName?: string;
  status?: number;
  headersOut?: string[];
  startTime?: number;
  bodyBytesSent?: number;
  bytesSent?: number;
  bodyReceived?: number;
}

function notInUnitTests(): never {
  throw new Error('fake request: not available in unit tests');
}

export function fakeParsed(init: FakeRequestInit = {}): ParsedRequest {
  const method = init.method ?? 'GET';
  const target = init.target ?? '/';
  const version = init.version ?? 11;
  const headers = init.headers ?? [];
  const q = target.indexOf('?');
  const hostHeader = headers.find(([n]) => n.toLowerCase() === 'host')?.[1] ?? '';
  const protocol = version === 9 ? '' : ` HTTP/${Math.floor(version / 10)}.${version % 10}`;
  return {
    method,
    target,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    hasQuery: q >= 0,
    version,
    requestLine: `${method} ${target}${protocol}`,
    names: headers.map(([n]) => n.toLowerCase()),
    rawNames: headers.map(([n]) => n),
    values: headers.map(([, v]) => v),
    host: init.host ?? hostHeader.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase(),
    keepAlive: version === 11,
    contentLength: 0,
    chunked: false,
    expectContinue: false,
  };
}

export function fakeRequest(init: FakeRequestInit = {}): HttpRequest {
  const parsed = fakeParsed(init);
  const conn: ConnectionInfo = {
    id: 1,
    remoteAddress: '127.0.0.1',
    remotePort: 54321,
    localAddress: '127.0.0.1',
    localPort: 80,
    tls: false,
    servername: undefined,
    requests: 1,
    ...init.conn,
  };
  const server = { serverName: init.serverName ?? '' } as ServerConf;
  const body = { received: init.bodyReceived ?? 0 } as BodyReader;
  const headersOut = init.headersOut ?? [];
  const ctx = new Map<string, unknown>();
  return {
    parsed,
    conn,
    body,
    aborted: false,
    method: parsed.method,
    uri: parsed.path,
    args: parsed.query,
    server,
    location: {} as LocationConf,
    captures: null,
    vars: new Map(),
    ctx,
    ctxValue: (key) => ctx.get(key),
    limitReqStatus: undefined,
    startTime: init.startTime ?? Date.now(),
    internal: false,
    uriChanged: false,
    status: init.status ?? 0,
    headersOut,
    rangeHeader: null,
    bodyBytesSent: init.bodyBytesSent ?? 0,
    bytesSent: init.bytesSent ?? 0,
    header: (name) => {
      const i = parsed.names.indexOf(name);
      return i < 0 ? undefined : parsed.values[i];
    },
    headerOut: (name) => {
      for (let i = 0; i + 1 < headersOut.length; i += 2) {
        if (headersOut[i].toLowerCase() === name) return headersOut[i + 1];
      }
      return undefined;
    },
    internalRedirect: notInUnitTests,
    namedRedirect: notInUnitTests,
    send: notInUnitTests,
    sendHead: notInUnitTests,
    write: notInUnitTests,
    drain: notInUnitTests,
    end: notInUnitTests,
    logError: notInUnitTests,
  };
}
