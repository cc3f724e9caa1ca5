// ngx_http_static_module with the core directives it reads (root, alias, types, default_type, etag,
// if_modified_since, log_not_found, max_ranges) and the filters nginx runs on its responses:
// not-modified (304/412) and byte ranges (206/416). It is the last content handler: a URI ending
// in `/` that index did not serve is a forbidden directory listing.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { inheritedValue } from '../../config/tree.ts';
import type { Context, DirectiveSpec } from '../../config/types.ts';
import { flagDirective, ignoredDirective, parseEnum, parseNumber } from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { DONE, type HttpRequest, type PhaseResult } from '../types.ts';
import { type ByteRange, contentRange, multipart, nextBoundary, parseRanges } from './byte_ranges.ts';
import {
  fileEtag,
  httpTime,
  type IfModifiedSince,
  ifRangeAllows,
  preconditionStatus,
} from './conditional.ts';
import { type DocumentRoot, documentRoot, mapUriToPath, parseRoot } from './document_root.ts';
import { errnoCode, errnoSuffix, isForbidden, isNotFound } from './file_errors.ts';
import { contentTypeFor, type TypesTable, typesFor } from './mime_types.ts';
import { CACHED_FILE_MAX, cachedFile, cacheFile } from './static_file_cache.ts';

const HSL: Context[] = ['http', 'server', 'location'];
const HSLI: Context[] = ['http', 'server', 'location', 'if_location'];

/** Bodies up to this size are built whole and sent in one write. */
const SMALL_BODY = 64 * 1024;
const CHUNK = 64 * 1024;
const NO_MAX_RANGES = 2 ** 31 - 1;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Where a file's bytes come from: its open descriptor, or its cached bytes. */
type FileSource = number | Buffer;

const ACCEPT_RANGES: readonly [string, string] = ['Accept-Ranges', 'bytes'];

interface StaticConf {
  readonly root: DocumentRoot;
  readonly types: TypesTable;
  readonly defaultType: string;
  readonly etag: boolean;
  readonly ifModifiedSince: IfModifiedSince;
  readonly logNotFound: boolean;
  readonly maxRanges: number;
}

const IMS_MODES: readonly IfModifiedSince[] = ['off', 'exact', 'before'];

const directives: DirectiveSpec[] = [
  { name: 'root', contexts: HSLI, args: [1], parse: parseRoot },
  { name: 'alias', contexts: ['location'], args: [1], parse: parseRoot },
  // Each line of the block is `type ext ...;` (the parser keeps `include mime.types;` working).
  { name: 'types', contexts: HSL, args: [0], block: 'types', rawBlock: true, multiple: true },
  { name: 'default_type', contexts: HSL, args: [1], parse: (e) => e.args[0] },
  flagDirective('etag', HSL),
  { name: 'if_modified_since', contexts: HSL, args: [1], parse: (e) => parseEnum(e.args[0], IMS_MODES) },
  flagDirective('log_not_found', HSL),
  { name: 'max_ranges', contexts: HSL, args: [1], parse: (e) => parseNumber(e.args[0], 'max_ranges') },
  // File I/O tuning: Node's fs does its own; accepted so nginx configurations load unchanged.
  ignoredDirective('disable_symlinks', HSL, [1, 2]),
  ignoredDirective('open_file_cache', HSL, [1, 2]),
  ignoredDirective('open_file_cache_valid', HSL, [1]),
  ignoredDirective('open_file_cache_min_uses', HSL, [1]),
  ignoredDirective('open_file_cache_errors', HSL, 'flag'),
  ignoredDirective('open_file_cache_events', HSL, 'flag'),
  ignoredDirective('sendfile', HSLI, 'flag'),
  ignoredDirective('sendfile_max_chunk', HSL, [1]),
  ignoredDirective('tcp_nopush', HSL, 'flag'),
  ignoredDirective('tcp_nodelay', HSL, 'flag'),
  ignoredDirective('aio', HSL, [1]),
  ignoredDirective('directio', HSL, [1]),
  ignoredDirective('directio_alignment', HSL, [1]),
  ignoredDirective('read_ahead', HSL, [1]),
  ignoredDirective('output_buffers', HSL, [2]),
];

