import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfEntry, ConfigError } from '../../src/config/types.ts';
import {
  type LocationModifier,
  type LocationSpec,
  LocationTree,
  parseLocationArgs,
} from '../../src/http/location_tree.ts';

let nextLine = 1;

/** `location [modifier] pattern { children }`, named by `value`, on its own config line. */
function loc(
  modifier: LocationModifier,
  pattern: string,
  value: string,
  children: LocationSpec<string>[] = [],
): LocationSpec<string> {
  const args = modifier === '' || modifier === '@' ? [pattern] : [modifier, pattern];
  const entry: ConfEntry = { name: 'location', args, file: '/etc/nginx/nginx.conf', line: nextLine++ };
  return { modifier, pattern, value, children, entry };
}

function matched(tree: LocationTree<string>, uri: string): string | null {
  return tree.match(uri)?.value ?? null;
}

function errorText(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.text;
  }
  return 'ok';
}

describe('LocationTree: nginx documentation example', () => {
  const tree = new LocationTree([
    loc('=', '/', 'A'),
    loc('', '/', 'B'),
    loc('', '/documents/', 'C'),
    loc('^~', '/images/', 'D'),
    loc('~*', '\\.(gif|jpg|jpeg)$', 'E'),
  ]);
  const cases: [string, string][] = [
    ['/', 'A'],
    ['/index.html', 'B'],
    ['/documents/document.html', 'C'],
    ['/images/1.gif', 'D'],
    ['/documents/1.jpg', 'E'],
    ['/documents/1.JPG', 'E'],
    ['/x.gif', 'E'],
  ];
  for (const [uri, expected] of cases) {
    it(`${uri} → ${expected}`, () => assert.equal(matched(tree, uri), expected));
  }
});

describe('LocationTree: matching order', () => {
  // Each expectation below was checked against nginx 1.22.
  const tree = new LocationTree([
    loc('', '/a/', 'a-prefix', [loc('^~', '/a/b/', 'ab-noregex')]),
    loc('~', '\\.x$', 'x-regex'),
    loc('', '/n/', 'n-prefix', [loc('~', '\\.y$', 'nested-y'), loc('=', '/n/exact', 'n-exact')]),
    loc('~', '\\.y$', 'outer-y'),
    loc('~', '\\.(y|z)$', 'later-regex'),
    loc('=', '/n/q.y', 'exact-wins'),
    loc('^~', '/static/', 'static'),
    loc('', '/static/deep/', 'static-deep'),
    loc('@', '@fallback', 'named'),
  ]);

  it('an exact match wins at once, at any level', () => {
    assert.equal(matched(tree, '/n/q.y'), 'exact-wins');
    assert.equal(matched(tree, '/n/exact'), 'n-exact');
  });

  it('the longest prefix is searched for nested locations', () => {
    assert.equal(matched(tree, '/a/c'), 'a-prefix');
    assert.equal(matched(tree, '/a/b/c'), 'ab-noregex');
    assert.equal(matched(tree, '/static/deep/x'), 'static-deep');
  });

  it("a nested ^~ only stops its own level's regexes: the outer ones still apply (nginx)", () => {
    assert.equal(matched(tree, '/a/b/c.x'), 'x-regex');
    assert.equal(matched(tree, '/a/c.x'), 'x-regex');
  });

  it("a top-level ^~ stops the server's regexes, only when it is the longest prefix", () => {
    assert.equal(matched(tree, '/static/x.y'), 'static');
    assert.equal(matched(tree, '/static/deep/x.y'), 'outer-y');
  });

  it("the matched prefix's nested regexes come before the outer ones; then config order", () => {
    assert.equal(matched(tree, '/n/q.y'), 'exact-wins');
    assert.equal(matched(tree, '/n/r.y'), 'nested-y');
    assert.equal(matched(tree, '/r.y'), 'outer-y');
    assert.equal(matched(tree, '/r.z'), 'later-regex');
  });

  it('no match at all gives null; named locations only by name', () => {
    assert.equal(matched(tree, '/other'), null);
    assert.equal(matched(tree, '@fallback'), null);
    assert.equal(tree.named('@fallback'), 'named');
    assert.equal(tree.named('@nope'), undefined);
  });

  it('returns the captures of the matching regex, null for static matches', () => {
    const t = new LocationTree([
      loc('', '/', 'root'),
      loc('~', '^/cap/(\\d+)(x)?(?<rest>/.*)?$', 'cap', [loc('~', '^/cap/(7)', 'inner')]),
    ]);
    assert.deepEqual(t.match('/cap/12/z'), {
      value: 'cap',
      captures: ['/cap/12/z', '12', '', '/z'],
      groups: { rest: '/z' },
      redirect: false,
    });
    assert.deepEqual(t.match('/cap/7')?.captures, ['/cap/7', '7']);
    assert.equal(t.match('/cap/7')?.value, 'inner');
    assert.deepEqual(t.match('/x'), { value: 'root', captures: null, groups: null, redirect: false });
  });

  it('is case-sensitive, unless built for a caseless file system', () => {
    const specs = () => [loc('', '/Docs/', 'docs'), loc('=', '/Exact', 'exact'), loc('~', '\\.PHP$', 'php')];
    const sensitive = new LocationTree(specs());
    assert.equal(matched(sensitive, '/docs/a'), null);
    assert.equal(matched(sensitive, '/a.php'), null);
    const caseless = new LocationTree(specs(), true);
    assert.equal(matched(caseless, '/DOCS/a'), 'docs');
    assert.equal(matched(caseless, '/exact'), 'exact');
    assert.equal(matched(caseless, '/a.php'), 'php');
  });

  it('redirects to the trailing slash for auto-redirect locations, as nginx does', () => {
    const auto = (v: string) => v.startsWith('proxy');
    const t = new LocationTree(
      [
        loc('', '/', 'root'),
        loc('', '/p/', 'proxy-p'),
        loc('', '/fo', 'fo'),
        loc('', '/foo/', 'proxy-foo'),
        loc('=', '/e', 'exact-e'),
        loc('', '/e/', 'proxy-e'),
        loc('', '/i', 'prefix-i'),
        loc('', '/i/', 'proxy-i'),
        loc('', '/plain/', 'plain'),
        loc('~', 'p$', 'regex-p'),
      ],
      false,
      auto,
    );
    assert.deepEqual(t.match('/p'), { value: 'proxy-p', captures: null, groups: null, redirect: true });
    assert.equal(t.match('/foo')?.redirect, true, 'beats the shorter prefix /fo');
    assert.equal(t.match('/foo')?.value, 'proxy-foo');
    assert.equal(matched(t, '/e'), 'exact-e');
    assert.equal(matched(t, '/i'), 'prefix-i');
    assert.equal(t.match('/plain')?.redirect, false);
    assert.equal(t.match('/p/x')?.redirect, false);
  });
});

