import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/parser.ts';
import { find, findAll } from '../../src/config/tree.ts';
import { ConfigError, type DirectiveSpec, invalid } from '../../src/config/types.ts';
import { errorOf, makePrefix, OSS_TEST_DIRECTIVES, parseFiles } from '../helpers/nginx_oracle.ts';

const D = OSS_TEST_DIRECTIVES;
const conf = (text: string) => ({ 'nginx.conf': `events {}\n${text}` });

test('builds the tree: contexts, parents, owners, args, file and line', () => {
  const { main, prefix } = parseFiles(
    conf('http {\n  server {\n    listen 8080;\n    location /a { return 200 "x y"; }\n  }\n}\n'),
    D,
  );
  const http = find(main, 'http');
  assert.ok(http?.block);
  assert.equal(http.block.context, 'http');
  const server = find(http.block, 'server')?.block;
  assert.ok(server);
  assert.equal(server.parent, http.block);
  const listen = find(server, 'listen');
  assert.deepEqual(listen?.args, ['8080']);
  assert.equal(listen?.file, `${prefix}nginx.conf`);
  assert.equal(listen?.line, 4);
  assert.deepEqual(listen?.value, { host: null, port: 8080 });
  const location = find(server, 'location');
  assert.equal(location?.block?.owner, location);
  assert.deepEqual(find(location?.block as never, 'return')?.args, ['200', 'x y']);
});

test('a block directive may choose its context from its parent', () => {
  const { main } = parseFiles(
    conf('http { server { if ($a) { return 404; } location / { if ($b) { } } } }'),
    D,
  );
  const server = find(find(main, 'http')?.block as never, 'server')?.block;
  assert.equal(find(server as never, 'if')?.block?.context, 'if_server');
  assert.equal(find(find(server as never, 'location')?.block as never, 'if')?.block?.context, 'if_location');
});

test('directive table errors, in nginx order', () => {
  assert.equal(errorOf(conf('foo 1;'), D), 'unknown directive "foo" in P/nginx.conf:2');
  assert.equal(errorOf(conf('listen 80;'), D), '"listen" directive is not allowed here in P/nginx.conf:2');
  assert.equal(
    errorOf(conf('http {\n server { listen 80\n location / {} } }'), D),
    'directive "listen" is not terminated by ";" in P/nginx.conf:4',
  );
  assert.equal(errorOf(conf('http;'), D), 'directive "http" has no opening "{" in P/nginx.conf:2');
  assert.equal(
    errorOf(conf('http { server { listen; } }'), D),
    'invalid number of arguments in "listen" directive in P/nginx.conf:2',
  );
  assert.equal(
    errorOf(conf('daemon on daemon;'), D),
    'invalid number of arguments in "daemon" directive in P/nginx.conf:2',
  );
  assert.equal(
    errorOf(conf('http { server { location / /b /c {} } }'), D),
    'invalid number of arguments in "location" directive in P/nginx.conf:2',
  );
  // The terminator is checked before the argument count.
  assert.equal(
    errorOf(conf('http { server { listen {} } }'), D),
    'directive "listen" is not terminated by ";" in P/nginx.conf:2',
  );
  // More than 7 arguments is never a fixed count.
  const seven: DirectiveSpec = { name: 'seven', contexts: ['main'], args: [7] };
  assert.equal(errorOf({ 'nginx.conf': 'seven 1 2 3 4 5 6 7;' }, [seven]), 'ok');
  assert.equal(
    errorOf({ 'nginx.conf': 'seven 1 2 3 4 5 6 7 8;' }, [seven]),
    'invalid number of arguments in "seven" directive in P/nginx.conf:1',
  );
});

test('block structure errors', () => {
  assert.equal(errorOf(conf('}'), D), 'unexpected "}" in P/nginx.conf:2');
  assert.equal(errorOf(conf('http {\n'), D), 'unexpected end of file, expecting "}" in P/nginx.conf:3');
  assert.equal(
    errorOf(conf('http { server'), D),
    'unexpected end of file, expecting ";" or "}" in P/nginx.conf:2',
  );
  assert.equal(errorOf(conf('http { server { return 200 } }'), D), 'unexpected "}" in P/nginx.conf:2');
  assert.equal(errorOf(conf(';'), D), 'unexpected ";" in P/nginx.conf:2');
  assert.equal(errorOf(conf('{'), D), 'unexpected "{" in P/nginx.conf:2');
});

