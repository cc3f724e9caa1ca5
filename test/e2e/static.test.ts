// Static files through a real bin/zonesync: types, validators, conditional requests, byte ranges,
// directories and index files, alias, internal locations, and nginx's error log lines.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Instance, parseResponse, ROOT, startZonesync } from '../helpers/instance.ts';

const MTIME = 1700000000; // Tue, 14 Nov 2023 22:13:20 GMT
const LM = 'Tue, 14 Nov 2023 22:13:20 GMT';
const BIG = randomBytes(300 * 1024 + 7);

let z: Instance;

before(async () => {
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    root html;
    location /typed/ {
      alias html/;
      include mime.types;
      default_type application/octet-stream;
    }
    location /quiet/ { alias html/; log_not_found off; }
    location /noetag/ { alias html/; etag off; }
    location /before/ { alias html/; if_modified_since before; }
    location /oneRange/ { alias html/; max_ranges 1; }
    location ~ ^/re/(\\w+)/(.+)$ { alias html/$1/$2; }
    location /idx/ { alias html/dir/; index missing.html other.html; }
    location /abs/ { index nothing.html /a.txt; }
    location /secret/ { internal; }
    location = /to-secret { error_page 404 /secret/s.txt; return 404; }
  }
}`,
    files: {
      'conf/mime.types': readFileSync(path.join(ROOT, 'examples/mime.types')),
      'html/UP.CSS': 'i{}',
      'html/a.txt': '0123456789abcdefghij',
      'html/page.html': '<p>hi</p>',
      'html/style.css': 'b{}',
      'html/README': 'plain',
      'html/big.bin': BIG,
      'html/dir/index.html': 'dir index',
      'html/dir/other.html': 'other index',
      'html/dir/deep/f.txt': 'deep',
      'html/empty/.keep': '',
      'html/abs/.keep': '',
      'html/secret/s.txt': 'secret',
    },
  });
  for (const f of ['a.txt', 'big.bin']) utimesSync(path.join(z.prefix, 'html', f), MTIME, MTIME);
});
after(() => z.stop());

test('a file: body, nginx validators, Accept-Ranges, and the compiled-in types', async () => {
  const res = await z.request('/a.txt');
  assert.equal(res.status, 200);
  assert.equal(res.text, '0123456789abcdefghij');
  assert.equal(res.headers['content-length'], '20');
  assert.equal(res.headers['last-modified'], LM);
  assert.equal(res.headers.etag, '"6553f100-14"');
  assert.equal(res.headers['accept-ranges'], 'bytes');
  // Without a types block nginx knows html, gif and jpg only; the rest is default_type (text/plain).
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal((await z.request('/page.html')).headers['content-type'], 'text/html');
  assert.equal((await z.request('/style.css')).headers['content-type'], 'text/plain');
});

test('a file changed, replaced or removed is served as it is now (small files are cached)', async () => {
  const file = path.join(z.prefix, 'html', 'changing.txt');
  writeFileSync(file, 'first');
  assert.equal((await z.request('/changing.txt')).text, 'first');
  assert.equal((await z.request('/changing.txt')).text, 'first');
  // same size, rewritten in place
  writeFileSync(file, 'again');
  assert.equal((await z.request('/changing.txt')).text, 'again');
  // replaced by rename, as deploy tools do
  writeFileSync(`${file}.new`, 'replaced, longer');
  renameSync(`${file}.new`, file);
  const res = await z.request('/changing.txt');
  assert.equal(res.text, 'replaced, longer');
  assert.equal(res.headers['content-length'], '16');
  // a range of the cached bytes
  assert.equal((await z.request('/changing.txt', { headers: { Range: 'bytes=0-7' } })).text, 'replaced');
  unlinkSync(file);
  assert.equal((await z.request('/changing.txt')).status, 404);
  mkdirSync(file);
  assert.equal((await z.request('/changing.txt')).status, 301);
  rmdirSync(file);
});

test('a client that stops reading gets every byte, in order, once it reads again', async () => {
  // 16 MiB overflows the socket buffers: writes queue in libuv and in the stream, then drain
  const huge = randomBytes(16 * 1024 * 1024);
  writeFileSync(path.join(z.prefix, 'html', 'huge.bin'), huge);
  const socket = net.connect(z.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
  socket.pause();
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.write('GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  await once(socket, 'end');
  let rest: Buffer = Buffer.concat(chunks);
  const first = parseResponse(rest);
  assert.equal(first.res.status, 200);
  assert.ok(first.res.body.equals(huge), 'the large body arrived intact');
  rest = first.rest;
  assert.equal(parseResponse(rest).res.text, '0123456789abcdefghij');
});

test('types from `include mime.types;`, by lowercased extension, else default_type', async () => {
  assert.equal((await z.request('/typed/style.css')).headers['content-type'], 'text/css');
  assert.equal((await z.request('/typed/UP.CSS')).headers['content-type'], 'text/css');
  assert.equal((await z.request('/typed/README')).headers['content-type'], 'application/octet-stream');
});

test('HEAD sends the head only, with the full length', async () => {
  const raw = await z.rawRequest('HEAD /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(raw, /\r\nContent-Length: 20\r\n/);
  assert.ok(raw.endsWith('\r\n\r\n'), 'no body');
});

test('a large file streams whole and in ranges', async () => {
  const res = await z.request('/big.bin');
  assert.equal(res.status, 200);
  assert.ok(res.body.equals(BIG));
  const part = await z.request('/big.bin', { headers: { Range: 'bytes=100000-250000' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 100000-250000/${BIG.length}`);
  assert.ok(part.body.equals(BIG.subarray(100000, 250001)));
});