describe('LocationTree: longest prefix among many', () => {
  it('agrees with a linear scan on random locations and URIs', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = () => Array.from({ length: 1 + random(3) }, () => 'ab/'[random(3)]).join('');
    const names = new Set<string>();
    while (names.size < 300) names.add(`/${word()}${word()}`);
    const specs = [...names].map((n, i) => loc(i % 5 === 0 ? '=' : i % 7 === 0 ? '^~' : '', n, `${i}:${n}`));
    const tree = new LocationTree(specs);
    for (let k = 0; k < 2000; k++) {
      const uri = `/${word()}${word()}${word()}`;
      const exact = specs.find((s) => s.modifier === '=' && s.pattern === uri);
      let best: LocationSpec<string> | undefined;
      for (const s of specs) {
        if (
          s.modifier !== '=' &&
          uri.startsWith(s.pattern) &&
          s.pattern.length > (best?.pattern.length ?? -1)
        )
          best = s;
      }
      assert.equal(matched(tree, uri), (exact ?? best)?.value ?? null, uri);
    }
  });
});

describe('LocationTree: configuration errors (nginx wording)', () => {
  const at = (spec: LocationSpec<string>) => `in /etc/nginx/nginx.conf:${spec.entry.line}`;

  it('duplicate locations, reported at the later one', () => {
    for (const [a, b] of [
      [loc('', '/a', '1'), loc('^~', '/a', '2')],
      [loc('=', '/a', '1'), loc('=', '/a', '2')],
      [loc('', '/a', '1'), loc('', '/a', '2')],
    ]) {
      assert.equal(
        errorText(() => new LocationTree([a, b])),
        `duplicate location "/a" ${at(b)}`,
      );
    }
    const nested = loc('', '/x/y', '2');
    const specs = [loc('', '/x/', '1', [loc('', '/x/y', '1'), nested])];
    assert.equal(
      errorText(() => new LocationTree(specs)),
      `duplicate location "/x/y" ${at(nested)}`,
    );
  });

  it('allows an exact and a prefix location of the same name, duplicate regexes and named ones', () => {
    const tree = new LocationTree([
      loc('=', '/a', 'exact'),
      loc('', '/a', 'prefix'),
      loc('~', 'x', 'r1'),
      loc('~', 'x', 'r2'),
      loc('@', '@n', 'n1'),
      loc('@', '@n', 'n2'),
    ]);
    assert.equal(matched(tree, '/a'), 'exact');
    assert.equal(matched(tree, '/ab'), 'prefix');
    assert.equal(matched(tree, '/x'), 'r1');
    assert.equal(tree.named('@n'), 'n1');
  });

  it('nesting rules', () => {
    const outside = loc('', '/b', '2');
    assert.equal(
      errorText(() => new LocationTree([loc('', '/a', '1', [outside])])),
      `location "/b" is outside location "/a" ${at(outside)}`,
    );
    const inExact = loc('', '/a/b', '2');
    assert.equal(
      errorText(() => new LocationTree([loc('=', '/a', '1', [inExact])])),
      `location "/a/b" cannot be inside the exact location "/a" ${at(inExact)}`,
    );
    const inNamed = loc('', '/b', '2');
    assert.equal(
      errorText(() => new LocationTree([loc('@', '@a', '1', [inNamed])])),
      `location "/b" cannot be inside the named location "@a" ${at(inNamed)}`,
    );
    const nestedNamed = loc('@', '@b', '2');
    assert.equal(
      errorText(() => new LocationTree([loc('', '/a', '1', [nestedNamed])])),
      `named location "@b" can be on the server level only ${at(nestedNamed)}`,
    );
    const inRegex = loc('', '/api/x', '2');
    assert.equal(
      errorText(() => new LocationTree([loc('~', '^/api', '1', [inRegex])])),
      `location "/api/x" is outside location "^/api" ${at(inRegex)}`,
    );
    const shorter = loc('=', '/a', '2');
    assert.equal(
      errorText(() => new LocationTree([loc('', '/a/', '1', [shorter])])),
      `location "/a" is outside location "/a/" ${at(shorter)}`,
    );
    assert.equal(
      errorText(() => new LocationTree([loc('', '/a/', '1', [loc('~', '\\.php$', '2')])])),
      'ok',
    );
  });

  it('regex compile errors', () => {
    const bad = loc('~', '(foo', '1');
    assert.equal(
      errorText(() => new LocationTree([bad])),
      `pcre2_compile() failed: missing closing parenthesis in "(foo" ${at(bad)}`,
    );
    const unmatched = loc('~*', 'foo)', '1');
    assert.equal(
      errorText(() => new LocationTree([unmatched])),
      `pcre2_compile() failed: unmatched closing parenthesis in "foo)" at ")" ${at(unmatched)}`,
    );
  });
});

