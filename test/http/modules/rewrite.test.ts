import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/types.ts';
import { DECLINED, DONE } from '../../../src/http/types.ts';
import { buildFixture } from './rewrite_fixture.ts';

const server = (body: string) => `http { server { ${body} } }`;

function configError(conf: string): string {
  try {
    buildFixture(conf);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('no error');
}

describe('rewrite: return', () => {
  it('answers with a text body, or leaves an error code to the core', () => {
    const f = buildFixture(server('location /a { return 200 "hi $uri"; } location /b { return 404; }'));
    const a = f.run('/a/x');
    assert.equal(a.result, DONE);
    assert.deepEqual(a.r.sent, { status: 200, body: 'hi /a/x' });
    const b = f.run('/b');
    assert.equal(b.result, 404);
    assert.equal(b.r.sent, null);
  });

  it('sets Location for redirect codes and `return URL`', () => {
    const f = buildFixture(
      server('location /a { return 301 /new$uri; } location /b { return https://example.com$request_uri; }'),
    );
    const a = f.run('/a?x=1');
    assert.equal(a.result, 301);
    assert.deepEqual(a.r.headersOut, ['Location', '/new/a']);
    const b = f.run('/b?q');
    assert.equal(b.result, 302);
    assert.deepEqual(b.r.headersOut, ['Location', 'https://example.com/b?q']);
  });

  it('sends an empty body for a code below 400 without text, and text for a 4xx with text', () => {
    const f = buildFixture(server('location /a { return 204; } location /b { return 403 "no"; }'));
    assert.deepEqual(f.run('/a').r.sent, { status: 204, body: '' });
    assert.deepEqual(f.run('/b').r.sent, { status: 403, body: 'no' });
  });

  it('reports bad codes as nginx does', () => {
    assert.equal(configError(server('return x;')), 'invalid return code "x"');
    assert.equal(configError(server('return 1000;')), 'invalid return code "1000"');
    assert.equal(configError(server('return /x;')), 'invalid return code "/x"');
    assert.equal(configError(server('return http://a b;')), 'invalid return code "http://a"');
  });
});

describe('rewrite: rewrite', () => {
  it('rewrites the URI with captures and looks the location up again (last)', () => {
    const f = buildFixture(
      server('location /old { rewrite ^/old/(.*)$ /new/$1 last; } location /new { return 200 $uri; }'),
    );
    const { result, r } = f.run('/old/page');
    assert.equal(result, DONE);
    assert.deepEqual(r.sent, { status: 200, body: '/new/page' });
    assert.equal(r.internal, true);
  });

  it('break keeps the location and stops the script', () => {
    const f = buildFixture(
      server('location /old { rewrite ^ /other break; return 500; } location /other { return 200; }'),
    );
    const { result, r } = f.run('/old');
    assert.equal(result, DECLINED);
    assert.equal(r.uri, '/other');
    assert.equal(r.uriChanged, false);
    assert.equal(r.location.name, '/old');
  });

  it('without a flag goes on with the next directive, then looks the location up again', () => {
    const f = buildFixture(
      server('location /a { rewrite ^/a /b; set $x after; } location /b { return 200 "$uri $x"; }'),
    );
    assert.deepEqual(f.run('/a').r.sent, { status: 200, body: '/b after' });
  });

  it('redirects with redirect/permanent and absolute replacements', () => {
    const f = buildFixture(
      server(
        'location /p { rewrite ^/p/(.*) /q/$1 permanent; } location /r { rewrite ^ /s redirect; } location /h { rewrite ^ http://example.com/x; }',
      ),
    );
    const p = f.run('/p/z?a=1');
    assert.equal(p.result, 301);
    assert.deepEqual(p.r.headersOut, ['Location', '/q/z?a=1']);
    assert.equal(f.run('/r').result, 302);
    const h = f.run('/h?k=v');
    assert.equal(h.result, 302);
    assert.deepEqual(h.r.headersOut, ['Location', 'http://example.com/x?k=v']);
  });

  it('a match without groups empties the captures (checked against nginx 1.2x)', () => {
    const f = buildFixture(server('location / { if ($uri ~ ^/(x)) { } rewrite ^ /t?c=$1 break; }'));
    assert.equal(f.run('/x').r.args, 'c=');
  });

  it('$status in return text is the new code', () => {
    const f = buildFixture(server('location / { return 201 "s=$status"; }'));
    assert.deepEqual(f.run('/').r.sent, { status: 201, body: 's=201' });
  });

  it('loops end in 500 after 10 lookups', () => {
    const f = buildFixture(server('location / { rewrite ^ /loop last; }'));
    assert.equal(f.run('/x').result, 500);
  });

  it('a zero-length URI is an error', () => {
    const f = buildFixture(server('location / { rewrite ^ ? last; }'));
    const { result, r } = f.run('/x');
    assert.equal(result, 500);
    assert.deepEqual(r.logs, ['[error] the rewritten URI has a zero length']);
  });

  it('at server level runs before the location lookup', () => {
    const f = buildFixture(server('rewrite ^/old(.*) /new$1; location /new { return 200 "$uri"; }'));
    assert.deepEqual(f.run('/old/x').r.sent, { status: 200, body: '/new/x' });
  });

  it('logs matches at notice with rewrite_log on', () => {
    const f = buildFixture(
      server('rewrite_log on; location / { rewrite ^/old(.*)$ /new$1?a=1 break; rewrite ^/nope /x; }'),
    );
    const { r } = f.run('/old/x?b=2');
    assert.deepEqual(r.logs, [
      '[notice] "^/old(.*)$" matches "/old/x"',
      '[notice] rewritten data: "/new/x", args: "a=1&b=2"',
    ]);
    const g = buildFixture(server('rewrite_log on; location / { rewrite ^/nope /x; }'));
    assert.deepEqual(g.run('/y').r.logs, ['[notice] "^/nope" does not match "/y"']);
  });

  it('reports bad arguments as nginx does', () => {
    assert.equal(configError(server('rewrite ^ /x final;')), 'invalid parameter "final"');
    assert.equal(configError(server('rewrite ^ "";')), 'empty replacement');
    assert.match(
      configError(server('rewrite "(" /x;')),
      /^pcre2_compile\(\) failed: missing closing parenthesis in "\("/,
    );
    assert.equal(configError(server('rewrite ^ /$nosuch;')), 'unknown "nosuch" variable');
  });
});

describe('rewrite: set and if', () => {
  it('sets variables in order, captures included', () => {
    const f = buildFixture(
      server(
        'location / { set $a "x"; set $b "$a-$uri"; if ($uri ~ ^/(\\w+)) { set $c $1; } return 200 "$b $c"; }',
      ),
    );
    assert.deepEqual(f.run('/foo').r.sent, { status: 200, body: 'x-/foo foo' });
  });

  it('switches to the if-block configuration when true, and runs its directives in the same script', () => {
    const f = buildFixture(server('location / { if ($arg_x) { marker one; set $v yes; } set $w after; }'));
    const t = f.run('/?x=1');
    assert.equal(t.r.location.name, 'if');
    assert.equal(t.r.location.block.entries[0].name, 'marker');
    assert.equal(t.r.vars.get('v'), 'yes');
    assert.equal(t.r.vars.get('w'), 'after');
    const e = f.run('/?x=0');
    assert.equal(e.r.location.name, '/');
    assert.equal(e.r.vars.get('v'), undefined);
    assert.equal(e.r.vars.get('w'), 'after');
  });

  it('return inside if answers', () => {
    const f = buildFixture(server('if ($http_x_block) { return 403; } location / { return 200; }'));
    assert.equal(f.run('/', { 'X-Block': '1' }).result, 403);
    assert.equal(f.run('/').result, DONE);
  });

  it('break stops the script and keeps the location', () => {
    const f = buildFixture(server('location /a { rewrite ^ /b; break; return 500; }'));
    const { result, r } = f.run('/a');
    assert.equal(result, DECLINED);
    assert.equal(r.uri, '/b');
    assert.equal(r.location.name, '/a');
  });

  it('warns about uninitialized variables unless told not to', () => {
    const f = buildFixture(
      server(
        'location /a { return 200 "[$later]"; } location /b { set $later 1; } location /c { uninitialized_variable_warn off; return 200 "[$later]"; }',
      ),
    );
    const a = f.run('/a');
    assert.deepEqual(a.r.sent, { status: 200, body: '[]' });
    assert.deepEqual(a.r.logs, ['[warn] using uninitialized "later" variable']);
    assert.deepEqual(f.run('/c').r.logs, []);
  });

  it('refuses built-in variables that cannot change, and bad names', () => {
    assert.equal(configError(server('set $uri /x;')), 'the duplicate "uri" variable');
    assert.equal(configError(server('set uri /x;')), 'invalid variable name "uri"');
  });

  it('set $args changes the arguments', () => {
    const f = buildFixture(server('location / { set $args "a=1"; return 200 "$args $arg_a"; }'));
    const { r } = f.run('/?b=2');
    assert.equal(r.args, 'a=1');
  });
});
