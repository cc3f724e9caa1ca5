import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/types.ts';
import {
  enumDirective,
  ignoredDirective,
  ngxAtoi,
  ngxOffset,
  ngxSize,
  ngxTime,
  parseAddress,
  parseEnum,
  parseFlag,
  parseNumber,
  parseOffset,
  parseSeconds,
  parseSize,
  parseTime,
  sizeDirective,
} from '../../src/config/values.ts';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.file, undefined, 'the parser places the error');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('ngx_atoi: digits only', () => {
  assert.equal(ngxAtoi('0'), 0);
  assert.equal(ngxAtoi('1234'), 1234);
  for (const bad of ['', '-1', '+1', '1a', ' 1', '1.5', '99999999999999999999'])
    assert.equal(ngxAtoi(bad), null, bad);
});

test('ngx_parse_size: k and m in either case; g is an offset unit only', () => {
  assert.equal(ngxSize('100'), 100);
  assert.equal(ngxSize('8k'), 8192);
  assert.equal(ngxSize('8K'), 8192);
  assert.equal(ngxSize('2m'), 2 * 1024 * 1024);
  assert.equal(ngxSize('2M'), 2 * 1024 * 1024);
  for (const bad of ['', 'k', '1g', '1G', '1kb', '-1', '1.5k', ' 1']) assert.equal(ngxSize(bad), null, bad);
  assert.equal(ngxOffset('1g'), 1024 ** 3);
  assert.equal(ngxOffset('3G'), 3 * 1024 ** 3);
  assert.equal(ngxOffset('10m'), 10 * 1024 ** 2);
  assert.equal(ngxOffset('1t'), null);
});

test('ngx_parse_time in milliseconds', () => {
  assert.equal(ngxTime('10', false), 10_000);
  assert.equal(ngxTime('500ms', false), 500);
  assert.equal(ngxTime('1s', false), 1000);
  assert.equal(ngxTime('1h30m', false), 5_400_000);
  assert.equal(ngxTime('1h 30m', false), 5_400_000);
  assert.equal(ngxTime('1d2h3m4s5ms', false), ((26 * 60 + 3) * 60 + 4) * 1000 + 5);
  assert.equal(ngxTime('2w', false), 14 * 86_400_000);
  assert.equal(ngxTime('1m 30', false), 90_000);
  // Units in decreasing order, once each; no y or M in milliseconds; a unit needs a number.
  for (const bad of ['', 'ms', '1s1m', '1m1m', '1y', '1M', '1x', '5 ms', '1.5s', '-1s', '1 2s']) {
    assert.equal(ngxTime(bad, false), null, bad);
  }
});

test('ngx_parse_time in seconds', () => {
  assert.equal(ngxTime('10', true), 10);
  assert.equal(ngxTime('1y', true), 365 * 86_400);
  assert.equal(ngxTime('1y2M', true), 365 * 86_400 + 60 * 86_400);
  assert.equal(ngxTime('1h', true), 3600);
  assert.equal(ngxTime('100ms', true), null);
  assert.equal(ngxTime('1M1y', true), null);
});

test('slot wording', () => {
  assert.equal(parseSize('1m', 'client_body_buffer_size'), 1024 * 1024);
  assert.equal(
    messageOf(() => parseSize('1x', 'client_body_buffer_size')),
    '"client_body_buffer_size" directive invalid value',
  );
  assert.equal(parseOffset('1g', 'client_max_body_size'), 1024 ** 3);
  assert.equal(
    messageOf(() => parseOffset('', 'client_max_body_size')),
    '"client_max_body_size" directive invalid value',
  );
  assert.equal(parseTime('75s', 'keepalive_timeout'), 75_000);
  assert.equal(
    messageOf(() => parseTime('1x', 'keepalive_timeout')),
    '"keepalive_timeout" directive invalid value',
  );
  assert.equal(parseSeconds('1h', 'ssl_session_timeout'), 3600);
  assert.equal(
    messageOf(() => parseSeconds('5ms', 'ssl_session_timeout')),
    '"ssl_session_timeout" directive invalid value',
  );
  assert.equal(parseNumber('100', 'keepalive_requests'), 100);
  assert.equal(
    messageOf(() => parseNumber('1k', 'keepalive_requests')),
    '"keepalive_requests" directive invalid number',
  );
  assert.equal(parseFlag('ON', 'gzip'), true);
  assert.equal(parseFlag('off', 'gzip'), false);
  assert.equal(
    messageOf(() => parseFlag('yes', 'gzip')),
    'invalid value "yes" in "gzip" directive, it must be "on" or "off"',
  );
  assert.equal(parseEnum('Abort', ['stop', 'abort']), 'abort');
  assert.equal(
    messageOf(() => parseEnum('x', ['stop', 'abort'])),
    'invalid value "x"',
  );
});

