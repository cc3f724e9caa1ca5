// add_header and expires through a real bin/zonesync: which statuses, inheritance, variables,
// and the Expires / Cache-Control pairs nginx computes.
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Instance, startZonesync } from '../helpers/instance.ts';

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
    add_header X-Server s;
    location / { }
    location /own/ { alias html/; add_header X-Own "uri=$uri"; add_header X-Always a always; }
    location /hour/ { alias html/; expires 1h; }
    location /epoch/ { alias html/; expires epoch; }
    location /max/ { alias html/; expires max; }
    location /neg/ { alias html/; expires -1; }
    location /mod/ { alias html/; expires modified 1d; }
    location /off/ { alias html/; expires off; }
    location /var/ { alias html/; expires $arg_e; }
    location /cc/ { alias html/; expires 1h; add_header Cache-Control private; }
    location /etag/ { alias html/; add_header ETag ""; add_header Last-Modified "Thu, 01 Jan 2015 00:00:00 GMT"; }
    location /ret/ { add_header X-R r; return 302 /a.txt; }
  }
}`,
    files: { 'html/a.txt': 'A' },
  });
  utimesSync(path.join(z.prefix, 'html/a.txt'), 1700000000, 1700000000);
});
after(() => z.stop());

const secondsOf = (date: string) => Date.parse(date) / 1000;

test('server-level add_header applies where a location has none of its own', async () => {
  const res = await z.request('/a.txt');
  assert.equal(res.headers['x-server'], 's');
  // Not on errors.
  assert.equal((await z.request('/missing')).headers['x-server'], undefined);
});

test('a location with its own add_header inherits none; variables; always', async () => {
  const res = await z.request('/own/a.txt');
  assert.equal(res.headers['x-server'], undefined);
  assert.equal(res.headers['x-own'], 'uri=/own/a.txt');
  assert.equal(res.headers['x-always'], 'a');
  const missing = await z.request('/own/none');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['x-own'], undefined);
  assert.equal(missing.headers['x-always'], 'a');
  // 304 and redirects are "success" statuses for add_header.
  const nm = await z.request('/own/a.txt', { headers: { 'If-None-Match': '"6553f100-1"' } });
  assert.equal(nm.status, 304);
  assert.equal(nm.headers['x-own'], 'uri=/own/a.txt');
  assert.equal((await z.request('/ret/')).headers['x-r'], 'r');
});

test('a 416 keeps what add_header and expires set for the 200 it replaced, as in nginx', async () => {
  const res = await z.request('/own/a.txt', { headers: { Range: 'bytes=5-' } });
  assert.equal(res.status, 416);
  assert.equal(res.headers['x-own'], 'uri=/own/a.txt');
  assert.equal(res.headers['content-range'], 'bytes */1');
  // `always` headers are added once for the 200 and once more for the 416.
  assert.equal(res.headers['x-always'], 'a\na');
});

test('add_header comes before Accept-Ranges, as in nginx', async () => {
  const names = (await z.request('/own/a.txt')).rawHeaders.map(([n]) => n);
  assert.ok(names.indexOf('X-Own') < names.indexOf('Accept-Ranges'), names.join(','));
});

test('expires: access time, epoch, max, negative, modified, off', async () => {
  const hour = await z.request('/hour/a.txt');
  assert.equal(hour.headers['cache-control'], 'max-age=3600');
  assert.equal(secondsOf(hour.headers.expires) - secondsOf(hour.headers.date), 3600);
  const epoch = await z.request('/epoch/a.txt');
  assert.equal(epoch.headers.expires, 'Thu, 01 Jan 1970 00:00:01 GMT');
  assert.equal(epoch.headers['cache-control'], 'no-cache');
  const max = await z.request('/max/a.txt');
  assert.equal(max.headers.expires, 'Thu, 31 Dec 2037 23:55:55 GMT');
  assert.equal(max.headers['cache-control'], 'max-age=315360000');
  const neg = await z.request('/neg/a.txt');
  assert.equal(neg.headers['cache-control'], 'no-cache');
  assert.equal(secondsOf(neg.headers.expires) - secondsOf(neg.headers.date), -1);
  // Modified a day after 2023-11-14: long past, so no-cache.
  const mod = await z.request('/mod/a.txt');
  assert.equal(mod.headers.expires, 'Wed, 15 Nov 2023 22:13:20 GMT');
  assert.equal(mod.headers['cache-control'], 'no-cache');
  const off = await z.request('/off/a.txt');
  assert.equal(off.headers.expires, undefined);
  assert.equal(off.headers['cache-control'], undefined);
  // Not on errors.
  assert.equal((await z.request('/hour/none')).headers.expires, undefined);
});

test('expires with variables is parsed per request; bad values are ignored', async () => {
  assert.equal((await z.request('/var/a.txt?e=2m')).headers['cache-control'], 'max-age=120');
  assert.equal((await z.request('/var/a.txt?e=epoch')).headers['cache-control'], 'no-cache');
  assert.equal((await z.request('/var/a.txt?e=bogus')).headers['cache-control'], undefined);
});

test('add_header Cache-Control adds a line after expires; ETag/Last-Modified replace or remove', async () => {
  assert.equal((await z.request('/cc/a.txt')).headers['cache-control'], 'max-age=3600\nprivate');
  const res = await z.request('/etag/a.txt');
  assert.equal(res.headers.etag, undefined);
  assert.equal(res.headers['last-modified'], 'Thu, 01 Jan 2015 00:00:00 GMT');
});
