import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpTime } from '../../../src/http/modules/conditional.ts';
import { expiresHeaders, nextTime, parseExpires } from '../../../src/http/modules/expires.ts';

const NOW = 1_800_000_000;

test("parsing: keywords, signs, daily, and nginx's error texts", () => {
  assert.deepEqual(parseExpires('epoch', 'access'), { kind: 'epoch', time: 0 });
  assert.deepEqual(parseExpires('max', 'access'), { kind: 'max', time: 0 });
  assert.deepEqual(parseExpires('off', 'access'), { kind: 'off', time: 0 });
  assert.deepEqual(parseExpires('1h 30m', 'access'), { kind: 'access', time: 5400 });
  assert.deepEqual(parseExpires('+1d', 'access'), { kind: 'access', time: 86400 });
  assert.deepEqual(parseExpires('-1', 'access'), { kind: 'access', time: -1 });
  assert.deepEqual(parseExpires('30d', 'modified'), { kind: 'modified', time: 30 * 86400 });
  assert.deepEqual(parseExpires('@15h30m', 'access'), { kind: 'daily', time: 15 * 3600 + 1800 });
  assert.equal(parseExpires('epoch', 'modified'), 'invalid value');
  assert.equal(parseExpires('soon', 'access'), 'invalid value');
  assert.equal(parseExpires('10ms', 'access'), 'invalid value');
  assert.equal(parseExpires('@25h', 'access'), 'daily time value must be less than 24 hours');
  assert.equal(parseExpires('@1h', 'modified'), 'daily time cannot be used with "modified" parameter');
});

test('Expires and Cache-Control as nginx sets them', () => {
  assert.deepEqual(expiresHeaders({ kind: 'epoch', time: 0 }, NOW, null, false), [
    'Thu, 01 Jan 1970 00:00:01 GMT',
    'no-cache',
  ]);
  assert.deepEqual(expiresHeaders({ kind: 'max', time: 0 }, NOW, null, false), [
    'Thu, 31 Dec 2037 23:55:55 GMT',
    'max-age=315360000',
  ]);
  assert.deepEqual(expiresHeaders({ kind: 'access', time: 0 }, NOW, null, false), [
    httpTime(NOW),
    'max-age=0',
  ]);
  assert.deepEqual(expiresHeaders({ kind: 'access', time: 3600 }, NOW, NOW - 50, false), [
    httpTime(NOW + 3600),
    'max-age=3600',
  ]);
  assert.deepEqual(expiresHeaders({ kind: 'modified', time: 86400 }, NOW, NOW - 4, false), [
    httpTime(NOW + 86396),
    'max-age=86396',
  ]);
  // `modified` without a Last-Modified counts from now.
  assert.deepEqual(expiresHeaders({ kind: 'modified', time: 60 }, NOW, null, false), [
    httpTime(NOW + 60),
    'max-age=60',
  ]);
  assert.deepEqual(expiresHeaders({ kind: 'access', time: -1 }, NOW, null, true), [
    httpTime(NOW - 1),
    'no-cache',
  ]);
  assert.deepEqual(expiresHeaders({ kind: 'modified', time: 10 }, NOW, NOW - 100, false), [
    httpTime(NOW - 90),
    'no-cache',
  ]);
});

test('daily: the next local time of day, today or tomorrow', () => {
  const d = new Date(NOW * 1000);
  const secondsToday = d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
  const later = (secondsToday + 60) % 86400;
  const earlier = (secondsToday + 86400 - 60) % 86400;
  assert.equal(nextTime(later, NOW), NOW + 60);
  const next = nextTime(earlier, NOW);
  assert.ok(next > NOW + 86400 - 3 * 3600 && next <= NOW + 86400 + 3600, 'about a day later');
  const [expires, cc] = expiresHeaders({ kind: 'daily', time: later }, NOW, null, false);
  assert.equal(expires, httpTime(NOW + 60));
  assert.equal(cc, 'max-age=60');
});