test('duplicates: non-multiple directives once per block', () => {
  assert.equal(
    errorOf(conf('daemon on;\ndaemon off;'), D),
    '"daemon" directive is duplicate in P/nginx.conf:3',
  );
  assert.equal(errorOf(conf('events {}'), D), '"events" directive is duplicate in P/nginx.conf:2');
  assert.equal(errorOf(conf('http { root /a; server { root /b; } }'), D), 'ok');
  assert.equal(errorOf(conf('http { server { listen 1; listen 2; } server {} }'), D), 'ok');
  // The duplicate check comes before the value check, as in nginx's slots.
  assert.equal(
    errorOf(conf('daemon on; daemon maybe;'), D),
    '"daemon" directive is duplicate in P/nginx.conf:2',
  );
});

test('flag directives: on/off in any case, stored as booleans', () => {
  assert.equal(
    errorOf(conf('daemon maybe;'), D),
    'invalid value "maybe" in "daemon" directive, it must be "on" or "off" in P/nginx.conf:2',
  );
  const { main } = parseFiles(conf('daemon OFF; http { sendfile On; }'), D);
  assert.equal(find(main, 'daemon')?.value, false);
  assert.equal(find(find(main, 'http')?.block as never, 'sendfile')?.value, true);
});

test('parse hooks: errors land on the directive line; block hooks run after the block', () => {
  assert.equal(
    errorOf(conf('http {\n client_max_body_size 1x; }'), D),
    '"client_max_body_size" directive invalid value in P/nginx.conf:3',
  );
  assert.equal(
    errorOf(conf('http { server { listen\n99999; } }'), D),
    'invalid port in "99999" of the "listen" directive in P/nginx.conf:3',
  );
  const seen: number[] = [];
  const specs: DirectiveSpec[] = [
    {
      name: 'outer',
      contexts: ['main'],
      args: [0],
      block: 'http',
      parse: (e) => seen.push(e.block?.entries.length ?? -1),
    },
    { name: 'inner', contexts: ['http'], args: 'any', multiple: true },
    { name: 'bad', contexts: ['main'], args: [0], parse: (e) => invalid('bad, said here', e) },
  ];
  parseFiles({ 'nginx.conf': 'outer { inner; inner a b; }' }, specs);
  assert.deepEqual(seen, [2]);
  assert.equal(errorOf({ 'nginx.conf': '\nbad;' }, specs), 'bad, said here in P/nginx.conf:2');
});

test('parse hooks get the prefix and the configuration prefix', () => {
  const prefix = makePrefix({ 'conf/main.conf': 'a x;' });
  let got: string[] = [];
  const spec: DirectiveSpec = {
    name: 'a',
    contexts: ['main'],
    args: [1],
    parse: (e, cx) =>
      (got = [
        cx.prefix,
        cx.confPrefix,
        cx.resolvePath(e.args[0]),
        cx.resolveConfPath(e.args[0]),
        cx.resolvePath('/abs'),
      ]),
  };
  parseConfig({ file: 'conf/main.conf', prefix: prefix.slice(0, -1), directives: [spec] });
  assert.deepEqual(got, [prefix, `${prefix}conf/`, `${prefix}x`, `${prefix}conf/x`, '/abs']);
});

test('-g params are parsed first, in main, reported "in command line"', () => {
  const { main } = parseFiles(conf(''), D, 'daemon off; worker_processes 2;');
  assert.equal(main.entries[0].name, 'daemon');
  assert.equal(main.entries[0].file, 'command line');
  assert.equal(main.entries[0].line, 0);
  assert.equal(
    errorOf(conf('daemon on;'), D, 'daemon off;'),
    '"daemon" directive is duplicate in P/nginx.conf:2',
  );
  assert.equal(
    errorOf(conf(''), D, 'daemon off; daemon on;'),
    '"daemon" directive is duplicate in command line',
  );
  assert.equal(errorOf(conf(''), D, 'foo;'), 'unknown directive "foo" in command line');
  assert.equal(
    errorOf(conf(''), D, 'daemon off'),
    'unexpected end of parameter, expecting ";" in command line',
  );
  assert.equal(errorOf(conf(''), D, 'daemon off; }'), 'unexpected "}" in command line');
  assert.equal(
    errorOf(conf(''), D, 'events {}'),
    'block directives are not supported in -g option in command line',
  );
  assert.equal(
    errorOf(conf(''), D, 'daemon x;'),
    'invalid value "x" in "daemon" directive, it must be "on" or "off" in command line',
  );
  assert.equal(
    errorOf(conf(''), D, 'worker_processes x;'),
    '"worker_processes" directive invalid value in command line',
  );
  assert.equal(
    errorOf(conf(''), D, 'include nope.conf;'),
    'open() "P/nope.conf" failed (2: No such file or directory) in command line',
  );
});

