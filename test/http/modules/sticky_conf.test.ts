import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfEntry } from '../../../src/config/types.ts';
import { parseSticky, type StickyConf } from '../../../src/http/modules/sticky_conf.ts';
import { cookieTime, StickyCookie } from '../../../src/http/modules/sticky_cookie.ts';
import type { ComplexValue } from '../../../src/variables/types.ts';
import { fakeRequest } from '../../helpers/fake_request.ts';

const parse = (line: string): StickyConf =>
  parseSticky({ name: 'sticky', args: line.split(' '), file: 'f', line: 1 } as ConfEntry);

function fails(line: string, message: string): void {
  assert.throws(() => parse(line), { message });
}

test('learn: variables in order, zone, timeout (10m by default), header, sync', () => {
  const conf = parse(
    'learn create=$upstream_cookie_a create=$upstream_cookie_b lookup=$cookie_a zone=s:1m header sync',
  );
  assert.deepEqual(conf, {
    mode: 'learn',
    lookup: ['cookie_a'],
    learn: {
      create: ['upstream_cookie_a', 'upstream_cookie_b'],
      zone: 's',
      size: 1048576,
      timeout: 600_000,
      header: true,
      sync: true,
    },
  });
  const timed = parse('learn create=$a lookup=$b zone=s:32k timeout=1h30m');
  assert.equal(timed.mode === 'learn' && timed.learn.timeout, 5_400_000);
});

test('learn: nginx messages', () => {
  fails('learn create=$a lookup=$b zone=s', '"sticky" directive zone size is not specified');
  fails('learn create=$a lookup=$b zone=:1m', '"sticky" directive zone name is not specified');
  fails('learn create=$a lookup=$b zone=s:1x', '"sticky" directive invalid zone size');
  fails('learn create=$a lookup=$b zone=s:16k', '"sticky" directive zone is too small');
  fails('learn create=$a lookup=$b zone=s:1m zone=t:1m', '"sticky" directive duplicate zone');
  fails('learn create=$a lookup=$b zone=s:1m timeout=0', '"sticky" directive invalid timeout');
  fails('learn create=$a lookup=$b zone=s:1m timeout=1s timeout=2s', '"sticky" directive duplicate timeout');
  fails(
    'learn create=a lookup=$b zone=s:1m',
    '"sticky" directive missing variable in the "create" parameter',
  );
  fails(
    'learn create=$a lookup=b zone=s:1m',
    '"sticky" directive missing variable in the "lookup" parameter',
  );
  fails('learn create=$a zone=s:1m', '"sticky" directive "lookup" parameter is not specified');
  fails('learn lookup=$a zone=s:1m', '"sticky" directive "create" parameter is not specified');
  fails('learn create=$a lookup=$b', '"sticky" directive "zone" parameter is not specified');
  fails('learn create=$a lookup=$b zone=s:1m norefresh', 'unknown parameter "norefresh"');
  fails('sessions x', 'unknown parameter "sessions"');
});

test('route: variables; cookie: the $cookie_ lookup and its attributes', () => {
  assert.deepEqual(parse('route $route_cookie $route_uri'), {
    mode: 'route',
    lookup: ['route_cookie', 'route_uri'],
  });
  fails('route $a b', 'invalid variable name "b"');
  assert.deepEqual(parse('cookie srv expires=1h domain=.example.com httponly secure samesite=Lax path=/'), {
    mode: 'cookie',
    lookup: ['cookie_srv'],
    cookie: {
      name: 'srv',
      expires: 3600,
      domain: '.example.com',
      samesite: 'Lax',
      pathAttribute: '; path=/',
      httponly: true,
      secure: true,
    },
  });
  fails('cookie srv expires=1h expires=2h', '"sticky" directive parameter "expires" is duplicate');
  fails('cookie srv expires=soon', '"sticky" directive invalid "expires" parameter value');
  fails('cookie srv domain=', '"sticky" directive no value for "domain"');
  fails('cookie srv path=', '"sticky" directive no value for "path"');
  fails('cookie srv samesite=loose', '"sticky" directive invalid "samesite" parameter value');
  fails('cookie srv secure secure', '"sticky" directive parameter "secure" is duplicate');
  fails('cookie srv max-age=1', 'unknown parameter "max-age=1"');
});

test('cookieTime: ngx_http_cookie_time, two-digit years up to 2037', () => {
  assert.equal(cookieTime(Date.UTC(2026, 0, 1, 7, 8, 9) / 1000), 'Thu, 01-Jan-26 07:08:09 GMT');
  assert.equal(cookieTime(Date.UTC(2038, 5, 15) / 1000), 'Tue, 15-Jun-2038 00:00:00 GMT');
});

/** A compiled value that reads `$name` from r.vars, or a constant. */
function compile(text: string): ComplexValue {
  if (!text.startsWith('$')) return { text, constant: text, evaluate: () => text };
  return { text, constant: null, evaluate: (r) => r.vars.get(text.slice(1)) ?? '' };
}

function cookieOf(line: string): StickyCookie {
  const conf = parse(line);
  assert.equal(conf.mode, 'cookie');
  return new StickyCookie(conf.mode === 'cookie' ? conf.cookie : ({} as never), compile);
}

test('Set-Cookie value: nginx attribute order and spelling', () => {
  const r = fakeRequest();
  const now = Date.UTC(2026, 0, 1) / 1000;
  assert.equal(cookieOf('cookie srv').value(r, 'sid1', now), 'srv=sid1');
  assert.equal(
    cookieOf('cookie srv path=/app samesite=None secure httponly domain=.e.com expires=1h').value(
      r,
      'sid1',
      now,
    ),
    'srv=sid1; expires=Thu, 01-Jan-26 01:00:00 GMT; max-age=3600; domain=.e.com; httponly; secure; samesite=None; path=/app',
  );
  assert.equal(
    cookieOf('cookie srv expires=max').value(r, 'x', now),
    'srv=x; expires=Thu, 31-Dec-37 23:55:55 GMT; max-age=315360000',
  );
});

test('samesite and domain from variables: empty omits, an invalid samesite becomes strict', () => {
  const cookie = cookieOf('cookie srv domain=$d samesite=$s');
  const r = fakeRequest();
  assert.equal(cookie.value(r, 'x', 0), 'srv=x');
  r.vars.set('s', 'LAX');
  r.vars.set('d', 'a.b');
  assert.equal(cookie.value(r, 'x', 0), 'srv=x; domain=a.b; samesite=LAX');
  r.vars.set('s', 'sometimes');
  assert.equal(cookie.value(r, 'x', 0), 'srv=x; domain=a.b; samesite=strict');
});
