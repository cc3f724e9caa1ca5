// Generates random and mutated HTTP/1.x requests (smuggling shapes included) and checks that
// every answer is a well-framed HTTP/1.1 response or a close. runFuzz() drives a live server.

import net from 'node:net';

/** A response as read off the wire. */
export interface WireResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Mulberry32: small, seedable, good enough for fuzzing. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const PATHS = [
  '/',
  '/a',
  '/a/b/../c',
  '/%41%2F',
  '//x//y',
  '/./z',
  '/q?x=1&y=2',
  '/%zz',
  '/../up',
  '/a#frag',
];

/** Requests that must be rejected (400/501/505) and close the connection: smuggling shapes. */
export const SMUGGLING_REQUESTS: string[] = [
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
  'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
  'GET / HTTP/2.0\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n',
];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

/** A well-formed request, sometimes with a body (length or chunked). */
export function validRequest(r: () => number, allowHead = true): string {
  let method = pick(r, METHODS);
  if (!allowHead && method === 'HEAD') method = 'GET';
  const path = pick(r, PATHS.slice(0, 7));
  let head = `${method} ${path} HTTP/1.1\r\nHost: fuzz.test\r\nUser-Agent: fuzz\r\n`;
  if (r() < 0.3) head += `X-Pad: ${'p'.repeat(Math.floor(r() * 200))}\r\n`;
  if (method === 'POST' || method === 'PUT') {
    const body = 'b'.repeat(Math.floor(r() * 64));
    if (r() < 0.5) return `${head}Content-Length: ${body.length}\r\n\r\n${body}`;
    const chunks = body.length > 0 ? `${body.length.toString(16)};ext=1\r\n${body}\r\n` : '';
    return `${head}Transfer-Encoding: chunked\r\n\r\n${chunks}0\r\nTrailer: t\r\n\r\n`;
  }
  return `${head}\r\n`;
}

const NOISE = [
  '\r',
  '\n',
  ' ',
  '\t',
  ':',
  '\0',
  '%',
  '/',
  '..',
  'Transfer-Encoding: chunked\r\n',
  '\x7f',
  '\xff',
];

/** A request with random damage: byte flips, insertions, cuts, repeated lines. */
export function mutatedRequest(r: () => number): string {
  if (r() < 0.3) return pick(r, SMUGGLING_REQUESTS);
  // no HEAD: a damaged one could shift which response is bodiless
  let s = validRequest(r, false);
  const edits = 1 + Math.floor(r() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * s.length);
    const op = r();
    if (op < 0.35) s = s.slice(0, at) + pick(r, NOISE) + s.slice(at);
    else if (op < 0.6) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 4));
    else if (op < 0.8) s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(at + 1);
    else s = s.slice(0, at) + 'X'.repeat(Math.floor(r() * 3000)) + s.slice(at);
  }
  return s;
}

/** Whether a request's first line lacks a version (an HTTP/0.9 request gets no headers back). */
export function looksLikeHttp09(req: string): boolean {
  const lf = req.indexOf('\n');
  const line = lf < 0 ? req : req.slice(0, lf);
  return !line.includes(' HTTP/');
}

/**
 * Splits what a server sent into responses. `heads` says, for each response in order, whether
 * it answers a HEAD request. Throws on anything that is not a well-framed HTTP/1.1 response.
 */