test('spec builders', () => {
  const size = sizeDirective('client_body_buffer_size', ['http']);
  assert.deepEqual([size.name, size.contexts, size.args], ['client_body_buffer_size', ['http'], [1]]);
  const e = { name: size.name, args: ['16k'], file: 'f', line: 1 };
  const cx = {
    block: { context: 'http' as const, entries: [], parent: null, owner: null },
    prefix: '',
    confPrefix: '',
  };
  const ctx = { ...cx, resolvePath: (p: string) => p, resolveConfPath: (p: string) => p };
  assert.equal(size.parse?.(e, ctx), 16384);
  assert.equal(enumDirective('x', ['main'], ['a', 'b']).parse?.({ ...e, args: ['B'] }, ctx), 'b');
  assert.deepEqual(ignoredDirective('env', ['main'], [1], true), {
    name: 'env',
    contexts: ['main'],
    args: [1],
    multiple: true,
  });
});

test('parseAddress: the forms listen accepts', () => {
  assert.deepEqual(parseAddress('80'), { host: null, port: 80 });
  assert.deepEqual(parseAddress('*:8080'), { host: null, port: 8080 });
  assert.deepEqual(parseAddress('127.0.0.1:81'), { host: '127.0.0.1', port: 81 });
  assert.deepEqual(parseAddress('127.0.0.1'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseAddress('localhost:9000'), { host: 'localhost', port: 9000 });
  assert.deepEqual(parseAddress('[::1]:8443'), { host: '::1', port: 8443 });
  assert.deepEqual(parseAddress('[::]'), { host: '::', port: 80 });
  assert.deepEqual(parseAddress('unix:/run/z.sock'), { host: null, port: 0, unix: '/run/z.sock' });
  assert.deepEqual(parseAddress('UNIX:/run/z.sock'), { host: null, port: 0, unix: '/run/z.sock' });
  assert.deepEqual(parseAddress('9000', 'zone_sync', 12345), { host: null, port: 9000 });
  assert.deepEqual(parseAddress('peer.local', 'zone_sync', 12345), { host: 'peer.local', port: 12345 });
});

test('parseAddress: nginx errors, naming the directive', () => {
  const cases: [string, string][] = [
    ['99999', 'invalid port in "99999" of the "listen" directive'],
    ['0', 'invalid port in "0" of the "listen" directive'],
    ['*:0', 'invalid port in "*:0" of the "listen" directive'],
    ['foo:', 'invalid port in "foo:" of the "listen" directive'],
    ['1.2.3.4:abc', 'invalid port in "1.2.3.4:abc" of the "listen" directive'],
    ['::1', 'invalid port in "::1" of the "listen" directive'],
    [':80', 'no host in ":80" of the "listen" directive'],
    ['', 'no host in "" of the "listen" directive'],
    ['a/b:80', 'invalid host in "a/b:80" of the "listen" directive'],
    ['a?b', 'invalid host in "a?b" of the "listen" directive'],
    ['[::1', 'invalid host in "[::1" of the "listen" directive'],
    ['[::1]x', 'invalid host in "[::1]x" of the "listen" directive'],
    ['[::1]:80/x', 'invalid host in "[::1]:80/x" of the "listen" directive'],
    ['[::1]:80x', 'invalid port in "[::1]:80x" of the "listen" directive'],
    ['[]:80', 'no host in "[]:80" of the "listen" directive'],
    ['[fe80::zz]:80', 'invalid IPv6 address in "[fe80::zz]:80" of the "listen" directive'],
    ['unix:', 'no path in the unix domain socket in "unix:" of the "listen" directive'],
    [
      `unix:/${'x'.repeat(107)}`,
      `too long path in the unix domain socket in "unix:/${'x'.repeat(107)}" of the "listen" directive`,
    ],
  ];
  for (const [text, message] of cases)
    assert.equal(
      messageOf(() => parseAddress(text)),
      message,
      text,
    );
  assert.equal(
    messageOf(() => parseAddress('x:0', 'zone_sync')),
    'invalid port in "x:0" of the "zone_sync" directive',
  );
});
