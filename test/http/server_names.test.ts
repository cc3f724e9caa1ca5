import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { type ConfEntry, ConfigError } from '../../src/config/types.ts';
import { parseServerNames, ServerNameIndex } from '../../src/http/server_names.ts';

const entry: ConfEntry = { name: 'server_name', args: [], file: '/etc/nginx/nginx.conf', line: 4 };

function errorText(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.text;
  }
  return 'ok';
}

describe('ServerNameIndex: selection order (checked against nginx 1.22)', () => {
  const index = new ServerNameIndex<string>('127.0.0.1:47395');
  for (const [name, value] of [
    ['example.com', 'exact'],
    ['*.example.com', 'star-example'],
    ['*.www.example.com', 'star-www-example'],
    ['.example.org', 'dot-org'],
    ['www.example.*', 'www-example-tail'],
    ['www.*', 'www-tail'],
    ['~^(?<sub>[a-z]+)\\.regex\\.net$', 'regex1'],
    ['~^api\\.', 'regex-api'],
    ['~^UP\\.CASE$', 'regex-upper'],
    ['', 'empty'],
  ]) {
    assert.equal(index.add(name, value, entry), true, name);
  }
  const cases: [string, string | undefined][] = [
    ['example.com', 'exact'],
    ['a.example.com', 'star-example'],
    ['x.www.example.com', 'star-www-example'],
    ['www.example.com', 'star-example'],
    ['example.org', 'dot-org'],
    ['a.b.example.org', 'dot-org'],
    ['www.example.net', 'www-example-tail'],
    ['www.example', 'www-tail'],
    ['www.foo.com', 'www-tail'],
    ['foo.regex.net', 'regex1'],
    ['api.example.com', 'star-example'],
    ['api.example.net', 'regex-api'],
    ['www.example.com.evil', 'www-example-tail'],
    ['up.case', 'regex-upper'],
    ['unknown.host', undefined],
    ['', 'empty'],
    ['EXAMPLE.COM', 'exact'],
  ];
  for (const [host, expected] of cases) {
    it(`${host || '(no host)'} → ${expected}`, () => assert.equal(index.find(host)?.value, expected));
  }

  it('returns the captures of a regex name', () => {
    assert.deepEqual(index.find('foo.regex.net'), {
      value: 'regex1',
      captures: ['foo.regex.net', 'foo'],
      groups: { sub: 'foo' },
    });
    assert.deepEqual(index.find('example.com'), { value: 'exact' });
  });

  it('tries regexes only for a non-empty host', () => {
    const any = new ServerNameIndex<string>();
    any.add('~.*', 'all', entry);
    assert.equal(any.find('x')?.value, 'all');
    assert.equal(any.find(''), undefined);
  });

  it('is case-sensitive for a regex without upper-case letters (hosts arrive lowercased)', () => {
    const idx = new ServerNameIndex<string>();
    idx.add('~^abc$', 'lower', entry);
    assert.equal(idx.find('abc')?.value, 'lower');
    assert.equal(idx.find('ABC')?.value, 'lower', 'find folds the host itself');
  });
});

describe('ServerNameIndex: conflicts and invalid names', () => {
  it("ignores taken names with nginx's warning, in nginx's order", () => {
    const idx = new ServerNameIndex<number>('0.0.0.0:80');
    const added = [
      'a.com',
      'a.com',
      '.b.com',
      'b.com',
      '*.c.com',
      '.c.com',
      'd.*',
      'd.*',
      'E.com',
      'e.com',
    ].map((name, i) => idx.add(name, i, entry));
    assert.deepEqual(added, [true, false, true, false, true, false, true, false, true, false]);
    assert.deepEqual(
      idx.warnings.map((w) => [w.level, w.text]),
      [
        ['warn', 'conflicting server name "a.com" on 0.0.0.0:80, ignored'],
        ['warn', 'conflicting server name "b.com" on 0.0.0.0:80, ignored'],
        ['warn', 'conflicting server name ".c.com" on 0.0.0.0:80, ignored'],
        ['warn', 'conflicting server name "d.*" on 0.0.0.0:80, ignored'],
        ['warn', 'conflicting server name "e.com" on 0.0.0.0:80, ignored'],
      ],
    );
    assert.equal(idx.find('a.com')?.value, 0);
    assert.equal(idx.find('x.c.com')?.value, 4);
    assert.equal(idx.find('c.com'), undefined, '.c.com was ignored');
  });

  it('keeps claiming the bare domain of an ignored `.x` name, as ngx_hash_add_key does', () => {
    const idx = new ServerNameIndex<string>();
    assert.equal(idx.add('*.x.com', 'star', entry), true);
    assert.equal(idx.add('.x.com', 'dot', entry), false);
    assert.equal(idx.add('x.com', 'exact', entry), false);
  });

  it('rejects invalid wildcards after parsing, without a file position', () => {
    const idx = new ServerNameIndex<string>('127.0.0.1:8080');
    for (const name of ['www.*.com', '*.a.*', 'a..b', '*a.com', 'a.com*', 'a*b']) {
      assert.equal(
        errorText(() => idx.add(name, 'x', entry)),
        `invalid server name or wildcard "${name}" on 127.0.0.1:8080`,
      );
    }
  });
});

describe('parseServerNames', () => {
  const parse = (...args: string[]) => parseServerNames({ ...entry, args });

  it('lowercases plain names, keeps regexes as written, expands $hostname', () => {
    assert.deepEqual(parse('Example.COM', '*.Ex.com', '~^(WWW)\\.x$', '', '_'), [
      'example.com',
      '*.ex.com',
      '~^(WWW)\\.x$',
      '',
      '_',
    ]);
    assert.deepEqual(parse('$HOSTNAME'), [hostname().toLowerCase()]);
  });

  it("rejects what ngx_http_core_server_name rejects, at the directive's line", () => {
    const cases: [string, string][] = [
      ['*', 'server name "*" is invalid in /etc/nginx/nginx.conf:4'],
      ['*x', 'server name "*x" is invalid in /etc/nginx/nginx.conf:4'],
      ['*.', 'server name "*." is invalid in /etc/nginx/nginx.conf:4'],
      ['.', 'server name "." is invalid in /etc/nginx/nginx.conf:4'],
      ['~', 'empty regex in server name "~" in /etc/nginx/nginx.conf:4'],
      ['~(x', 'pcre2_compile() failed: missing closing parenthesis in "(x" in /etc/nginx/nginx.conf:4'],
    ];
    for (const [name, message] of cases)
      assert.equal(
        errorText(() => parse('ok.com', name)),
        message,
        name,
      );
  });
});
