import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfEntry, ConfigError } from '../../src/config/types.ts';
import { compileRegex, groupNames, matchRegex } from '../../src/core/regex.ts';

const entry: ConfEntry = { name: 'location', args: [], file: 'nginx.conf', line: 9 };

function errorText(pattern: string, caseless = false): string {
  try {
    compileRegex(pattern, caseless, entry);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.text;
  }
  return 'ok';
}

function matches(pattern: string, subject: string, caseless = false): boolean {
  return compileRegex(pattern, caseless).test(subject);
}

describe('compileRegex: PCRE semantics', () => {
  it('`$` also matches before a final newline, and `.` matches \\r but not \\n (checked with nginx)', () => {
    assert.equal(matches('^/dollar$', '/dollar\n'), true);
    assert.equal(matches('^/dollar$', '/dollar\n\n'), false);
    assert.equal(matches('^/dot.$', '/dot\r'), true);
    assert.equal(matches('^/dot.$', '/dot\n'), false);
    assert.equal(matches('(?s)^/dot.$', '/dot\n'), true);
    assert.equal(matches('(?m)^b$', 'a\nb\nc'), true);
  });

  it('translates named groups, back references, leading options and \\A \\z \\Z', () => {
    assert.deepEqual(matchRegex(compileRegex('(?P<a>x)(?P=a)(?<b>y)?', false), 'xx')?.groups, {
      a: 'x',
      b: '',
    });
    assert.deepEqual(matchRegex(compileRegex("(?'q'z)", false), 'z')?.groups, { q: 'z' });
    assert.equal(matches('(?i)^/ABC', '/abc'), true);
    assert.equal(matches('^/abc', '/ABC', true), true);
    assert.equal(matches('\\A/x\\z', '/x'), true);
    assert.equal(matches('\\A/x\\z', '/x\n'), false);
    assert.equal(matches('\\A/x\\Z', '/x\n'), true);
    assert.equal(matches('(?i:a)b', 'Ab'), true);
  });

  it('handles classes as PCRE does: a leading `]`, POSIX names, \\h', () => {
    assert.equal(matches('^[]a]+$', ']a]'), true);
    assert.equal(matches('^[^]]$', 'x'), true);
    assert.equal(matches('^[[:alpha:]_][[:digit:]]$', '_1'), true);
    assert.equal(matches('^[[:xdigit:]]+$', 'fF09'), true);
    assert.equal(matches('^a\\hb$', 'a\tb'), true);
    assert.equal(matches('^\\Qa.b\\E$', 'a.b'), true);
    assert.equal(matches('^\\Qa.b\\E$', 'axb'), false);
    assert.equal(matches('^\\x{41}$', 'A'), true);
    assert.equal(matches('a{x', 'a{x'), true);
  });

  it('gives captures with unmatched groups as empty strings, and group names', () => {
    assert.deepEqual(matchRegex(compileRegex('^/(\\d+)(x)?$', false), '/12'), {
      captures: ['/12', '12', ''],
      groups: null,
    });
    assert.equal(matchRegex(compileRegex('^/a$', false), '/b'), null);
    assert.deepEqual(groupNames(compileRegex('(?<a>x)|(?P<b>y)|(z)', false)), ['a', 'b']);
    assert.deepEqual(groupNames(compileRegex('x', false)), []);
  });
});

describe('compileRegex: errors in nginx wording (checked with nginx 1.22)', () => {
  const cases: [string, string][] = [
    ['(foo', 'pcre2_compile() failed: missing closing parenthesis in "(foo"'],
    ['foo)', 'pcre2_compile() failed: unmatched closing parenthesis in "foo)" at ")"'],
    ['[abc', 'pcre2_compile() failed: missing terminating ] for character class in "[abc"'],
    ['a**', 'pcre2_compile() failed: quantifier does not follow a repeatable item in "a**" at "*"'],
    ['*a', 'pcre2_compile() failed: quantifier does not follow a repeatable item in "*a" at "*a"'],
    ['(?:*)', 'pcre2_compile() failed: quantifier does not follow a repeatable item in "(?:*)" at "*)"'],
    ['x|*', 'pcre2_compile() failed: quantifier does not follow a repeatable item in "x|*" at "*"'],
    ['{2}', 'pcre2_compile() failed: quantifier does not follow a repeatable item in "{2}" at "}"'],
    ['a{3,2}', 'pcre2_compile() failed: numbers out of order in {} quantifier in "a{3,2}" at "}"'],
    ['[[:foo:]]', 'pcre2_compile() failed: unknown POSIX class name in "[[:foo:]]" at "foo:]]"'],
    ['a\\', 'pcre2_compile() failed: \\ at end of pattern in "a\\"'],
    ['[b-a]', 'pcre2_compile() failed: range out of order in character class in "[b-a]"'],
    [
      '(?<n>a)(?<n>b)',
      'pcre2_compile() failed: two named subpatterns have the same name (PCRE2_DUPNAMES not set) in "(?<n>a)(?<n>b)"',
    ],
  ];
  for (const [pattern, message] of cases) {
    it(pattern, () => assert.equal(errorText(pattern), `${message} in nginx.conf:9`));
  }

  it('refuses PCRE features JS cannot run, instead of matching something else', () => {
    for (const pattern of ['a++', '(?>x)', '(?R)', 'a\\Kb', '\\p{L}', '(?x) a', 'a(?i)b', '(?|a)']) {
      assert.match(errorText(pattern), /which this build does not support in nginx\.conf:9$/, pattern);
    }
  });
});
