import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandGlob, hasWildcard, matchName } from '../../src/config/include.ts';
import { makePrefix } from '../helpers/nginx_oracle.ts';

test('hasWildcard: nginx globs when the path has * ? or [', () => {
  assert.equal(hasWildcard('/a/b.conf'), false);
  for (const p of ['/a/*.conf', '/a/?.conf', '/a/[ab].conf', '/a[/b']) assert.equal(hasWildcard(p), true, p);
});

test('matchName: fnmatch with FNM_PERIOD', () => {
  const yes: [string, string][] = [
    ['*.conf', 'a.conf'],
    ['*', 'x'],
    ['a?c', 'abc'],
    ['[ab]x', 'bx'],
    ['[a-c]x', 'cx'],
    ['[!a]x', 'bx'],
    ['[^a]x', 'bx'],
    ['[]]x', ']x'],
    ['a\\*', 'a*'],
    ['.*', '.hidden'],
    ['*a*b*', 'xxaybz'],
  ];
  const no: [string, string][] = [
    ['*.conf', '.a.conf'],
    ['?x', '.x'],
    ['[.]x', '.x'],
    ['*.conf', 'a.conf.bak'],
    ['[!a]x', 'ax'],
    ['a\\*', 'ab'],
    ['a?c', 'ac'],
  ];
  for (const [p, n] of yes) assert.equal(matchName(p, n), true, `${p} ~ ${n}`);
  for (const [p, n] of no) assert.equal(matchName(p, n), false, `${p} !~ ${n}`);
});

test('expandGlob: sorted bytewise, across directories, dot files only on request', () => {
  const dir = makePrefix({
    'sites/b.conf': '',
    'sites/a.conf': '',
    'sites/B.conf': '',
    'sites/_x.conf': '',
    'sites/.hidden.conf': '',
    'sites/notes.txt': '',
    'more/one/x.conf': '',
    'more/two/x.conf': '',
    'more/two/y.conf': '',
  });
  assert.deepEqual(
    expandGlob(`${dir}sites/*.conf`).map((p) => p.slice(dir.length)),
    ['sites/B.conf', 'sites/_x.conf', 'sites/a.conf', 'sites/b.conf'],
  );
  assert.deepEqual(
    expandGlob(`${dir}more/*/x.conf`).map((p) => p.slice(dir.length)),
    ['more/one/x.conf', 'more/two/x.conf'],
  );
  assert.deepEqual(
    expandGlob(`${dir}sites/.*`).map((p) => p.slice(dir.length)),
    ['sites/.', 'sites/..', 'sites/.hidden.conf'],
  );
  assert.deepEqual(expandGlob(`${dir}nope/*.conf`), []);
  assert.deepEqual(expandGlob(`${dir}more/*/missing.conf`), []);
  // An unterminated `[` is literal: the path must exist.
  assert.deepEqual(expandGlob(`${dir}sites/[a.conf`), []);
});