export function parseResponses(data: Buffer, heads: boolean[], closed: boolean): WireResponse[] {
  const out: WireResponse[] = [];
  let p = 0;
  while (p < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', p);
    if (headEnd < 0) throw new Error(`incomplete response head at ${p}`);
    const lines = data.toString('latin1', p, headEnd).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(lines[0]!);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const hm = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?(.*)$/.exec(line);
      if (hm === null) throw new Error(`bad header line ${JSON.stringify(line)}`);
      const name = hm[1]!.toLowerCase();
      if (headers.has(name) && (name === 'content-length' || name === 'transfer-encoding')) {
        throw new Error(`duplicate ${name}`);
      }
      headers.set(name, hm[2]!);
    }
    p = headEnd + 4;
    const cl = headers.get('content-length');
    const te = headers.get('transfer-encoding');
    if (cl !== undefined && te !== undefined) throw new Error('both Content-Length and Transfer-Encoding');
    const noBody = heads[out.length] === true || status === 204 || status === 304 || status < 200;
    let body: Buffer = Buffer.alloc(0);
    if (noBody) {
      if ((status === 204 || status === 304) && (cl !== undefined || te !== undefined)) {
        throw new Error(`${status} with framing headers`);
      }
    } else if (te !== undefined) {
      if (te !== 'chunked') throw new Error(`transfer-encoding ${te}`);
      const parts: Buffer[] = [];
      for (;;) {
        const le = data.indexOf('\r\n', p);
        if (le < 0) throw new Error('incomplete chunk size');
        const size = Number.parseInt(data.toString('latin1', p, le), 16);
        if (!Number.isFinite(size)) throw new Error('bad chunk size');
        p = le + 2;
        if (size === 0) {
          if (data.toString('latin1', p, p + 2) !== '\r\n') throw new Error('bad last chunk');
          p += 2;
          break;
        }
        parts.push(data.subarray(p, p + size));
        p += size;
        if (data.toString('latin1', p, p + 2) !== '\r\n') throw new Error('bad chunk end');
        p += 2;
      }
      body = Buffer.concat(parts);
    } else if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new Error(`bad content-length ${cl}`);
      const n = Number(cl);
      if (p + n > data.length) throw new Error('truncated body');
      body = data.subarray(p, p + n);
      p += n;
    } else {
      if (!closed) throw new Error('close-delimited body without close');
      body = data.subarray(p);
      p = data.length;
    }
    const connection = headers.get('connection');
    if (connection !== 'keep-alive' && connection !== 'close') throw new Error(`connection ${connection}`);
    out.push({ status, headers, body });
    if (connection === 'close' && p < data.length) throw new Error('bytes after Connection: close');
  }
  return out;
}

export interface FuzzOptions {
  host: string;
  port: number;
  count: number;
  seed: number;
  /** Parallel connections (default 8) and requests pipelined per connection (default 20). */
  connections?: number;
  batch?: number;
  /** Share of damaged requests (default 0.05). */
  mutationRate?: number;
  /** A connection silent this long counts as hung (default 5000 ms). */
  idleTimeoutMs?: number;
}

export interface FuzzStats {
  sent: number;
  answered: number;
  connections: number;
  statuses: Record<number, number>;
  /** Problems found: malformed responses, hangs. */
  failures: string[];
}

/** Sends one batch on a fresh connection; resolves with the bytes and whether it closed. */
function exchange(
  host: string,
  port: number,
  payload: Buffer,
  idleMs: number,
): Promise<{ data: Buffer; hung: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const parts: Buffer[] = [];
    let timer = setTimeout(() => finish(true), idleMs);
    const finish = (hung: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(parts), hung });
    };
    socket.on('connect', () => socket.end(payload));
    socket.on('data', (d) => {
      parts.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => finish(true), idleMs);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/** Drives `count` generated requests at a server and checks every answer. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzStats> {
  const r = rng(opts.seed);
  const batchSize = opts.batch ?? 20;
  const parallel = opts.connections ?? 8;
  const rate = opts.mutationRate ?? 0.05;
  const stats: FuzzStats = { sent: 0, answered: 0, connections: 0, statuses: {}, failures: [] };
  const nextBatch = (): { payload: Buffer; heads: boolean[] } | null => {
    if (stats.sent >= opts.count) return null;
    const heads: boolean[] = [];
    let text = '';
    for (let i = 0; i < batchSize && stats.sent < opts.count; i++) {
      stats.sent++;
      if (r() < rate) {
        // damaged requests go last: one that swallows or splits bytes cannot shift the
        // pairing of earlier responses with their (HEAD or not) requests
        let req = mutatedRequest(r);
        while (looksLikeHttp09(req)) req = mutatedRequest(r);
        text += req;
        break;
      }
      const req = validRequest(r);
      heads.push(req.startsWith('HEAD '));
      text += req;
    }
    return { payload: Buffer.from(text, 'latin1'), heads };
  };
  const worker = async () => {
    for (let b = nextBatch(); b !== null; b = nextBatch()) {
      stats.connections++;
      const { data, hung } = await exchange(opts.host, opts.port, b.payload, opts.idleTimeoutMs ?? 5000);
      if (hung) stats.failures.push(`connection hung after ${data.length} bytes`);
      try {
        const responses = parseResponses(data, b.heads, true);
        stats.answered += responses.length;
        for (const res of responses) stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
      } catch (err) {
        if (stats.failures.length < 20) {
          stats.failures.push(
            `${(err as Error).message} in ${JSON.stringify(data.toString('latin1').slice(0, 3000))}`,
          );
        }
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return stats;
}
