// The content and header modules' directive errors, word for word as nginx (and, where Debian's
// nginx is installed, checked against `nginx -t` itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headersModule } from '../../../src/http/modules/headers.ts';
import { indexModule } from '../../../src/http/modules/index.ts';
import { internalModule } from '../../../src/http/modules/internal.ts';
import { staticModule } from '../../../src/http/modules/static.ts';
import { tryFilesModule } from '../../../src/http/modules/try_files.ts';
import {
  makePrefix,
  nginxError,
  nginxInstalled,
  OSS_TEST_DIRECTIVES,
  ourError,
} from '../../helpers/nginx_oracle.ts';

const OURS = [staticModule, indexModule, tryFilesModule, headersModule, internalModule].flatMap(
  (m) => m.directives,
);
const names = new Set(OURS.map((d) => d.name));
const DIRECTIVES = [...OSS_TEST_DIRECTIVES.filter((d) => !names.has(d.name)), ...OURS];
const withNginx = nginxInstalled();

function check(server: string, expected: string): void {
  const prefix = makePrefix({ 'nginx.conf': `events {}\nhttp {\n server {\n${server}\n }\n}\n` });
  const ours = ourError(prefix, DIRECTIVES).split(prefix).join('P/');
  assert.equal(ours, expected);
  if (withNginx) assert.equal(ours, nginxError(prefix).split(prefix).join('P/'));
}

test('a configuration using every directive loads', () => {
  check(
    `root html; index index.html index.htm; types { text/html html; image/png png PNG; }
     default_type application/octet-stream; etag off; if_modified_since before; log_not_found off;
     max_ranges 3; sendfile on; tcp_nopush on; tcp_nodelay on; open_file_cache max=10 inactive=1m;
     open_file_cache_valid 30s; open_file_cache_errors on; disable_symlinks off; output_buffers 2 32k;
     aio off; directio off; expires 1h; add_header X-A "a $uri" always;
     location /a/ { alias /tmp/; try_files $uri $uri/ @x; internal; expires modified +1d; }
     location ~ ^/b/(.*)$ { alias /tmp/$1; expires @15h30m; }
     location /c/ { try_files $uri =404; expires $uri; add_header Link "<x>"; }
     location @x { return 404; }`,
    'ok',
  );
});

test('root and alias: duplicates, named locations, forbidden variables', () => {
  check(
    'location /a/ { root /x;\nalias /y/; }',
    '"alias" directive is duplicate, "root" directive was specified earlier in P/nginx.conf:5',
  );
  check(
    'location /a/ { alias /y/;\nroot /x; }',
    '"root" directive is duplicate, "alias" directive was specified earlier in P/nginx.conf:5',
  );
  check('location /a/ { root /x;\nroot /y; }', '"root" directive is duplicate in P/nginx.conf:5');
  check(
    'location @a { alias /y/; }',
    'the "alias" directive cannot be used inside the named location in P/nginx.conf:4',
  );
  check('alias /y/;', '"alias" directive is not allowed here in P/nginx.conf:4');
  check(
    'root $document_root/x;',
    'the $document_root variable cannot be used in the "root" directive in P/nginx.conf:4',
  );
});

test('index, try_files, if_modified_since, max_ranges', () => {
  // Only a warning in nginx.
  check('index /a.html b.html;', 'ok');
  check('index a.html "";', 'index "a.html" in "index" directive is invalid in P/nginx.conf:4');
  check('location / { try_files $uri =abc; }', 'invalid code "=abc" in P/nginx.conf:4');
  check('location / { try_files $uri =1000; }', 'invalid code "=1000" in P/nginx.conf:4');
  check(
    'location / { try_files $uri; }',
    'invalid number of arguments in "try_files" directive in P/nginx.conf:4',
  );
  check('if_modified_since sometimes;', 'invalid value "sometimes" in P/nginx.conf:4');
  check('max_ranges many;', '"max_ranges" directive invalid number in P/nginx.conf:4');
  check('location / { internal; internal; }', '"internal" directive is duplicate in P/nginx.conf:4');
});

test('expires and add_header', () => {
  check('expires soon;', '"expires" directive invalid value in P/nginx.conf:4');
  check('expires later 1h;', '"expires" directive invalid value in P/nginx.conf:4');
  check('expires @25h;', '"expires" directive daily time value must be less than 24 hours in P/nginx.conf:4');
  check(
    'expires modified @1h;',
    '"expires" directive daily time cannot be used with "modified" parameter in P/nginx.conf:4',
  );
  check('expires 1h;\nexpires 2h;', '"expires" directive is duplicate in P/nginx.conf:5');
  check('add_header X y sometimes;', 'invalid parameter "sometimes" in P/nginx.conf:4');
  check('add_header X;', 'invalid number of arguments in "add_header" directive in P/nginx.conf:4');
});
