import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeArgs, unescapeRedirect } from '../../../src/http/modules/rewrite_replacement.ts';
import { buildFixture } from './rewrite_fixture.ts';

/** URI and args after `rewrite PATTERN REPLACEMENT break` for a request to `target`. */
function rewrite(pattern: string, replacement: string, target: string): string {
  const f = buildFixture(`http { server { location / { rewrite ${pattern} ${replacement} break; } } }`);
  const { r } = f.run(target);
  return `${r.uri} ${r.args}`;
}

/** The Location of `rewrite PATTERN REPLACEMENT redirect`. */
function redirect(pattern: string, replacement: string, target: string): string {
  const f = buildFixture(`http { server { location / { rewrite ${pattern} ${replacement} redirect; } } }`);
  const { r } = f.run(target);
  return r.headerOut('location')!;
}

describe('rewrite replacement and arguments', () => {
  it('keeps the original arguments, appended after new ones', () => {
    assert.equal(rewrite('^/a', '/b', '/a?x=1'), '/b x=1');
    assert.equal(rewrite('^/a', '/b?y=2', '/a?x=1'), '/b y=2&x=1');
    assert.equal(rewrite('^/a', '/b?y=2', '/a'), '/b y=2');
  });

  it('a trailing ? drops the original arguments', () => {
    assert.equal(rewrite('^/a', '/b?', '/a?x=1'), '/b ');
    assert.equal(rewrite('^/a', '/b?y=2?', '/a?x=1'), '/b y=2');
  });

  it('only the first ? starts the arguments', () => {
    assert.equal(rewrite('^/a', '/b?y=2?z', '/a'), '/b y=2?z');
  });

  it('captures and variables', () => {
    assert.equal(rewrite('^/(\\w+)/(\\w+)$', '/$2/$1?u=$uri', '/one/two'), '/two/one u=/one/two');
  });

  it('escapes captures in the arguments when the request URI was escaped', () => {
    assert.equal(rewrite('^/(.*)$', '/s?q=$1', '/a%20b'), '/s q=a%20b');
    assert.equal(rewrite('^/(.*)$', '/s?q=$1', '/a&b'), '/s q=a&b');
    assert.equal(rewrite('^/(.*)$', '/p/$1', '/a%20b'), '/p/a b ');
  });

  it('redirects: arguments joined with ? or &, captures escaped', () => {
    assert.equal(redirect('^/(.*)', 'http://h/$1', '/x?k=v'), 'http://h/x?k=v');
    assert.equal(redirect('^/(.*)', 'http://h/$1?a=1', '/x?k=v'), 'http://h/x?a=1&k=v');
    assert.equal(redirect('^/(.*)', 'http://h/$1?', '/x?k=v'), 'http://h/x');
    assert.equal(redirect('^/(.*)', 'http://h/$1', '/a%20b+c'), 'http://h/a%20b+c');
    assert.equal(redirect('^/(.*)', 'http://h/$1', '/a b'), 'http://h/a b');
    assert.equal(redirect('^', '$scheme://$host/x', '/'), 'http://localhost/x');
  });

  it('escapeArgs follows NGX_ESCAPE_ARGS', () => {
    assert.equal(escapeArgs('a b#c%d&e+f;g?h=i/j~k'), 'a%20b%23c%25d%26e%2Bf%3Bg%3Fh=i/j~k');
    assert.equal(escapeArgs('\u00e9'), '%E9');
    assert.equal(escapeArgs('\u20ac'), '%E2%82%AC');
  });

  it('unescapeRedirect decodes printable characters above % up to the first ?', () => {
    assert.equal(unescapeRedirect('/a%20b%7e%2Fc?x=%41'), '/a%20b~/c?x=%41');
    assert.equal(unescapeRedirect('/%25%23%41'), '/%25%23A');
    assert.equal(unescapeRedirect('/%zz'), '/zz');
  });
});