export const staticModule: Module = {
  name: 'http_static',
  directives,
  http: {
    location(loc, cx) {
      const b = loc.block;
      const conf: StaticConf = {
        root: documentRoot(b, cx),
        types: typesFor(b),
        defaultType: inheritedValue(b, 'default_type', 'text/plain'),
        etag: inheritedValue(b, 'etag', true),
        ifModifiedSince: inheritedValue(b, 'if_modified_since', 'exact'),
        logNotFound: inheritedValue(b, 'log_not_found', true),
        maxRanges: inheritedValue(b, 'max_ranges', NO_MAX_RANGES),
      };
      return [{ phase: 'content', handler: (r) => serveStatic(r, conf) }];
    },
    // Accept-Ranges / Content-Range go last, after add_header's, as nginx's range filter does.
    headerFilter() {
      return (r) => {
        const tail = r.rangeHeader;
        if (tail !== null) r.headersOut.push(tail[0], tail[1]);
      };
    },
  },
};

function serveStatic(r: HttpRequest, conf: StaticConf): PhaseResult | Promise<PhaseResult> {
  if (r.method !== 'GET' && r.method !== 'HEAD' && r.method !== 'POST') return 405;
  const path = mapUriToPath(conf.root, r);
  if (r.uri.endsWith('/')) {
    // What nginx's content phase says when no handler (index, autoindex) took a directory URI.
    r.logError('error', `directory index of "${path}" is forbidden`);
    return 403;
  }
  return openAndServe(r, conf, path);
}

/**
 * open/fstat/read/close with blocking calls, as nginx does: a page-cached file costs a few
 * syscalls, not thread-pool round trips. Only a file too big for one write returns a promise
 * (it is streamed with backpressure); the descriptor is closed when it settles.
 */