test("missing files: 404 with nginx's log line, silent under log_not_found off", async () => {
  const res = await z.request('/nope.txt');
  assert.equal(res.status, 404);
  assert.match(res.text, /<title>404 Not Found<\/title>/);
  const log = z.errorLog();
  assert.ok(
    log.includes(`[error] `) &&
      log.includes(
        `open() "${z.prefix}/html/nope.txt" failed (2: No such file or directory), client: 127.0.0.1`,
      ),
    log,
  );
  assert.equal((await z.request('/quiet/hidden.txt')).status, 404);
  assert.ok(!z.errorLog().includes('hidden.txt'));
  // A path through a file is "not a directory": also 404.
  assert.equal((await z.request('/a.txt/x')).status, 404);
  assert.ok(z.errorLog().includes('/html/a.txt/x" failed (20: Not a directory)'));
});

test('directories: 301 to the slash (with args), index file, forbidden listing', async () => {
  const dir = await z.request('/dir');
  assert.equal(dir.status, 301);
  assert.equal(dir.headers.location, `http://localhost:${z.port}/dir/`);
  assert.equal((await z.request('/dir?a=b')).headers.location, `http://localhost:${z.port}/dir/?a=b`);
  assert.equal((await z.request('/dir/')).text, 'dir index');
  const empty = await z.request('/empty/');
  assert.equal(empty.status, 403);
  assert.ok(z.errorLog().includes(`directory index of "${z.prefix}/html/empty/" is forbidden`));
  const missing = await z.request('/nodir/');
  assert.equal(missing.status, 404);
  assert.ok(
    z.errorLog().includes(`"${z.prefix}/html/nodir/index.html" is not found (2: No such file or directory)`),
  );
});

test('index: the first name that exists; an absolute name redirects at once', async () => {
  assert.equal((await z.request('/idx/')).text, 'other index');
  assert.equal((await z.request('/abs/')).text, '0123456789abcdefghij');
});

test('methods: POST and others get 405 for files, POST on a missing file 404', async () => {
  assert.equal((await z.request('/a.txt', { method: 'POST', body: 'x' })).status, 405);
  assert.equal((await z.request('/a.txt', { method: 'DELETE' })).status, 405);
  assert.equal((await z.request('/nothing', { method: 'POST', body: 'x' })).status, 404);
});

