// try_files through a real bin/zonesync: files, directories, and the last parameter's three forms.
import assert from 'node:assert/strict';
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
    location / { try_files $uri $uri/ /fallback.html; }
    location /code/ { try_files $uri =418; }
    location /named/ { try_files $uri @fb; }
    location /args/ { try_files $uri /show?from=$uri; }
    location /noargs/ { try_files $uri /show; }
    location /dirs/ { try_files $uri/ =404; }
    location /slash/ { try_files /none /dir/; }
    location /al/ { alias html/sub/; try_files $uri /al/last.txt; }
    location = /show { return 200 "uri=$uri args=$args"; }
    location @fb { return 200 "named fallback for $uri"; }
  }
}`,
    files: {
      'html/a.txt': 'A',
      'html/fallback.html': 'fallback',
      'html/dir/index.html': 'dir index',
      'html/code/here.txt': 'here',
      'html/dirs/d/index.html': 'dirs index',
      'html/sub/s.txt': 'aliased',
      'html/sub/last.txt': 'alias last',
    },
  });
});
after(() => z.stop());

test('the first existing file is served by the same location', async () => {
  assert.equal((await z.request('/a.txt')).text, 'A');
  assert.equal((await z.request('/code/here.txt')).text, 'here');
});

test('a `$uri/` test matches directories only', async () => {
  assert.equal((await z.request('/dir/')).text, 'dir index');
  // `/dir` matched as a directory: r.uri stays `/dir`, and static redirects to the slash.
  const res = await z.request('/dir');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, `http://localhost:${z.port}/dir/`);
  // A file never satisfies a directory test, not even the index the directory redirects to.
  assert.equal((await z.request('/dirs/d/index.html')).status, 404);
  assert.equal((await z.request('/dirs/d/')).status, 404);
  // The last parameter keeps its slash: a URI, not a directory test.
  assert.equal((await z.request('/slash/x')).text, 'dir index');
});

test('the last parameter: a URI, a code, a named location', async () => {
  assert.equal((await z.request('/missing')).text, 'fallback');
  const code = await z.request('/code/missing');
  assert.equal(code.status, 418);
  assert.ok(!z.errorLog().includes('/code/missing'), 'no open() error: static never ran');
  assert.equal((await z.request('/named/x')).text, 'named fallback for /named/x');
});

test('a fallback URI takes arguments from its own `?` only', async () => {
  assert.equal((await z.request('/args/q?keep=1')).text, 'uri=/show args=from=/args/q');
  assert.equal((await z.request('/noargs/q?drop=1')).text, 'uri=/show args=');
});

test('with alias, names are looked up under the alias', async () => {
  assert.equal((await z.request('/al/s.txt')).text, 'aliased');
  assert.equal((await z.request('/al/none')).text, 'alias last');
});
