// `sticky` end to end through a real bin/zonesync and real backends: learn sessions created from
// the backend's Set-Cookie, rebinding after a failure, expiry, `header` timing, cookie and route
// modes, and sessions that survive a reload with the same configuration.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Backend, type Handler, httpBackend } from '../helpers/backend.ts';
import { type Instance, startZonesync, waitFor } from '../helpers/instance.ts';

let z: Instance;
const backends: Backend[] = [];
/** Answers 502 while set. */
let failing = false;
/** Held responses: their heads are out, their bodies wait for release(). */
const held: (() => void)[] = [];
let conf = '';

const header = (req: { rawHeaders: [string, string][] }, name: string) =>
  req.rawHeaders.find(([n]) => n.toLowerCase() === name)?.[1];

/** Body: the backend's name. `X-Want-Sid: v` makes it set `sid=v`; `X-Hold` holds the body. */
function sessionHandler(name: string, mayFail = false): Handler {
  return (req, res) => {
    if (mayFail && failing) {
      res.writeHead(502, { 'Content-Length': '0' });
      res.end();
      return;
    }
    const want = header(req, 'x-want-sid');
    if (want !== undefined) res.setHeader('Set-Cookie', `sid=${want}; Path=/`);
    if (header(req, 'x-hold') === undefined) {
      res.end(name);
      return;
    }
    res.writeHead(200);
    res.flushHeaders();
    held.push(() => res.end(name));
  };
}

const up = (name: string, servers: Backend[], sticky: string, params: string[] = []) =>
  `upstream ${name} {\n${servers.map((b, i) => `  server 127.0.0.1:${b.port} ${params[i] ?? ''};`).join('\n')}\n  ${sticky}\n}`;
const learn = (zone: string, extra = '') =>
  `sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=${zone} ${extra};`;

let a: Backend;
let b: Backend;

before(async () => {
  a = await httpBackend('a', sessionHandler('a'));
  b = await httpBackend('b', sessionHandler('b'));
  const flaky = await httpBackend('flaky', sessionHandler('flaky', true));
  const c = await httpBackend('c', sessionHandler('c'));
  const h1 = await httpBackend('h1', sessionHandler('h1'));
  const h2 = await httpBackend('h2', sessionHandler('h2'));
  backends.push(a, b, flaky, c, h1, h2);
  const failFast = ['max_fails=1 fail_timeout=1s', 'max_fails=1 fail_timeout=1s'];
  conf = `
events {}
http {
  access_log off;
  ${up('learn', [a, b], learn('learn:1m'))}
  ${up('rebind', [flaky, c], learn('rebind:1m'), failFast)}
  ${up('expiring', [a, b], learn('expiring:1m', 'timeout=1s'))}
  ${up('header', [h1, h2], learn('hdr:1m', 'header'))}
  ${up('noheader', [h1, h2], learn('nohdr:1m'))}
  ${up('cookie', [a, b], 'sticky cookie srv expires=1h domain=.example.com httponly samesite=lax secure path=/;')}
  ${up('route', [a, b], 'sticky route $cookie_route $arg_route;', ['route=a', 'route=b'])}
  server {
    listen 127.0.0.1:{{PORT}};
    location /learn/ { proxy_pass http://learn; }
    location /rebind/ { proxy_pass http://rebind; proxy_next_upstream error http_502; }
    location /expiring/ { proxy_pass http://expiring; }
    location /header/ { proxy_pass http://header; }
    location /noheader/ { proxy_pass http://noheader; }
    location /cookie/ { proxy_pass http://cookie; }
    location /route/ { proxy_pass http://route; }
  }
}`;
  z = await startZonesync({ conf });
});

after(async () => {
  await z?.stop();
  for (const x of backends) await x.close();
});

/** The backend that answered `path`, sending `cookie` and asking for session `want`. */
async function server(path: string, cookie?: string, want?: string): Promise<string> {
  const headers: Record<string, string> = {};
  if (cookie !== undefined) headers.Cookie = cookie;
  if (want !== undefined) headers['X-Want-Sid'] = want;
  const res = await z.request(path, { headers });
  assert.equal(res.status, 200, `${path}: ${res.statusLine} ${res.text}`);
  return res.text;
}

async function serversOf(path: string, cookie: string, n = 4): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await server(path, cookie));
  return out;
}

