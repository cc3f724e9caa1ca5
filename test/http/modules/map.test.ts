import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/types.ts';
import { MapKeys } from '../../../src/http/modules/map_table.ts';
import { buildFixture } from './rewrite_fixture.ts';

/** `$out` for a request to `target` with `map SOURCE $out { LINES }`. */
function mapped(source: string, lines: string, target: string, headers: Record<string, string> = {}): string {
  const f = buildFixture(
    `http { map ${source} $out { ${lines} } server { location / { return 200 $out; } } }`,
  );
  return f.run(target, headers).r.sent!.body;
}

function mapError(conf: string, files: Record<string, string> = {}): string {
  try {
    buildFixture(conf, files);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('no error');
}

describe('map', () => {
  it('exact keys (any case), then the default, else empty', () => {
    const lines = 'default d; /a A; /B b; "" empty;';
    assert.equal(mapped('$uri', lines, '/a'), 'A');
    assert.equal(mapped('$uri', lines, '/b'), 'b');
    assert.equal(mapped('$uri', lines, '/c'), 'd');
    assert.equal(mapped('$arg_x', lines, '/'), 'empty');
    assert.equal(mapped('$uri', '/a A;', '/c'), '');
  });

  it('exact before regex, regexes in order, ~* caseless, captures in values', () => {
    const lines = '~^/a(.*) "first $1"; ~^/ab second; /abc exact; ~*^/X(\\d+) x$1; default none;';
    assert.equal(mapped('$uri', lines, '/abc'), 'exact');
    assert.equal(mapped('$uri', lines, '/abd'), 'first bd');
    assert.equal(mapped('$uri', lines, '/x12'), 'x12');
    assert.equal(mapped('$uri', lines, '/zzz'), 'none');
  });

  it('named captures become variables', () => {
    const f = buildFixture(
      'http { map $uri $out { ~^/(?<name>\\w+) yes; } server { location / { return 200 "$out $name"; } } }',
    );
    assert.deepEqual(f.run('/bob').r.sent, { status: 200, body: 'yes bob' });
  });

  it('values may hold variables, the source may be complex', () => {
    assert.equal(mapped('"$arg_a:$arg_b"', '1:2 "got $arg_a"; default "no $uri";', '/x?a=1&b=2'), 'got 1');
    assert.equal(mapped('"$arg_a:$arg_b"', '1:2 "got $arg_a"; default "no $uri";', '/x?a=1'), 'no /x');
  });

  it('\\ escapes a key that would be special', () => {
    assert.equal(mapped('$arg_k', '\\default lit; \\~x tilde; default d;', '/?k=default'), 'lit');
    assert.equal(mapped('$arg_k', '\\default lit; \\~x tilde; default d;', '/?k=~x'), 'tilde');
  });

  it('hostnames: wildcards, longest first, trailing dot ignored', () => {
    const lines =
      'hostnames; default none; example.com exact; *.example.com star; .org.net dot; www.example.* tail; *.b.example.com deeper;';
    assert.equal(mapped('$http_host', lines, '/', { Host: 'example.com' }), 'exact');
    assert.equal(mapped('$http_host', lines, '/', { Host: 'a.example.com' }), 'star');
    assert.equal(mapped('$http_host', lines, '/', { Host: 'a.b.example.com' }), 'deeper');
    assert.equal(mapped('$http_host', lines, '/', { Host: 'org.net' }), 'dot');
    assert.equal(mapped('$http_host', lines, '/', { Host: 'x.Org.net.' }), 'dot');
    assert.equal(mapped('$http_host', lines, '/', { Host: 'www.example.org' }), 'tail');
    assert.equal(mapped('$http_host', lines, '/', { Host: 'www.example' }), 'none');
  });

  it('values are cached per request, unless volatile', () => {
    const conf = (flags: string) =>
      `http { map $uri $out { ${flags} default $arg_a; } server { location / { set $first $out; set $args a=2; return 200 "$first $out"; } } }`;
    assert.equal(buildFixture(conf('')).run('/?a=1').r.sent!.body, '1 1');
    assert.equal(buildFixture(conf('volatile;')).run('/?a=1').r.sent!.body, '1 2');
  });

  it('set overrides a map variable; maps may use set variables', () => {
    const f = buildFixture(
      'http { map $uri $out { default "v=$mine"; } server { location / { set $mine 7; return 200 $out; } location /o { set $out over; return 200 $out; } } }',
    );
    assert.equal(f.run('/').r.sent!.body, 'v=7');
    assert.equal(f.run('/o').r.sent!.body, 'over');
  });

  it('include reads more lines', () => {
    const f = buildFixture(
      'http { map $uri $out { include maps/more.map; default d; } server { location / { return 200 $out; } } }',
      {
        'maps/more.map': '/a from-file;\n',
      },
    );
    assert.equal(f.run('/a').r.sent!.body, 'from-file');
  });

  it('reports errors with nginx wording', () => {
    const http = (body: string) => `http { ${body} server { } }`;
    assert.equal(mapError(http('map $a b { }')), 'invalid variable name "b"');
    assert.equal(mapError(http('map $uri $x { a b c; }')), 'invalid number of the map parameters');
    assert.equal(mapError(http('map $uri $x { default a; default b; }')), 'duplicate default map parameter');
    assert.equal(mapError(http('map $uri $x { a 1; A 2; }')), 'conflicting parameter "A"');
    assert.equal(
      mapError(http('map $uri $x { hostnames; *.a.* 1; }')),
      'invalid hostname or wildcard "*.a.*"',
    );
    assert.equal(
      mapError(http('map $uri $x { hostnames; .a.com 1; a.com 2; }')),
      'conflicting parameter "a.com"',
    );
    assert.equal(mapError(http('map $uri $uri { }')), 'the duplicate "uri" variable');
    assert.equal(mapError(http('map $uri $x { default $nosuch; }')), 'unknown "nosuch" variable');
    assert.match(mapError(http('map $uri $x { ~( 1; }')), /^pcre2_compile\(\) failed/);
  });
});

describe('MapKeys', () => {
  it('without hostnames a * is an ordinary character', () => {
    const k = new MapKeys<number>();
    assert.equal(k.add('*.a', 1, false), 'ok');
    assert.equal(k.find('*.A'), 1);
    assert.equal(k.find('x.a'), undefined);
  });

  it('*.x and .x conflict with each other', () => {
    const k = new MapKeys<number>();
    assert.equal(k.add('*.a.com', 1, true), 'ok');
    assert.equal(k.add('.a.com', 2, true), 'conflict');
    assert.equal(k.find('a.com'), undefined);
  });
});