test('include: relative to the main file directory, in any context, recorded for -T', () => {
  const prefix = makePrefix({
    'conf/nginx.conf': 'events {}\nhttp { include sites/*.conf; include common.conf; }\n',
    'conf/common.conf': 'sendfile on;\n',
    'conf/sites/b.conf': 'server { listen 2; }\n',
    'conf/sites/a.conf': 'server { listen 1; }\n',
    'conf/sites/.hidden.conf': 'bogus;\n',
  });
  const { main, files } = parseConfig({ file: 'conf/nginx.conf', prefix, directives: D });
  const http = find(main, 'http')?.block;
  assert.ok(http);
  assert.deepEqual(
    findAll(http, 'server').map((s) => s.block?.entries[0].args[0]),
    ['1', '2'],
  );
  assert.equal(find(http, 'sendfile')?.file, `${prefix}conf/common.conf`);
  assert.deepEqual(
    files.map((f) => f.path.slice(prefix.length)),
    ['conf/nginx.conf', 'conf/sites/a.conf', 'conf/sites/b.conf', 'conf/common.conf'],
  );
  assert.equal(files[3].text, 'sendfile on;\n');
});

test('include errors', () => {
  assert.equal(
    errorOf(conf('include nope.conf;'), D),
    'open() "P/nope.conf" failed (2: No such file or directory) in P/nginx.conf:2',
  );
  assert.equal(errorOf(conf('include nope*.conf;'), D), 'ok');
  assert.equal(
    errorOf(conf('include;'), D),
    'invalid number of arguments in "include" directive in P/nginx.conf:2',
  );
  assert.equal(
    errorOf(conf('include a b;'), D),
    'invalid number of arguments in "include" directive in P/nginx.conf:2',
  );
  assert.equal(
    errorOf(conf('include a {}'), D),
    'directive "include" is not terminated by ";" in P/nginx.conf:2',
  );
  assert.equal(
    errorOf({ ...conf('include x.conf/y;'), 'x.conf': '' }, D),
    'open() "P/x.conf/y" failed (20: Not a directory) in P/nginx.conf:2',
  );
  assert.equal(errorOf({ ...conf('include d;'), 'd/x': '' }, D), 'pread() "P/d" failed (21: Is a directory)');
  // An included file is a file of its own: a `}` there cannot close the includer's block.
  assert.equal(
    errorOf({ ...conf('http {\ninclude x.conf;\n}'), 'x.conf': '}\n' }, D),
    'unexpected "}" in P/x.conf:1',
  );
  assert.equal(
    errorOf({ ...conf('http {\ninclude x.conf;\n}'), 'x.conf': '\nfoo;' }, D),
    'unknown directive "foo" in P/x.conf:2',
  );
});

test("include loops stop with nginx's out-of-descriptors error", () => {
  const prefix = makePrefix({ 'nginx.conf': 'include nginx.conf;\n' });
  assert.throws(
    () => parseConfig({ file: 'nginx.conf', prefix, directives: D }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message === `open() "${prefix}nginx.conf" failed (24: Too many open files)`,
  );
});

test('the main file: open() errors carry no place', () => {
  const prefix = makePrefix({});
  assert.throws(
    () => parseConfig({ file: 'missing.conf', prefix, directives: D }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.text === `open() "${prefix}missing.conf" failed (2: No such file or directory)`,
  );
  symlinkSync(`${prefix}loop`, `${prefix}loop`);
  assert.throws(
    () => parseConfig({ file: 'loop', prefix, directives: D }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.text === `open() "${prefix}loop" failed (40: Too many levels of symbolic links)`,
  );
});

test('raw blocks: lines become entries; { is refused; include still works', () => {
  const { main } = parseFiles(
    {
      ...conf(
        'http {\n types { text/html html htm; include more.types; }\n map $a $b { default 0; ~x "1 2"; } }',
      ),
      'more.types': 'image/png png;\n',
    },
    D,
  );
  const http = find(main, 'http')?.block;
  assert.ok(http);
  const types = find(http, 'types')?.block;
  assert.equal(types?.context, 'types');
  assert.deepEqual(
    types?.entries.map((e) => [e.name, e.args, e.line]),
    [
      ['text/html', ['html', 'htm'], 3],
      ['image/png', ['png'], 1],
    ],
  );
  assert.deepEqual(
    find(http, 'map')?.block?.entries.map((e) => [e.name, e.args]),
    [
      ['default', ['0']],
      ['~x', ['1 2']],
    ],
  );
  assert.equal(
    errorOf(conf('http { types { text/html html; { } } }'), D),
    'unexpected "{" in P/nginx.conf:2',
  );
  assert.equal(errorOf(conf('http { types { a b }'), D), 'unexpected "}" in P/nginx.conf:2');
  // `include` with other than one argument is left to the module as an entry.
  const { main: m2 } = parseFiles(conf('http { types { include a b; } }'), D);
  assert.deepEqual(find(find(m2, 'http')?.block as never, 'types')?.block?.entries[0].args, ['a', 'b']);
});
