// Upstream groups end to end: smooth weighted round robin, backup and down servers,
// max_fails/fail_timeout, proxy_next_upstream conditions with its tries and timeout limits,
// and keep-alive connection reuse counted at the backend.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Backend, closedPort, httpBackend, rawBackend } from '../helpers/backend.ts';
import { type Instance, startZonesync, waitFor } from '../helpers/instance.ts';

let z: Instance;
const backends: Backend[] = [];
let a: Backend;
let b: Backend;
let c: Backend;
/** Answers the status in its URL (`/s/503`), else 200. */
let bad: Backend;
/** Resets every connection at once. */
let reset: Backend;
/** Reads the request, then resets. */
let resetAfterRead: Backend;
/** Accepts and never answers. */
let silent: Backend;
/** Sends a malformed status line. */
let garbage: Backend;
let kaBackend: Backend;
/** Answers after 100 ms, so that concurrent requests need connections of their own. */
let slowKa: Backend;
let dead: number;

async function track<T extends Backend>(p: Promise<T>): Promise<T> {
  const x = await p;
  backends.push(x);
  return x;
}

before(async () => {
  a = await track(httpBackend('a'));
  b = await track(httpBackend('b'));
  c = await track(httpBackend('c'));
  bad = await track(
    httpBackend('bad', (req, res) => {
      const m = /\/s\/(\d+)/.exec(req.url);
      res.writeHead(m ? Number(m[1]) : 200, { 'Content-Length': '3' });
      res.end('bad');
    }),
  );
  reset = await track(rawBackend((s) => s.resetAndDestroy()));
  resetAfterRead = await track(rawBackend((s) => s.once('data', () => s.resetAndDestroy())));
  silent = await track(rawBackend((s) => s.resume()));
  garbage = await track(rawBackend((s) => s.once('data', () => s.end('NOT HTTP\r\n\r\n'))));
  kaBackend = await track(httpBackend('ka'));
  slowKa = await track(httpBackend('slowka', (_req, res) => setTimeout(() => res.end('slowka'), 100)));
  dead = await closedPort();
  const up = (name: string, body: string) => `upstream ${name} {\n${body}\n}`;
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  ${up('weighted', `server 127.0.0.1:${a.port} weight=3; server 127.0.0.1:${b.port};`)}
  ${up('withbackup', `server 127.0.0.1:${a.port} down; server 127.0.0.1:${b.port}; server 127.0.0.1:${c.port} backup;`)}
  ${up('deadprimary', `server 127.0.0.1:${dead}; server 127.0.0.1:${c.port} backup;`)}
  ${up('flaky', `server 127.0.0.1:${reset.port} max_fails=1 fail_timeout=1s; server 127.0.0.1:${b.port};`)}
  ${up('statusy', `server 127.0.0.1:${bad.port} max_fails=0; server 127.0.0.1:${b.port};`)}
  ${up('slowfirst', `server 127.0.0.1:${silent.port}; server 127.0.0.1:${b.port};`)}
  ${up('garbagefirst', `server 127.0.0.1:${garbage.port}; server 127.0.0.1:${b.port};`)}
  ${up('garbagefirst2', `server 127.0.0.1:${garbage.port}; server 127.0.0.1:${b.port};`)}
  ${up('postfail', `server 127.0.0.1:${resetAfterRead.port}; server 127.0.0.1:${b.port};`)}
  ${up('postfail2', `server 127.0.0.1:${resetAfterRead.port}; server 127.0.0.1:${b.port};`)}
  ${up('offgroup', `server 127.0.0.1:${reset.port}; server 127.0.0.1:${b.port};`)}
  ${up('alldead', `server 127.0.0.1:${dead}; server 127.0.0.1:${reset.port}; server 127.0.0.1:${resetAfterRead.port};`)}
  ${up('allslow', `server 127.0.0.1:${silent.port}; server 127.0.0.1:${silent.port} weight=2;`)}
  ${up('ka', `server 127.0.0.1:${kaBackend.port}; keepalive 4;`)}
  ${up('noka', `server 127.0.0.1:${kaBackend.port};`)}
  ${up('kasmall', `server 127.0.0.1:${slowKa.port}; keepalive 2;`)}
  ${up('kalimited', `server 127.0.0.1:${kaBackend.port}; keepalive 4; keepalive_requests 2;`)}
  add_header X-Up "$upstream_addr|$upstream_status" always;
  server {
    listen 127.0.0.1:{{PORT}};
    location /weighted { proxy_pass http://weighted; }
    location /withbackup { proxy_pass http://withbackup; }
    location /deadprimary { proxy_pass http://deadprimary; }
    location /flaky { proxy_pass http://flaky; }
    location /s/ { proxy_pass http://statusy; proxy_next_upstream http_500 http_502 http_503 http_504 http_403 http_404 http_429; }
    location /plain/s/ { proxy_pass http://statusy/s/; }
    location /slowfirst { proxy_pass http://slowfirst; proxy_read_timeout 200ms; }
    location /garbage { proxy_pass http://garbagefirst; }
    location /garbage-next { proxy_pass http://garbagefirst2; proxy_next_upstream error invalid_header; }
    location /post { proxy_pass http://postfail; }
    location /post-retry { proxy_pass http://postfail2; proxy_next_upstream error non_idempotent; }
    location /off { proxy_pass http://offgroup; proxy_next_upstream off; }
    location /tries { proxy_pass http://alldead; proxy_next_upstream_tries 2; }
    location /alltries { proxy_pass http://alldead; }
    location /nextto { proxy_pass http://allslow; proxy_read_timeout 300ms; proxy_next_upstream_timeout 400ms; }
    location /ka {
      proxy_pass http://ka;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /kalimited {
      proxy_pass http://kalimited;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /noka { proxy_pass http://noka; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /kasmall { proxy_pass http://kasmall; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}`,
  });
});

after(async () => {
  await z.stop();
  for (const x of backends) await x.close();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; text: string; up: string }> {
  const r = await z.request(path, method === 'GET' ? undefined : { method, body: 'payload' });
  return { status: r.status, text: r.text, up: r.headers['x-up'] ?? '' };
}

/**
 * Round robin alternates between the two servers of these groups: ask until the answer is one
 * whose first try went to `first` (at most twice).
 */
async function startingAt(
  first: Backend,
  path: string,
  method = 'GET',
): Promise<Awaited<ReturnType<typeof get>>> {
  const r = await get(path, method);
  return r.up.startsWith(addr(first)) ? r : get(path, method);
}

const addr = (x: Backend | number) => `127.0.0.1:${typeof x === 'number' ? x : x.port}`;

test('weights follow the smooth weighted round robin: a a b a', async () => {
  const seq: string[] = [];
  for (let i = 0; i < 8; i++) seq.push((await get('/weighted')).text);
  assert.deepEqual(seq, ['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
});

test('down servers are skipped, backups wait for the primaries', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get('/withbackup')).text, 'b');
  const r = await get('/deadprimary');
  assert.equal(r.text, 'c');
  assert.equal(r.up, `${addr(dead)}, ${addr(c)}|502, 200`);
});

test('max_fails/fail_timeout: a failed server rests, then is tried again', async () => {
  const before = reset.connections();
  const first = await get('/flaky');
  assert.equal(first.text, 'b');
  assert.equal(first.up, `${addr(reset)}, ${addr(b)}|502, 200`);
  assert.equal(reset.connections(), before + 1);
  for (let i = 0; i < 4; i++) assert.equal((await get('/flaky')).up, `${addr(b)}|200`);
  assert.equal(reset.connections(), before + 1);
  await new Promise((r) => setTimeout(r, 2100));
  // the rested server comes back with its weight restored step by step, as nginx does
  const seen = [];
  for (let i = 0; i < 6; i++) seen.push((await get('/flaky')).up);
  assert.ok(
    seen.some((u) => u.startsWith(addr(reset))),
    seen.join(' / '),
  );
  assert.match(z.errorLog(), /upstream server temporarily disabled while/);
  // The reset lands after the connect completes or, on a busy machine, before it was seen (nginx
  // then also says connect() failed, from its SO_ERROR check).
  assert.match(
    z.errorLog(),
    /recv\(\) failed \(104: Connection reset by peer\) while reading response header from upstream|upstream prematurely closed connection|connect\(\) failed \(104: Connection reset by peer\) while connecting to upstream/,
  );
});

test('next upstream on each http_ condition; without it the status passes', async () => {
  for (const code of [500, 502, 503, 504, 403, 404, 429]) {
    // round robin alternates: the bad server comes first on every other request
    const r = await startingAt(bad, `/s/${code}`);
    assert.equal(r.text, 'b', `${code}`);
    assert.equal(r.up, `${addr(bad)}, ${addr(b)}|${code}, 200`);
  }
  const plain = await startingAt(bad, '/plain/s/503');
  assert.equal(plain.status, 503);
  assert.equal(plain.text, 'bad');
});

test('timeout and invalid_header', async () => {
  const r = await startingAt(silent, '/slowfirst');
  assert.equal(r.up, `${addr(silent)}, ${addr(b)}|504, 200`);
  const g = await startingAt(garbage, '/garbage');
  assert.equal(g.status, 502);
  assert.match(
    z.errorLog(),
    /upstream sent no valid HTTP\/1\.0 header while reading response header from upstream/,
  );
  const n = await startingAt(garbage, '/garbage-next');
  assert.equal(n.up, `${addr(garbage)}, ${addr(b)}|502, 200`);
});

test('non-idempotent requests are not retried once sent, unless non_idempotent', async () => {
  const r = await startingAt(resetAfterRead, '/post', 'POST');
  assert.equal(r.status, 502);
  assert.equal(r.up, `${addr(resetAfterRead)}|502`);
  const retried = await startingAt(resetAfterRead, '/post-retry', 'POST');
  assert.equal(retried.up, `${addr(resetAfterRead)}, ${addr(b)}|502, 200`);
});

test('proxy_next_upstream off', async () => {
  const seen = new Set<number>();
  for (let i = 0; i < 3; i++) seen.add((await get('/off')).status);
  assert.ok(seen.has(502));
});

test('proxy_next_upstream_tries and the all-failed answer', async () => {
  const two = await get('/tries');
  assert.equal(two.status, 502);
  assert.equal(two.up.split('|')[0]!.split(', ').length, 2);
  const all = await get('/alltries');
  assert.equal(all.status, 502);
  assert.ok(all.up.split('|')[0]!.split(', ').length >= 1);
});

test('proxy_next_upstream_timeout stops retrying', async () => {
  const r = await get('/nextto');
  assert.equal(r.status, 504);
  assert.equal(r.up.split('|')[1], '504, 504');
});

test('keepalive N keeps at most N idle connections, closing the least recently used', async () => {
  const burst = async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => get('/kasmall')));
    for (const r of answers) assert.equal(r.text, 'slowka');
  };
  // five at once: five connections; the three past the limit stay a second (nginx closes them at
  // once), so a burst right after reuses all five
  await burst();
  assert.equal(slowKa.connections(), 5);
  await burst();
  assert.equal(slowKa.connections(), 5);
  // then the cache keeps two
  await waitFor(() => slowKa.open!() === 2, 4000, 'the backend to see three connections closed');
  // the two kept serve what follows, one request at a time
  for (let i = 0; i < 3; i++) assert.equal((await get('/kasmall')).text, 'slowka');
  assert.equal(slowKa.connections(), 5);
  assert.equal(slowKa.open!(), 2);
});

test('keepalive reuses upstream connections; keepalive_requests limits them', async () => {
  const start = kaBackend.connections();
  for (let i = 0; i < 5; i++) assert.equal((await get('/ka')).text, 'ka');
  assert.equal(kaBackend.connections(), start + 1);
  const mid = kaBackend.connections();
  for (let i = 0; i < 4; i++) await get('/kalimited');
  assert.equal(kaBackend.connections(), mid + 2);
  const end = kaBackend.connections();
  // without `keepalive` in the group nothing is cached
  for (let i = 0; i < 3; i++) await get('/noka');
  assert.equal(kaBackend.connections(), end + 3);
});
