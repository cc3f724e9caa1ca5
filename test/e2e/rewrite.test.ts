// The rewrite module through a real bin/zonesync process: return, rewrite flags and redirects,
// set/if with the location switch, server-level rewrites, the rewrite cycle limit, rewrite_log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { modules } from '../../src/modules.ts';
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
    server_name rw.test;
    rewrite ^/srv/(.*)$ /new/$1;
    if ($http_x_deny) { return 403; }

    location /ret { return 200 "text $uri $args"; }
    location /moved { return 301 /elsewhere; }
    location /url { return https://example.com$request_uri; }
    location /gone { return 410; }
    location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }
    location /new/ { return 200 "new:$uri:$args"; }
    location /perm { rewrite ^/perm/(.*)$ /target/$1 permanent; }
    location /redir { rewrite ^ http://other.test/x?a=1 redirect; }
    location /args { rewrite ^ /new/a?b=2 last; }
    location /noargs { rewrite ^ /new/b? last; }
    location /brk { rewrite ^ /new/brk break; return 200 "after-break:$uri"; }
    location /loop { rewrite ^ /loop2 last; }
    location /loop2 { rewrite ^ /loop last; }
    location /setif {
      set $who "anon";
      if ($arg_user) { set $who $arg_user; }
      if ($who = root) { return 403 "no root"; }
      return 200 "hi $who";
    }
    location /ifloc {
      if ($arg_alt) { return 200 "alt"; }
      return 200 "main";
    }
    location /cap {
      if ($uri ~ ^/cap/(?<id>\\d+)$) { return 200 "id=$id 1=$1"; }
      return 404;
    }
    location /logged {
      rewrite_log on;
      rewrite ^/logged/(.*)$ /new/$1 last;
    }
  }
}`,
  });
});
after(() => z.stop());

test('return: text, redirects, bare error codes', async () => {
  const t = await z.request('/ret/x?q=1');
  assert.equal(t.status, 200);
  assert.equal(t.text, 'text /ret/x q=1');
  assert.equal(t.headers['content-type'], 'text/plain');

  const m = await z.request('/moved', { host: 'rw.test' });
  assert.equal(m.status, 301);
  assert.equal(m.headers.location, `http://rw.test:${z.port}/elsewhere`);
  assert.match(m.text, /301 Moved Permanently/);

  const u = await z.request('/url?a=b');
  assert.equal(u.status, 302);
  assert.equal(u.headers.location, 'https://example.com/url?a=b');

  const g = await z.request('/gone');
  assert.equal(g.status, 410);
  assert.match(g.text, /<title>410 Gone<\/title>/);
});

test('rewrite last looks the location up again; args kept, replaced or dropped', async () => {
  assert.equal((await z.request('/old/page?x=1')).text, 'new:/new/page:x=1');
  assert.equal((await z.request('/args?x=1')).text, 'new:/new/a:b=2&x=1');
  assert.equal((await z.request('/noargs?x=1')).text, 'new:/new/b:');
});

test('rewrite break stays in the location and stops the script', async () => {
  // `break` ends the rewrite script: the `return` after it never runs, and no content answers.
  const r = await z.request('/brk');
  assert.equal(r.status, 404);
});

test('rewrite redirect and permanent', async () => {
  const p = await z.request('/perm/a?k=v', { host: 'rw.test' });
  assert.equal(p.status, 301);
  assert.equal(p.headers.location, `http://rw.test:${z.port}/target/a?k=v`);
  const r = await z.request('/redir?k=v');
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'http://other.test/x?a=1&k=v');
});

test('a rewrite loop ends in 500 with nginx error line', async () => {
  const r = await z.request('/loop');
  assert.equal(r.status, 500);
  assert.match(z.errorLog(), /\[error\] .*rewrite or internal redirection cycle while processing "\/loop/);
});

test('server-level rewrite and if run before the location lookup', async () => {
  assert.equal((await z.request('/srv/x')).text, 'new:/new/x:');
  assert.equal((await z.request('/ret', { headers: { 'X-Deny': '1' } })).status, 403);
});

test('set and if', async () => {
  assert.equal((await z.request('/setif')).text, 'hi anon');
  assert.equal((await z.request('/setif?user=bob')).text, 'hi bob');
  const root = await z.request('/setif?user=root');
  assert.equal(root.status, 403);
  assert.equal(root.text, 'no root');
  assert.equal((await z.request('/ifloc?alt=1')).text, 'alt');
  assert.equal((await z.request('/ifloc')).text, 'main');
  assert.equal((await z.request('/cap/42')).text, 'id=42 1=42');
});

test('rewrite_log writes matches at notice', async () => {
  assert.equal((await z.request('/logged/y')).text, 'new:/new/y:');
  const log = z.errorLog();
  assert.match(
    log,
    /\[notice\] .*"\^\/logged\/\(\.\*\)\$" matches "\/logged\/y", client: 127\.0\.0\.1, server: rw\.test/,
  );
  assert.match(log, /\[notice\] .*rewritten data: "\/new\/y", args: ""/);
});

// Static files and try_files come with other modules: checked once they are part of the build.
const withStatic = modules.some((m) => m.directives.some((d) => d.name === 'try_files'));

test('return answers before try_files and static files', { skip: !withStatic }, async () => {
  const s = await startZonesync({
    conf: `
events {}
http {
  access_log off;
  server {
    listen 127.0.0.1:{{PORT}};
    root html;
    location / {
      try_files $uri =404;
      return 200 "returned first";
    }
  }
}`,
    files: { 'html/file.txt': 'static file' },
  });
  try {
    assert.equal((await s.request('/file.txt')).text, 'returned first');
  } finally {
    await s.stop();
  }
});
