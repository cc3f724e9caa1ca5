import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/types.ts';
import { buildFixture } from './rewrite_fixture.ts';

/** The body `return 200 yes|no` gives for `if (cond)`, for a request to `target`. */
function check(cond: string, target = '/', headers: Record<string, string> = {}): string {
  const f = buildFixture(
    `http { server { location / { set $r no; if ${cond} { set $r yes; } return 200 $r; } } }`,
  );
  return f.run(target, headers).r.sent!.body;
}

function conditionError(cond: string): string {
  try {
    buildFixture(`http { server { if ${cond} { } } }`);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('no error');
}

describe('if conditions', () => {
  it('a variable is true unless empty or "0"', () => {
    assert.equal(check('($arg_a)', '/?a=1'), 'yes');
    assert.equal(check('($arg_a)', '/?a=0'), 'no');
    assert.equal(check('($arg_a)', '/?a='), 'no');
    assert.equal(check('($arg_a)', '/'), 'no');
    assert.equal(check('( $arg_a )', '/?a=00'), 'yes');
  });

  it('= and != compare with variables expanded', () => {
    assert.equal(check('($arg_a = x)', '/?a=x'), 'yes');
    assert.equal(check('($arg_a = "x y")', '/?a=x'), 'no');
    assert.equal(check('($arg_a != $arg_b)', '/?a=1&b=2'), 'yes');
    assert.equal(check('($arg_a != $arg_b)', '/?a=1&b=1'), 'no');
    assert.equal(check('($arg_a = "")', '/'), 'yes');
  });

  it('regex operators, case-sensitive or not, and their negations', () => {
    assert.equal(check('($uri ~ ^/A)', '/A'), 'yes');
    assert.equal(check('($uri ~ ^/A)', '/a'), 'no');
    assert.equal(check('($uri ~* ^/A)', '/a'), 'yes');
    assert.equal(check('($uri !~ ^/A)', '/a'), 'yes');
    assert.equal(check('($uri !~* ^/A)', '/a'), 'no');
    assert.equal(check('($http_user_agent ~ MSIE)', '/', { 'User-Agent': 'x MSIE y' }), 'yes');
  });

  it('regex captures and named captures become $1 and variables', () => {
    const f = buildFixture(
      'http { server { location / { if ($uri ~ ^/(?<first>\\w+)/(\\w+)) { return 200 "$first $2"; } return 404; } } }',
    );
    assert.deepEqual(f.run('/ab/cd').r.sent, { status: 200, body: 'ab cd' });
  });

  it('file tests: -f -d -e -x and negations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zonesync-if-'));
    mkdirSync(`${dir}/sub`);
    writeFileSync(`${dir}/file`, 'x');
    writeFileSync(`${dir}/exe`, 'x');
    chmodSync(`${dir}/exe`, 0o755);
    assert.equal(check(`(-f ${dir}/file)`), 'yes');
    assert.equal(check(`(-f ${dir}/sub)`), 'no');
    assert.equal(check(`(-d ${dir}$uri)`, '/sub'), 'yes');
    assert.equal(check(`(!-d ${dir}/sub)`), 'no');
    assert.equal(check(`(-e ${dir}/sub)`), 'yes');
    assert.equal(check(`(-e ${dir}/none)`), 'no');
    assert.equal(check(`(!-e ${dir}/none)`), 'yes');
    assert.equal(check(`(!-f ${dir}/file/below)`), 'yes');
    assert.equal(check(`(-x ${dir}/exe)`), 'yes');
    assert.equal(check(`(-x ${dir}/file)`), 'no');
    assert.equal(check(`(!-x ${dir}/file)`), 'yes');
  });

  it('reports malformed conditions with nginx wording', () => {
    assert.equal(conditionError('$a'), 'invalid condition "$a"');
    assert.equal(conditionError('($arg_a'), 'invalid condition "$arg_a"');
    assert.equal(conditionError('(a)'), 'invalid condition "a"');
    assert.equal(conditionError('($arg_a == b)'), 'unexpected "==" in condition');
    assert.equal(conditionError('($arg_a b)'), 'invalid condition "$arg_a"');
    assert.equal(conditionError('(-q /x)'), 'invalid condition "-q"');
    assert.equal(conditionError('(-f)'), 'invalid condition "-f"');
    assert.equal(conditionError('($nosuch)'), 'unknown "nosuch" variable');
  });
});
