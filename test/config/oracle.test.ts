// Our parser against `nginx -t` (Debian's `nginx` package) on broken configurations: the same
// message, file and line, byte for byte, after the program's name. Skipped without nginx.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  makePrefix,
  nginxError,
  nginxInstalled,
  OSS_TEST_DIRECTIVES,
  ourError,
} from '../helpers/nginx_oracle.ts';

interface Case {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly params?: string;
}

const withEvents = (
  name: string,
  text: string,
  more: Record<string, string> = {},
  params?: string,
): Case => ({
  name,
  files: { 'nginx.conf': `events {}\n${text}`, ...more },
  params,
});

const CASES: Case[] = [
  withEvents('missing ;', 'http {\n  server {\n    listen 80\n    location / { }\n  }\n}\n'),
  withEvents('text after a closing quote', 'http { server { return 200 "abc"x; } }'),
  withEvents('stray }', 'http { }\n}\n'),
  withEvents('} ending a statement', 'http { server { return 200 } }'),
  withEvents('statement starting with ;', 'http { ; }'),
  withEvents('statement starting with {', '{ }'),
  withEvents('unclosed block', 'http {\n  server {\n'),
  withEvents('unclosed statement', 'http { server'),
  withEvents('unterminated quote', 'http { server { return 200 "abc;\n}\n}\n'),
  withEvents('block directive without {', 'http;'),
  withEvents('simple directive with {', 'http { server { listen 80 { } } }'),
  withEvents('unknown directive', 'http {\n  frobnicate on;\n}\n'),
  withEvents('wrong context', 'listen 80;'),
  withEvents('argument count', 'http { server { location / /x /y { } } }'),
  withEvents('duplicate', 'daemon on;\ndaemon off;\n'),
  withEvents('duplicate block', 'http {}\nhttp {}\n'),
  withEvents('flag value', 'http { sendfile maybe; }'),
  withEvents('size value', 'http { client_body_buffer_size 1g; }'),
  withEvents('time value', 'http { keepalive_timeout 1y; }'),
  withEvents('listen port', 'http { server { listen 99999; } }'),
  withEvents('listen IPv6', 'http { server { listen [::1; } }'),
  withEvents('comment only at word start', 'http { server { return 200 a#b; foo#bar; } }'),
  withEvents('escaped quote in a name', 'http { "a\\"b" 1; }'),
  withEvents('missing include', 'http {\n  include nope.conf;\n}\n'),
  withEvents('include arguments', 'include a b;'),
  withEvents('error inside an include', 'http { include conf.d/*.conf; }', {
    'conf.d/b.conf': 'server { listen 80; }\n',
    'conf.d/A.conf': 'server {\n  listen 81;\n  bogus_a;\n}\n',
    'conf.d/a.conf': 'bogus_lower;\n',
  }),
  withEvents('} in an included file', 'http {\ninclude x.conf;\n}', { 'x.conf': '}\n' }),
  withEvents('types: nested {', 'http { types { text/html html; { } } }'),
  withEvents('types: include, then an error', 'http { types { include m.types; } foo; }', {
    'm.types': 'text/html html;\n',
  }),
  withEvents('too long word', `http { server { return 200 ${'x'.repeat(5000)}; } }`),
  withEvents('-g: duplicate with the file', 'daemon on;\n', {}, 'daemon off;'),
  withEvents('-g: missing ;', '', {}, 'daemon off'),
  withEvents('-g: block', '', {}, 'events { }'),
  withEvents('-g: unknown', '', {}, 'worker_processes 1; frob;'),
  withEvents('valid config', 'http { server { listen 127.0.0.1:8080; location / { return 200 "ok"; } } }'),
];

const installed = nginxInstalled();

for (const c of CASES) {
  test(`nginx -t agrees: ${c.name}`, (t) => {
    if (!installed) {
      t.skip('nginx is not installed (CI installs the Debian package "nginx")');
      return;
    }
    const prefix = makePrefix(c.files);
    assert.equal(ourError(prefix, OSS_TEST_DIRECTIVES, c.params), nginxError(prefix, c.params));
  });
}