describe('parseLocationArgs', () => {
  const parse = (...args: string[]) => {
    const { modifier, pattern } = parseLocationArgs({ name: 'location', args, file: 'nginx.conf', line: 3 });
    return [modifier, pattern];
  };

  it('reads the two-argument and the compact forms as ngx_http_core_location', () => {
    assert.deepEqual(parse('=', '/x'), ['=', '/x']);
    assert.deepEqual(parse('^~', '/x'), ['^~', '/x']);
    assert.deepEqual(parse('~', '\\.php$'), ['~', '\\.php$']);
    assert.deepEqual(parse('~*', '\\.PHP$'), ['~*', '\\.PHP$']);
    assert.deepEqual(parse('/x'), ['', '/x']);
    assert.deepEqual(parse('@name'), ['@', '@name']);
    assert.deepEqual(parse('=/x'), ['=', '/x']);
    assert.deepEqual(parse('^~/x'), ['^~', '/x']);
    assert.deepEqual(parse('~\\.php$'), ['~', '\\.php$']);
    assert.deepEqual(parse('~*\\.php$'), ['~*', '\\.php$']);
    assert.deepEqual(parse('^x'), ['', '^x']);
  });

  it('lists the named groups of a regex, for declaring them as variables', () => {
    const args = {
      name: 'location',
      args: ['~', '^/(?<year>\\d+)/(?P<slug>.*)$'],
      file: 'nginx.conf',
      line: 3,
    };
    assert.deepEqual(parseLocationArgs(args).captureNames, ['year', 'slug']);
  });

  it("rejects unknown modifiers and bad regexes with nginx's text", () => {
    for (const mod of ['x', '==', '~~', '@']) {
      assert.equal(
        errorText(() => parse(mod, '/a')),
        `invalid location modifier "${mod}" in nginx.conf:3`,
      );
    }
    assert.equal(
      errorText(() => parse('~', '[abc')),
      'pcre2_compile() failed: missing terminating ] for character class in "[abc" in nginx.conf:3',
    );
  });
});
