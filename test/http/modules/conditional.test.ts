import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  etagMatches,
  fileEtag,
  httpTime,
  ifRangeAllows,
  parseHttpTime,
  preconditionStatus,
} from '../../../src/http/modules/conditional.ts';

const T = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT

test('HTTP dates: the three formats, and what nginx refuses', () => {
  assert.equal(parseHttpTime('Sun, 06 Nov 1994 08:49:37 GMT'), T);
  assert.equal(parseHttpTime('Sunday, 06-Nov-94 08:49:37 GMT'), T);
  assert.equal(parseHttpTime('Sun Nov  6 08:49:37 1994'), T);
  assert.equal(parseHttpTime('Sun, 06 Nov 1994 24:00:00 GMT'), -1);
  assert.equal(parseHttpTime('Tue, 29 Feb 2022 00:00:00 GMT'), -1);
  assert.equal(parseHttpTime('Thu, 29 Feb 2024 00:00:00 GMT'), 1709164800);
  assert.equal(parseHttpTime('yesterday'), -1);
  assert.equal(httpTime(T), 'Sun, 06 Nov 1994 08:49:37 GMT');
});

test('ETag is nginx\'s "mtime-size" in hex', () => {
  assert.equal(fileEtag(0x6b09419e, 20), '"6b09419e-14"');
});

test('If-Match / If-None-Match lists', () => {
  const e = '"a-1"';
  assert.ok(etagMatches('*', null, false));
  assert.ok(!etagMatches('"a-1"', null, false));
  assert.ok(etagMatches('"a-1"', e, false));
  assert.ok(etagMatches('"x", "a-1" ,"y"', e, false));
  assert.ok(!etagMatches('"a-12"', e, false));
  assert.ok(!etagMatches('W/"a-1"', e, false));
  assert.ok(etagMatches('W/"a-1"', e, true));
});

test("preconditions in nginx's order: 412 first, then 304", () => {
  const e = '"a-1"';
  const date = httpTime(T);
  assert.equal(preconditionStatus({}, T, e, 'exact'), 200);
  assert.equal(preconditionStatus({ ifModifiedSince: date }, T, e, 'exact'), 304);
  assert.equal(preconditionStatus({ ifModifiedSince: httpTime(T + 1) }, T, e, 'exact'), 200);
  assert.equal(preconditionStatus({ ifModifiedSince: httpTime(T + 1) }, T, e, 'before'), 304);
  assert.equal(preconditionStatus({ ifModifiedSince: httpTime(T - 1) }, T, e, 'before'), 200);
  assert.equal(preconditionStatus({ ifModifiedSince: date }, T, e, 'off'), 200);
  assert.equal(preconditionStatus({ ifNoneMatch: e }, T, e, 'exact'), 304);
  assert.equal(preconditionStatus({ ifNoneMatch: '"b"' }, T, e, 'exact'), 200);
  // Both given: both must say "not modified".
  assert.equal(preconditionStatus({ ifNoneMatch: e, ifModifiedSince: httpTime(T - 5) }, T, e, 'exact'), 200);
  assert.equal(preconditionStatus({ ifUnmodifiedSince: httpTime(T - 1) }, T, e, 'exact'), 412);
  assert.equal(preconditionStatus({ ifUnmodifiedSince: date }, T, e, 'exact'), 200);
  assert.equal(preconditionStatus({ ifUnmodifiedSince: 'garbage' }, T, e, 'exact'), 412);
  assert.equal(preconditionStatus({ ifMatch: '"b"', ifNoneMatch: e }, T, e, 'exact'), 412);
  assert.equal(preconditionStatus({ ifMatch: '*' }, T, null, 'exact'), 200);
});

test('If-Range: an ETag must match exactly, a date the very Last-Modified', () => {
  assert.ok(ifRangeAllows('"a-1"', T, '"a-1"'));
  assert.ok(!ifRangeAllows('"a-2"', T, '"a-1"'));
  assert.ok(!ifRangeAllows('"a-1"', T, null));
  assert.ok(ifRangeAllows(httpTime(T), T, null));
  assert.ok(!ifRangeAllows(httpTime(T + 1), T, null));
});