function openAndServe(r: HttpRequest, conf: StaticConf, path: string): PhaseResult | Promise<PhaseResult> {
  const cached = cachedFile(path);
  if (cached !== undefined) {
    if (r.method === 'POST') return 405;
    return respond(r, conf, cached.bytes, path, Math.floor(cached.mtimeMs / 1000), cached.size);
  }
  let fd: number;
  try {
    // O_NONBLOCK as nginx: opening a FIFO must not hang the request.
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    return openFailed(r, conf, path, err);
  }
  let res: PhaseResult | Promise<PhaseResult>;
  try {
    res = serveFile(r, conf, fd, path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (typeof res === 'number') {
    closeSync(fd);
    return res;
  }
  return res.finally(() => closeSync(fd));
}

function serveFile(
  r: HttpRequest,
  conf: StaticConf,
  fd: number,
  path: string,
): PhaseResult | Promise<PhaseResult> {
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    r.headersOut.push('Location', `${r.uri}/${r.args === '' ? '' : `?${r.args}`}`);
    return 301;
  }
  if (!st.isFile()) {
    r.logError('crit', `"${path}" is not a regular file`);
    return 404;
  }
  if (r.method === 'POST') return 405;
  let src: FileSource = fd;
  if (st.size <= CACHED_FILE_MAX) {
    const bytes = Buffer.allocUnsafeSlow(st.size);
    readExactly(fd, path, bytes, 0, { start: 0, end: st.size });
    src = cacheFile(path, st, bytes).bytes;
  }
  return respond(r, conf, src, path, Math.floor(st.mtimeMs / 1000), st.size);
}

function openFailed(r: HttpRequest, conf: StaticConf, path: string, err: unknown): number {
  const code = errnoCode(err);
  const status = isNotFound(code) ? 404 : isForbidden(code) ? 403 : 500;
  if (status !== 404 || conf.logNotFound) {
    r.logError(status === 500 ? 'crit' : 'error', `open() "${path}" failed${errnoSuffix(err)}`);
  }
  return status;
}

/**
 * The ranges asked for, after nginx's range filter's checks: `whole` serves the file with
 * Accept-Ranges, null without (HTTP/0.9, max_ranges 0).
 */
function requestedRanges(
  r: HttpRequest,
  conf: StaticConf,
  size: number,
  mtime: number,
  etag: string | null,
): ByteRange[] | 'unsatisfiable' | 'whole' | null {
  if (r.parsed.version < 10 || conf.maxRanges === 0) return null;
  const range = r.header('range');
  if (range === undefined || range.length < 7 || range.slice(0, 6).toLowerCase() !== 'bytes=') return 'whole';
  const ifRange = r.header('if-range');
  if (ifRange !== undefined && !ifRangeAllows(ifRange, mtime, etag)) return 'whole';
  const res = parseRanges(range, size, conf.maxRanges);
  return res === 'declined' ? 'whole' : res;
}

function respond(
  r: HttpRequest,
  conf: StaticConf,
  src: FileSource,
  path: string,
  mtime: number,
  size: number,
): PhaseResult | Promise<PhaseResult> {
  const etag = conf.etag ? fileEtag(mtime, size) : null;
  const pre = preconditionStatus(
    {
      ifUnmodifiedSince: r.header('if-unmodified-since'),
      ifMatch: r.header('if-match'),
      ifModifiedSince: r.header('if-modified-since'),
      ifNoneMatch: r.header('if-none-match'),
    },
    mtime,
    etag,
    conf.ifModifiedSince,
  );
  if (pre === 412) return 412;
  const ranges = pre === 304 ? null : requestedRanges(r, conf, size, mtime, etag);
  if (ranges === 'unsatisfiable') {
    // nginx's range filter turns the 200 into a 416 after the other header filters (add_header,
    // expires) saw the 200: their headers stay on the error page, the file's validators do not.
    r.status = 200;
    for (const filter of r.location.headerFilters) filter(r);
    r.headersOut.push('Content-Range', `bytes */${size}`);
    return 416;
  }
  const h = r.headersOut;
  h.push('Last-Modified', httpTime(mtime));
  if (etag !== null) h.push('ETag', etag);
  if (pre === 304) return r.send(304, '');
  const type = contentTypeFor(r.uri, conf.types, conf.defaultType);
  if (ranges === null || ranges === 'whole') {
    if (ranges === 'whole') r.rangeHeader = ACCEPT_RANGES;
    h.push('Content-Type', type);
    return sendParts(r, src, path, 200, [{ start: 0, end: size }], null, size);
  }
  if (ranges.length === 1) {
    r.rangeHeader = ['Content-Range', contentRange(ranges[0], size)];
    h.push('Content-Type', type);
    return sendParts(r, src, path, 206, ranges, null, ranges[0].end - ranges[0].start);
  }
  const mp = multipart(ranges, size, type, nextBoundary());
  h.push('Content-Type', mp.contentType);
  return sendParts(r, src, path, 206, ranges, mp, mp.length);
}

/** The body: the ranges of the file, framed as multipart/byteranges when `mp` is given. */
function sendParts(
  r: HttpRequest,
  src: FileSource,
  path: string,
  status: number,
  ranges: readonly ByteRange[],
  mp: ReturnType<typeof multipart> | null,
  length: number,
): PhaseResult | Promise<PhaseResult> {
  if (r.method === 'HEAD') {
    r.sendHead(status, length);
    r.end();
    return DONE;
  }
  if (length > SMALL_BODY) return streamParts(r, src, path, status, ranges, mp, length);
  if (typeof src !== 'number' && mp === null)
    return r.send(status, src.subarray(ranges[0].start, ranges[0].end));
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (let i = 0; i < ranges.length; i++) {
    if (mp) at += mp.heads[i].copy(body, at);
    at += readExactly(src, path, body, at, ranges[i]);
  }
  if (mp) mp.tail.copy(body, at);
  return r.send(status, body);
}

/** A body too big for one write: chunk by chunk, waiting for the socket to drain. */
async function streamParts(
  r: HttpRequest,
  src: FileSource,
  path: string,
  status: number,
  ranges: readonly ByteRange[],
  mp: ReturnType<typeof multipart> | null,
  length: number,
): Promise<PhaseResult> {
  r.sendHead(status, length);
  for (let i = 0; i < ranges.length; i++) {
    if (mp && !r.write(mp.heads[i])) await r.drain();
    for (let pos = ranges[i].start; pos < ranges[i].end; ) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, ranges[i].end - pos));
      pos += readExactly(src, path, chunk, 0, { start: pos, end: pos + chunk.length });
      if (!r.write(chunk)) await r.drain();
      if (r.aborted) return DONE; // the client is gone: stop reading the file
    }
  }
  r.end(mp?.tail);
  return DONE;
}

/** Read `range` of the file into `into` at `at`; a file that shrank meanwhile is nginx's alert. */
function readExactly(src: FileSource, path: string, into: Buffer, at: number, range: ByteRange): number {
  const want = range.end - range.start;
  if (typeof src !== 'number') return src.copy(into, at, range.start, range.end);
  let got = 0;
  while (got < want) {
    const n = readSync(src, into, at + got, want - got, range.start + got);
    if (n === 0) throw new Error(`pread() read only ${got} of ${want} from "${path}"`);
    got += n;
  }
  return got;
}
