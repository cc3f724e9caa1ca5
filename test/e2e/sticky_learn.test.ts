// `sticky` end to end, the parts sticky.test.ts leaves out: several create= and lookup= variables
// (the first non-empty one counts), a session bound to a server that a reload marks `down` rebinding
// to the server that answered, servers named by `route=` (for learned sessions and for cookies),
// cookie and route requests bound to a `down` server balanced as unbound,
// a full zone expiring its least recently used session with nginx's warning, and the directive's
// errors through `-t` and a refused reload.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Backend, httpBackend } from '../helpers/backend.ts';
import { type Instance, runZonesync, startZonesync, waitFor } from '../helpers/instance.ts';

let a: Backend;
let b: Backend;

/** Body: the backend's name. `X-Set: n1=v1,n2=v2` makes it set those cookies. */
const named = (name: string) =>
  httpBackend(name, (req, res) => {
    const set = req.rawHeaders.find(([n]) => n.toLowerCase() === 'x-set')?.[1];
    if (set !== undefined)
      res.setHeader(
        'Set-Cookie',
        set.split(',').map((c) => `${c}; Path=/`),
      );
    res.end(name);
  });

interface Layout {
  /** Server lines of upstream `moving`, which reloads change. */
  moving?: string;
  /** Upstream `moving`'s sticky zone (a reload moving it elsewhere is refused). */
  movingUpstream?: string;
  /** Mark backend b `down` in the cookie and route upstreams. */
  downB?: boolean;
}

function conf(layout: Layout = {}): string {
  const A = `127.0.0.1:${a.port}`;
  const B = `127.0.0.1:${b.port}`;
  const moving = layout.moving ?? `server ${A} route=ra; server ${B} route=rb;`;
  const routes = `server ${A} route=ra; server ${B} route=rb${layout.downB ? ' down' : ''};`;
  return `
events {}
http {
  access_log off;
  upstream multi {
    server ${A}; server ${B};
    sticky learn create=$upstream_cookie_first create=$upstream_cookie_sid
                 lookup=$arg_s lookup=$cookie_sid zone=multi:1m;
  }
  upstream ${layout.movingUpstream ?? 'moving'} {
    ${moving}
    sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=moving:1m;
  }
  upstream full {
    server ${A}; server ${B};
    sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=full:32k;
  }
  upstream routed {
    ${routes}
    sticky cookie srv;
  }
  upstream byroute {
    ${routes}
    sticky route $arg_r $cookie_r;
  }
  server {
    listen 127.0.0.1:{{PORT}};
    location /multi/ { proxy_pass http://multi; }
    location /moving/ { proxy_pass http://${layout.movingUpstream ?? 'moving'}; }
    location /full/ { proxy_pass http://full; }
    location /routed/ { proxy_pass http://routed; }
    location /byroute/ { proxy_pass http://byroute; }
  }
}`;
}

let z: Instance;
before(async () => {
  a = await named('a');
  b = await named('b');
  z = await startZonesync({ conf: conf() });
});
after(async () => {
  await z?.stop();
  await a?.close();
  await b?.close();
});

/** The backend answering `uri`, with `cookie`, asking it to set the cookies `set`. */
async function server(uri: string, cookie?: string, set?: string): Promise<string> {
  const headers: Record<string, string> = {};
  if (cookie !== undefined) headers.Cookie = cookie;
  if (set !== undefined) headers['X-Set'] = set;
  const res = await z.request(uri, { headers });
  assert.equal(res.status, 200, `${uri}: ${res.statusLine}`);
  return res.text;
}

async function servers(uri: string, cookie?: string, n = 4): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await server(uri, cookie));
  return out;
}

const reloads = () => z.errorLog().split('reconfiguring done').length - 1;

async function reload(layout: Layout): Promise<void> {
  const before = reloads();
  z.writeConf(conf(layout));
  z.signal('SIGHUP');
  await waitFor(() => reloads() > before, 10_000, 'reload');
}

test('learn: the first non-empty create= names the session, the first non-empty lookup= finds it', async () => {
  // create=$upstream_cookie_first is empty, so the session is the `sid` cookie's value.
  const s1 = await server('/multi/', undefined, 'sid=S1');
  assert.deepEqual(await servers('/multi/', 'sid=S1'), [s1, s1, s1, s1], 'lookup=$arg_s empty: $cookie_sid');
  assert.deepEqual(await servers('/multi/?s=S1'), [s1, s1, s1, s1], 'lookup=$arg_s');
  // $arg_s comes first: an unknown session there wins over a known cookie, and is balanced.
  assert.equal(new Set(await servers('/multi/?s=unknown', 'sid=S1')).size, 2);
  // Both create= variables set: the first one is the session, the second names nothing.
  const f1 = await server('/multi/', undefined, 'first=F1,sid=S2');
  assert.deepEqual(await servers('/multi/?s=F1'), [f1, f1, f1, f1]);
  assert.equal(new Set(await servers('/multi/', 'sid=S2')).size, 2);
});

test('learn: sessions name servers by route=, so a reload moving the addresses moves them too', async () => {
  const first = await server('/moving/', undefined, 'sid=R1');
  const second = await server('/moving/', undefined, 'sid=R2');
  assert.notEqual(first, second);
  // The same routes on swapped addresses: each session follows its route, not its address.
  await reload({ moving: `server 127.0.0.1:${b.port} route=ra; server 127.0.0.1:${a.port} route=rb;` });
  assert.deepEqual(await servers('/moving/', 'sid=R1', 2), [second, second]);
  assert.deepEqual(await servers('/moving/', 'sid=R2', 2), [first, first]);
  await reload({});
  assert.deepEqual(await servers('/moving/', 'sid=R1', 2), [first, first]);
});