test('learn: the session the backend created binds the requests carrying its cookie', async () => {
  const first = await server('/learn/', undefined, 'L1');
  const second = await server('/learn/', undefined, 'L2');
  assert.notEqual(first, second, 'two new sessions are balanced');
  assert.deepEqual(await serversOf('/learn/', 'sid=L1'), [first, first, first, first]);
  assert.deepEqual(await serversOf('/learn/', 'other=1; sid=L2'), [second, second, second, second]);
  // an unknown session is balanced as unbound
  assert.equal(new Set(await serversOf('/learn/', 'sid=nobody')).size, 2);
});

test('learn: a failing server rebinds its sessions to the one that answered', async () => {
  assert.equal(await server('/rebind/', undefined, 'R1'), 'flaky');
  assert.deepEqual(await serversOf('/rebind/', 'sid=R1', 2), ['flaky', 'flaky']);
  failing = true;
  assert.equal(await server('/rebind/', 'sid=R1'), 'c');
  failing = false;
  // flaky is usable again after fail_timeout, but the session now belongs to c
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(await serversOf('/rebind/', 'sid=R1'), ['c', 'c', 'c', 'c']);
});

test('learn: a session unused for `timeout` expires; use refreshes it', async () => {
  const first = await server('/expiring/', undefined, 'E1');
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await server('/expiring/', 'sid=E1'), first);
  }
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(new Set(await serversOf('/expiring/', 'sid=E1')).size, 2);
});

/** Start a held request creating session `sid`; `answer` is its server, once it is released. */
async function heldRequest(path: string, sid: string): Promise<{ answer: Promise<string> }> {
  const seen = backends.reduce((n, x) => n + x.seen.length, 0);
  const answer = z.request(path, { headers: { 'X-Want-Sid': sid, 'X-Hold': '1' } }).then((r) => r.text);
  await waitFor(() => held.length === 1, 5000, 'held response');
  assert.equal(
    backends.reduce((n, x) => n + x.seen.length, 0),
    seen + 1,
  );
  // the proxy has read the head once it got the first byte of the body's framing; give it a moment
  await new Promise((r) => setTimeout(r, 100));
  return { answer };
}

test('learn header: the session exists as soon as the head arrives', async () => {
  for (const [path, learnsEarly] of [
    ['/header/', true],
    ['/noheader/', false],
  ] as const) {
    const sid = `H-${path}`;
    const { answer } = await heldRequest(path, sid);
    const during = await server(path, `sid=${sid}`);
    held.shift()?.();
    const first = await answer;
    assert.equal(during === first, learnsEarly, `${path}: ${first} then ${during}`);
    assert.deepEqual(await serversOf(path, `sid=${sid}`, 2), [first, first]);
  }
});

test('cookie: Set-Cookie names the server with every attribute; the cookie then sticks', async () => {
  const res = await z.request('/cookie/');
  const setCookie = res.headers['set-cookie'] ?? '';
  const port = res.text === 'a' ? a.port : b.port;
  const sid = createHash('md5').update(`127.0.0.1:${port}`).digest('hex');
  assert.match(
    setCookie,
    new RegExp(
      `^srv=${sid}; expires=\\w{3}, \\d\\d-\\w{3}-\\d\\d \\d\\d:\\d\\d:\\d\\d GMT; max-age=3600; ` +
        'domain=.example.com; httponly; secure; samesite=lax; path=/$',
    ),
  );
  const sticky = await serversOf('/cookie/', `srv=${sid}`);
  assert.deepEqual(sticky, [res.text, res.text, res.text, res.text]);
  // an unknown server id is balanced as unbound, and the new server is named
  assert.equal(new Set(await serversOf('/cookie/', 'srv=0123')).size, 2);
});

test('route: the first non-empty variable picks the server by its route=', async () => {
  assert.deepEqual(await serversOf('/route/?route=b', ''), ['b', 'b', 'b', 'b']);
  assert.deepEqual(await serversOf('/route/?route=b', 'route=a'), ['a', 'a', 'a', 'a']);
  assert.equal(new Set(await serversOf('/route/?route=z', '')).size, 2);
});

test('reload with the same configuration keeps the learned sessions', async () => {
  const first = await server('/learn/', undefined, 'K1');
  const second = await server('/learn/', undefined, 'K2');
  assert.notEqual(first, second);
  z.writeConf(conf);
  z.signal('SIGHUP');
  await waitFor(() => /reconfiguring done/.test(z.errorLog()), 5000, 'reload');
  // a fresh zone would send both to the first server of a fresh round robin
  assert.deepEqual(await serversOf('/learn/', 'sid=K2', 2), [second, second]);
  assert.deepEqual(await serversOf('/learn/', 'sid=K1', 2), [first, first]);
});