test('conditional requests: 304 keeps the validators only; 412 on failed preconditions', async () => {
  const nm = await z.request('/a.txt', { headers: { 'If-Modified-Since': LM } });
  assert.equal(nm.status, 304);
  assert.equal(nm.headers['content-type'], undefined);
  assert.equal(nm.headers['accept-ranges'], undefined);
  assert.equal(nm.headers.etag, '"6553f100-14"');
  assert.equal(nm.headers['last-modified'], LM);
  assert.equal(
    (await z.request('/a.txt', { headers: { 'If-None-Match': '"x", "6553f100-14"' } })).status,
    304,
  );
  assert.equal(
    (await z.request('/a.txt', { headers: { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:21 GMT' } })).status,
    200,
  );
  assert.equal(
    (await z.request('/before/a.txt', { headers: { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:21 GMT' } }))
      .status,
    304,
  );
  const pf = await z.request('/a.txt', { headers: { 'If-Match': '"nope"' } });
  assert.equal(pf.status, 412);
  assert.match(pf.text, /412 Precondition Failed/);
  assert.equal(
    (await z.request('/a.txt', { headers: { 'If-Unmodified-Since': 'Mon, 13 Nov 2023 00:00:00 GMT' } }))
      .status,
    412,
  );
  const noetag = await z.request('/noetag/a.txt');
  assert.equal(noetag.headers.etag, undefined);
});

test('byte ranges: single, suffix, multipart with nginx boundaries, 416, If-Range', async () => {
  const one = await z.request('/a.txt', { headers: { Range: 'bytes=2-4' } });
  assert.equal(one.status, 206);
  assert.equal(one.text, '234');
  assert.equal(one.headers['content-range'], 'bytes 2-4/20');
  assert.equal(one.headers['accept-ranges'], undefined);
  assert.equal((await z.request('/a.txt', { headers: { Range: 'bytes=-3' } })).text, 'hij');
  const multi = await z.request('/a.txt', { headers: { Range: 'bytes=0-1,5-6' } });
  assert.equal(multi.status, 206);
  const m = /^multipart\/byteranges; boundary=(\d{20})$/.exec(multi.headers['content-type']);
  assert.ok(m, multi.headers['content-type']);
  const b = m[1];
  assert.equal(
    multi.text,
    `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n01` +
      `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/20\r\n\r\n56\r\n--${b}--\r\n`,
  );
  assert.equal(multi.headers['content-length'], '198');
  const bad = await z.request('/a.txt', { headers: { Range: 'bytes=30-' } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers['content-range'], 'bytes */20');
  assert.equal(bad.headers.etag, undefined);
  assert.match(bad.text, /416 Requested Range Not Satisfiable/);
  // If-Range with a stale validator: the whole file.
  const stale = await z.request('/a.txt', { headers: { Range: 'bytes=0-1', 'If-Range': '"old"' } });
  assert.equal(stale.status, 200);
  assert.equal((await z.request('/a.txt', { headers: { Range: 'bytes=0-1', 'If-Range': LM } })).status, 206);
  // max_ranges 1: two ranges are served as the whole file.
  assert.equal((await z.request('/oneRange/a.txt', { headers: { Range: 'bytes=0-1,3-4' } })).status, 200);
});

test('alias: a prefix location replaces its name; a regex location uses its captures', async () => {
  assert.equal((await z.request('/quiet/dir/deep/f.txt')).text, 'deep');
  assert.equal((await z.request('/re/dir/deep/f.txt')).text, 'deep');
});

test('internal locations answer 404 to clients, and serve internal redirects', async () => {
  assert.equal((await z.request('/secret/s.txt')).status, 404);
  const via = await z.request('/to-secret');
  assert.equal(via.status, 404);
  assert.equal(via.text, 'secret');
});
