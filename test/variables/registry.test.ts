// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are nginx `${var}` syntax
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfEntry, ConfigError } from '../../src/config/types.ts';
import { VariableRegistry } from '../../src/variables/registry.ts';
import { fakeRequest } from '../helpers/fake_request.ts';

const entry: ConfEntry = { name: 'return', args: [], file: '/etc/nginx.conf', line: 7 };

function registry(): VariableRegistry {
  const v = new VariableRegistry();
  v.add({ name: 'uri', get: (r) => r.uri });
  v.add({
    name: 'args',
    get: (r) => r.args,
    set: (r, value) => {
      r.args = value;
    },
  });
  v.add({ name: 'http_', prefix: true, get: (r, name) => r.header(name.slice(5).replaceAll('_', '-')) });
  v.add({ name: 'http_host', get: () => 'exact-host' });
  v.add({ name: 'sent_http_', prefix: true, get: (_r, name) => `sent:${name}` });
  v.add({ name: 'sent_', prefix: true, get: (_r, name) => `short:${name}` });
  v.add({ name: 'nothing', get: () => undefined });
  return v;
}

/** The ConfigError text nginx would print (`MESSAGE in FILE:LINE` or just MESSAGE). */
function errorText(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.text;
  }
  return 'ok';
}

describe('VariableRegistry', () => {
  it('rejects a second definition of a name or prefix (a programming error)', () => {
    const v = registry();
    assert.throws(() => v.add({ name: 'URI', get: () => '' }), /variable "uri" is defined twice/);
    assert.throws(() => v.add({ name: 'http_', prefix: true, get: () => '' }), /prefix "http_"/);
  });

  it('resolves exact names first, then declared variables, then the longest prefix', () => {
    const v = registry();
    const r = fakeRequest({ target: '/x?a=1', headers: [['User-Agent', 'curl']] });
    assert.equal(v.get(r, 'uri'), '/x');
    assert.equal(v.get(r, 'http_host'), 'exact-host');
    assert.equal(v.get(r, 'http_user_agent'), 'curl');
    assert.equal(v.get(r, 'sent_http_x'), 'sent:sent_http_x');
    assert.equal(v.get(r, 'sent_x'), 'short:sent_x');
    assert.equal(v.get(r, 'unknown'), undefined);
    assert.equal(v.has('unknown'), false);
    assert.equal(v.has('http_anything'), true);
  });

  it('treats names case-insensitively, handing getters the lowercased name', () => {
    const v = registry();
    const r = fakeRequest({ target: '/p', headers: [['X-Y', 'z']] });
    assert.equal(v.get(r, 'URI'), '/p');
    assert.equal(v.get(r, 'HTTP_X_Y'), 'z');
    assert.equal(v.compile('$Uri|${HTTP_X_Y}').evaluate(r), '/p|z');
  });

  it('keeps declared variables in r.vars, and lets a set prefix variable win over its prefix', () => {
    const v = registry();
    v.declare('Foo');
    const r = fakeRequest({ headers: [['X-A', 'header']] });
    assert.equal(v.get(r, 'foo'), undefined);
    v.setter('foo')(r, 'bar');
    assert.equal(r.vars.get('foo'), 'bar');
    assert.equal(v.get(r, 'FOO'), 'bar');
    const xa = v.compile('$http_x_a');
    v.setter('http_x_a')(r, 'set');
    assert.equal(v.get(r, 'http_x_a'), 'set');
    assert.equal(xa.evaluate(fakeRequest({ headers: [['X-A', 'header']] })), 'header');
  });

  it('setter uses the definition own set, and refuses read-only built-ins as nginx does', () => {
    const v = registry();
    const r = fakeRequest({ target: '/?a=1' });
    v.setter('args')(r, 'b=2');
    assert.equal(r.args, 'b=2');
    assert.equal(
      errorText(() => v.setter('URI', entry)),
      'the duplicate "URI" variable in /etc/nginx.conf:7',
    );
  });

  it('takes $1..$9 from r.captures, one digit only', () => {
    const v = registry();
    const r = fakeRequest();
    r.captures = ['/cap/12', '12', ''];
    assert.equal(v.get(r, '1'), '12');
    assert.equal(v.get(r, '2'), '');
    assert.equal(v.get(r, '3'), undefined);
    assert.equal(v.compile('[$1][$2][$3][$10]').evaluate(r), '[12][][][120]');
    r.captures = null;
    assert.equal(v.compile('[$1]').evaluate(r), '[]');
  });

  it('compiles constant text to a constant', () => {
    const v = registry();
    for (const text of ['', 'plain text', 'no vars here?']) {
      const cv = v.compile(text);
      assert.equal(cv.constant, text);
      assert.equal(cv.text, text);
      assert.equal(cv.evaluate(fakeRequest()), text);
    }
    assert.equal(v.compile('$uri').constant, null);
  });

  it('evaluates text and variables, not-found variables as empty', () => {
    const v = registry();
    const r = fakeRequest({ target: '/a/b?q=1' });
    assert.equal(v.compile('$uri').evaluate(r), '/a/b');
    assert.equal(v.compile('x${uri}y$args.z').evaluate(r), 'x/a/by' + 'q=1.z');
    assert.equal(v.compile('[$nothing][$uri-]').evaluate(r), '[][/a/b-]');
    assert.equal(v.compile('${uri}${args}').evaluate(r), '/a/bq=1');
  });

  it('reports syntax errors with nginx wording at the entry', () => {
    const v = registry();
    const cases: [string, string][] = [
      ['$', 'invalid variable name in /etc/nginx.conf:7'],
      ['a $', 'invalid variable name in /etc/nginx.conf:7'],
      ['${', 'invalid variable name in /etc/nginx.conf:7'],
      ['${}', 'invalid variable name in /etc/nginx.conf:7'],
      ['$-', 'invalid variable name in /etc/nginx.conf:7'],
      ['${uri', 'the closing bracket in "uri" variable is missing in /etc/nginx.conf:7'],
      ['${ab-c}', 'the closing bracket in "ab" variable is missing in /etc/nginx.conf:7'],
    ];
    for (const [text, message] of cases)
      assert.equal(
        errorText(() => v.compile(text, entry)),
        message,
        text,
      );
  });

  it('reports unknown variables as nginx does: lowercased, without a file position', () => {
    const v = registry();
    assert.equal(
      errorText(() => v.compile('$FOO', entry)),
      'unknown "foo" variable',
    );
    // `${1}` is a variable named "1" to nginx, not a capture.
    assert.equal(
      errorText(() => v.compile('${1}', entry)),
      'unknown "1" variable',
    );
    assert.equal(
      errorText(() => v.compile('$0', entry)),
      'unknown "0" variable',
    );
  });
});