test('learn: a session whose server is down goes to another and stays bound to it', async () => {
  const bound = await server('/moving/', undefined, 'sid=D1');
  const other = bound === 'a' ? 'b' : 'a';
  const down = (x: string) => (x === bound ? ' down' : '');
  const line = (x: string, port: number, route: string) =>
    `server 127.0.0.1:${port} route=${route}${down(x)};`;
  await reload({ moving: `${line('a', a.port, 'ra')} ${line('b', b.port, 'rb')}` });
  assert.deepEqual(await servers('/moving/', 'sid=D1'), [other, other, other, other]);
  // The server is back; the session was learned again on the other one and stays there.
  await reload({});
  assert.deepEqual(await servers('/moving/', 'sid=D1'), [other, other, other, other]);
});

test('cookie: a server with route= is named by its route in Set-Cookie', async () => {
  const res = await z.request('/routed/');
  assert.equal(res.headers['set-cookie'], `srv=r${res.text}`);
  const other = res.text === 'a' ? 'b' : 'a';
  assert.deepEqual(await servers('/routed/', `srv=r${other}`), [other, other, other, other]);
});

test('cookie and route: a request bound to a down server is balanced, and the cookie names the new one', async () => {
  assert.deepEqual(await servers('/byroute/?r=rb', 'r=ra'), ['b', 'b', 'b', 'b'], 'the first non-empty');
  assert.deepEqual(await servers('/byroute/?r=', 'r=rb'), ['b', 'b', 'b', 'b']);
  await reload({ downB: true });
  assert.deepEqual(await servers('/byroute/?r=rb'), ['a', 'a', 'a', 'a']);
  const res = await z.request('/routed/', { headers: { Cookie: 'srv=rb' } });
  assert.deepEqual([res.text, res.headers['set-cookie']], ['a', 'srv=ra']);
  await reload({});
  assert.deepEqual(await servers('/byroute/?r=rb'), ['b', 'b', 'b', 'b']);
  assert.deepEqual(await servers('/routed/', 'srv=rb'), ['b', 'b', 'b', 'b']);
});

test('learn: a full zone expires its least recently used session, with nginx warning', async () => {
  const s0 = await server('/full/', undefined, 'sid=full-0');
  const s1 = await server('/full/', undefined, 'sid=full-1');
  assert.notEqual(s0, s1);
  // full-0 is used again: full-1 is now the least recently used session.
  assert.equal(await server('/full/', 'sid=full-0'), s0);
  const warning =
    /\[warn\] \d+#0: could not allocate node in sticky session zone "full", expiring least recently used session\n/g;
  const warnings = () => z.errorLog().match(warning)?.length ?? 0;
  // One session at a time until the first warning: each later one would expire the next oldest.
  let n = 2;
  for (; warnings() === 0; n++) {
    assert.ok(n < 5000, 'the zone never filled');
    await server('/full/', undefined, `sid=full-${n}`);
  }
  assert.equal(warnings(), 1);
  assert.ok(n > 50, `only ${n} sessions fit in 32k`);
  assert.doesNotMatch(z.errorLog(), /\[alert\].*sticky session zone/, 'the retry found room');
  assert.equal(new Set(await servers('/full/', 'sid=full-1')).size, 2, 'the oldest session is gone');
  assert.deepEqual(await servers('/full/', 'sid=full-0', 2), [s0, s0], 'the refreshed one stays');
  const last = await server('/full/', undefined, 'sid=full-last');
  assert.deepEqual(await servers('/full/', 'sid=full-last', 2), [last, last], 'new sessions still bind');
});

test('a reload moving a learn zone to another upstream is refused; the old configuration serves', async () => {
  const before = z.errorLog().length;
  z.writeConf(conf({ movingUpstream: 'renamed' }));
  z.signal('SIGHUP');
  await waitFor(() => /\[emerg\]/.test(z.errorLog().slice(before)), 10_000, 'the refusal');
  assert.match(
    z.errorLog().slice(before),
    /\[emerg\] \d+#0: sticky zone "moving" is used in upstream "renamed" while previously it was used in upstream "moving"/,
  );
  const bound = await server('/moving/', undefined, 'sid=M1');
  assert.deepEqual(await servers('/moving/', 'sid=M1', 2), [bound, bound]);
  z.writeConf(conf());
});

test('-t prints the directive errors as nginx does', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zonesync-sticky-'));
  mkdirSync(path.join(dir, 'conf'));
  mkdirSync(path.join(dir, 'logs'));
  const file = path.join(dir, 'conf/zonesync.conf');
  const learn = (zone: string) => `sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=${zone};`;
  for (const [lines, message] of [
    [learn('s:16k'), '"sticky" directive zone is too small'],
    ['sticky learn create=$a lookup=$cookie_s;', '"sticky" directive "zone" parameter is not specified'],
    [`${learn('s:1m')} sticky route $cookie_r;`, '"sticky" directive is duplicate'],
    ['sticky route $nosuch;', 'unknown "nosuch" variable'],
    ['sticky cookie srv samesite=sometimes;', '"sticky" directive invalid "samesite" parameter value'],
  ]) {
    writeFileSync(file, `events {}\nhttp {\n  upstream u {\n    server 127.0.0.1:1;\n    ${lines}\n  }\n}\n`);
    const r = await runZonesync(['-p', dir, '-t']);
    assert.equal(r.code, 1, lines);
    assert.ok(r.stderr.includes(`[emerg] ${message}`), `${lines}: ${r.stderr}`);
  }
  writeFileSync(file, `events {}\nhttp {\n  upstream u { server 127.0.0.1:1; ${learn('s:1m')} }\n}\n`);
  assert.equal((await runZonesync(['-p', dir, '-t'])).code, 0);
  rmSync(dir, { recursive: true, force: true });
});
