// proxy_pass end to end against real backends: URI mapping, request and response headers,
// request bodies, proxy_redirect, failures (502/504 with nginx's log lines) and WebSocket upgrade.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Backend, closedPort, httpBackend, rawBackend } from '../helpers/backend.ts';
import { type Instance, startZonesync } from '../helpers/instance.ts';

let z: Instance;
let echo: Backend;
let silent: Backend;
let ws: Backend;
let dead: number;

before(async () => {
  echo = await httpBackend('echo', (req, res) => {
    if (req.url.startsWith('/redirect')) {
      res.writeHead(302, {
        Location: `http://127.0.0.1:${echo.port}/redirect/moved?a=b`,
        'Content-Length': '0',
      });
      return res.end();
    }
    if (req.url.startsWith('/relative')) {
      res.writeHead(301, { Location: '/rel/path', 'Content-Length': '0' });
      return res.end();
    }
    const body = JSON.stringify({ url: req.url, headers: req.rawHeaders.flat(), body: req.body.toString() });
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      Server: 'backend',
      'X-Pad': 'pad',
      'X-Accel-Buffering': 'no',
      'X-Custom': 'yes',
      'Keep-Alive': 'timeout=5',
    });
    res.end(body);
  });
  // accepts, reads, never answers: read timeouts
  silent = await rawBackend((s) => s.resume());
  ws = await rawBackend((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      s.removeAllListeners('data');
      s.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n',
      );
      s.write('hello-from-backend');
      s.on('data', (m) => s.write(`echo:${m.toString()}`));
    });
  });
  dead = await closedPort();
  z = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    server_name proxy.test;
    location / { proxy_pass http://127.0.0.1:${echo.port}; }
    location /strip/ { proxy_pass http://127.0.0.1:${echo.port}/other/; }
    location = /exact { proxy_pass http://127.0.0.1:${echo.port}/target; }
    location ~ ^/re(/.*)$ { proxy_pass http://127.0.0.1:${echo.port}; }
    location /vars/ {
      set $up 127.0.0.1:${echo.port};
      proxy_pass http://$up/v$request_uri;
    }
    location /rw/ {
      rewrite ^/rw/(.*)$ /users/$1 break;
      proxy_pass http://127.0.0.1:${echo.port}/ignored/;
    }
    location /headers/ {
      proxy_pass http://127.0.0.1:${echo.port};
      proxy_set_header Host custom.host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Empty "";
      proxy_set_header User-Agent "";
      proxy_pass_header Server;
      proxy_hide_header X-Custom;
      add_header X-Up "$upstream_addr $upstream_status $proxy_host $proxy_port";
    }
    location /nohead/ {
      proxy_pass http://127.0.0.1:${echo.port};
      proxy_pass_request_headers off;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
    location /redirect/ { proxy_pass http://127.0.0.1:${echo.port}/redirect/; }
    location /relative/ { proxy_pass http://127.0.0.1:${echo.port}; }
    location /stream/ {
      proxy_pass http://127.0.0.1:${echo.port};
      proxy_http_version 1.1;
      proxy_request_buffering off;
    }
    location /dead { proxy_pass http://127.0.0.1:${dead}; }
    location /slow { proxy_pass http://127.0.0.1:${silent.port}; proxy_read_timeout 200ms; }
    location /ws {
      proxy_pass http://127.0.0.1:${ws.port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
    }
  }
}`,
  });
});

after(async () => {
  await z.stop();
  await echo.close();
  await silent.close();
  await ws.close();
});

interface Echoed {
  url: string;
  headers: string[];
  body: string;
}

async function echoed(path: string, init?: Parameters<Instance['request']>[1]): Promise<Echoed> {
  const r = await z.request(path, init);
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text) as Echoed;
}

test('without a URI part the request target goes as received', async () => {
  assert.equal((await echoed('/a//b/../c?x=%20y')).url, '/a//b/../c?x=%20y');
});

test('a URI part replaces the matched location prefix', async () => {
  assert.equal((await echoed('/strip/one/two?q=1')).url, '/other/one/two?q=1');
  assert.equal((await echoed('/strip/')).url, '/other/');
  assert.equal((await echoed('/exact?a=b')).url, '/target?a=b');
});

test('a normalised URI is escaped when the client quoted it', async () => {
  assert.equal((await echoed('/strip/a%20b/%3F')).url, '/other/a%20b/%3F');
});

test('regex location without URI part passes the URI; variables give the URI as is', async () => {
  assert.equal((await echoed('/re/x?y')).url, '/re/x?y');
  assert.equal((await echoed('/vars/a?b=c')).url, '/v/vars/a?b=c');
});

test('after rewrite ... break the whole new URI is sent', async () => {
  assert.equal((await echoed('/rw/bob?x=1')).url, '/users/bob?x=1');
});

test('location with trailing slash redirects the bare prefix', async () => {
  const r = await z.request('/strip');
  assert.equal(r.status, 301);
});

test('default request headers: Host $proxy_host, Connection close, client headers after', async () => {
  const e = await echoed('/plain', {
    headers: { 'User-Agent': 'ua/1', Accept: '*/*', TE: 'trailers', 'Keep-Alive': '1', Upgrade: 'x' },
  });
  assert.deepEqual(e.headers, [
    'Host',
    `127.0.0.1:${echo.port}`,
    'Connection',
    'close',
    'User-Agent',
    'ua/1',
    'Accept',
    '*/*',
  ]);
});

test('proxy_set_header: user fields first, empty ones dropped, overridden client fields dropped', async () => {
  const e = await echoed('/headers/x', {
    headers: { 'User-Agent': 'ua', 'X-Forwarded-For': '10.0.0.1', 'X-Other': 'o' },
  });
  assert.deepEqual(e.headers, [
    'Host',
    'custom.host',
    'X-Real-IP',
    '127.0.0.1',
    'X-Forwarded-For',
    '10.0.0.1, 127.0.0.1',
    'Connection',
    'close',
    'X-Other',
    'o',
  ]);
});

test('response headers: hop-by-hop dropped, Server/Date/X-Pad/X-Accel hidden, order kept', async () => {
  const r = await z.request('/plain');
  const names = r.rawHeaders.map(([n]) => n);
  assert.deepEqual(names, ['Server', 'Date', 'Content-Type', 'Content-Length', 'Connection', 'X-Custom']);
  assert.match(r.headers.server!, /^zonesync/);
  assert.equal(r.headers['content-type'], 'application/json');
});

test('proxy_pass_header Server, proxy_hide_header, upstream variables', async () => {
  const r = await z.request('/headers/v');
  assert.equal(r.headers['x-custom'], undefined);
  assert.ok(r.headers.server!.includes('backend'));
  assert.equal(
    r.headers['x-up'],
    `127.0.0.1:${echo.port} 200 custom.host 80`
      .replace('custom.host', `127.0.0.1:${echo.port}`)
      .replace(' 80', ` ${echo.port}`),
  );
});

test('proxy_pass_request_headers off and proxy_pass_request_body off', async () => {
  const e = await echoed('/nohead/', { method: 'POST', body: 'data', headers: { 'X-A': 'b' } });
  assert.deepEqual(e.headers, ['Host', `127.0.0.1:${echo.port}`, 'Connection', 'close']);
  assert.equal(e.body, '');
});

test('request bodies: sized and chunked are buffered and sent with Content-Length', async () => {
  const sized = await echoed('/body', { method: 'POST', body: 'x'.repeat(5000) });
  assert.equal(sized.body.length, 5000);
  assert.ok(sized.headers.includes('Content-Length'));
  const raw = await z.rawRequest(
    'POST /chunked HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  );
  const e = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Echoed;
  assert.equal(e.body, 'hello world');
  assert.deepEqual(e.headers.slice(4, 6), ['Content-Length', '11']);
});

test('proxy_request_buffering off streams bodies; chunked stays chunked on HTTP/1.1', async () => {
  const raw = await z.rawRequest(
    'POST /stream/c HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  );
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  const e = JSON.parse(
    body.includes('{') ? body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1) : body,
  ) as Echoed;
  assert.equal(e.body, 'abc');
  assert.ok(e.headers.includes('Transfer-Encoding'));
  const sized = await echoed('/stream/s', { method: 'PUT', body: 'y'.repeat(70000) });
  assert.equal(sized.body.length, 70000);
});

test('proxy_redirect default maps the upstream URL back to the location', async () => {
  const r = await z.request('/redirect/x', { host: 'proxy.test' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, `http://proxy.test:${z.port}/redirect/moved?a=b`);
});

test('a relative Location the proxy did not rewrite is passed as is', async () => {
  const r = await z.request('/relative/x');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/rel/path');
});

test('connection refused: 502 and nginx log line', async () => {
  const r = await z.request('/dead?a=1');
  assert.equal(r.status, 502);
  assert.match(r.text, /502 Bad Gateway/);
  assert.match(
    z.errorLog(),
    new RegExp(
      `\\[error\\] \\d+#0: \\*\\d+ connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream, client: 127\\.0\\.0\\.1, server: proxy\\.test, request: "GET /dead\\?a=1 HTTP/1\\.1", upstream: "http://127\\.0\\.0\\.1:${dead}/dead\\?a=1", host: "localhost"`,
    ),
  );
});

test('read timeout: 504 and nginx log line', async () => {
  const r = await z.request('/slow');
  assert.equal(r.status, 504);
  assert.match(
    z.errorLog(),
    /upstream timed out \(110: Connection timed out\) while reading response header from upstream, .*upstream: "http:\/\/127\.0\.0\.1:\d+\/slow"/,
  );
});

test('WebSocket upgrade: 101 then a two-way pipe', async () => {
  const sock = net.connect(z.port, '127.0.0.1');
  let got = '';
  sock.on('data', (d) => {
    got += d.toString('latin1');
  });
  sock.write(
    'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n',
  );
  const wait = async (re: RegExp) => {
    for (let i = 0; i < 100 && !re.test(got); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(got, re);
  };
  await wait(/hello-from-backend/);
  assert.match(
    got,
    /^HTTP\/1\.1 101 Switching Protocols\r\nServer: zonesync[^\r]*\r\nDate: [^\r]+\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc\r\n\r\n/,
  );
  sock.write('ping');
  await wait(/echo:ping/);
  sock.destroy();
});
