import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentRange, multipart, nextBoundary, parseRanges } from '../../../src/http/modules/byte_ranges.ts';

const MAX = 2 ** 31 - 1;

test('single ranges: closed, open-ended, suffix, clipped to the size', () => {
  assert.deepEqual(parseRanges('bytes=0-4', 20, MAX), [{ start: 0, end: 5 }]);
  assert.deepEqual(parseRanges('bytes=5-', 20, MAX), [{ start: 5, end: 20 }]);
  assert.deepEqual(parseRanges('bytes=-3', 20, MAX), [{ start: 17, end: 20 }]);
  assert.deepEqual(parseRanges('bytes=-30', 20, MAX), [{ start: 0, end: 20 }]);
  assert.deepEqual(parseRanges('bytes=10-100', 20, MAX), [{ start: 10, end: 20 }]);
  assert.deepEqual(parseRanges('bytes= 1 - 2 ', 20, MAX), [{ start: 1, end: 3 }]);
});

test('several ranges, and the cases nginx declines to a whole 200', () => {
  assert.deepEqual(parseRanges('bytes=0-1,5-6', 20, MAX), [
    { start: 0, end: 2 },
    { start: 5, end: 7 },
  ]);
  // Overlaps adding up past the size, more ranges than max_ranges, and an empty body.
  assert.equal(parseRanges('bytes=0-15,5-19', 20, MAX), 'declined');
  assert.equal(parseRanges('bytes=0-1,3-4', 20, 1), 'declined');
  assert.equal(parseRanges('bytes=0-', 0, MAX), 'declined');
});

test('unsatisfiable: past the end, malformed, reversed', () => {
  assert.equal(parseRanges('bytes=30-', 20, MAX), 'unsatisfiable');
  assert.equal(parseRanges('bytes=-0', 20, MAX), 'unsatisfiable');
  assert.equal(parseRanges('bytes=x-1', 20, MAX), 'unsatisfiable');
  assert.equal(parseRanges('bytes=5-1', 20, MAX), 'unsatisfiable');
  assert.equal(parseRanges('bytes=1-2x', 20, MAX), 'unsatisfiable');
  assert.equal(parseRanges('bytes=99999999999999999999-', 20, MAX), 'unsatisfiable');
  // One bad range among good ones spoils the header, as in nginx.
  assert.equal(parseRanges('bytes=0-1,a', 20, MAX), 'unsatisfiable');
  // Ranges wholly past the end are dropped; the rest stand.
  assert.deepEqual(parseRanges('bytes=30-40,0-0', 20, MAX), [{ start: 0, end: 1 }]);
});

test('Content-Range and the multipart framing match nginx byte for byte', () => {
  assert.equal(contentRange({ start: 2, end: 5 }, 20), 'bytes 2-4/20');
  const mp = multipart(
    [
      { start: 0, end: 2 },
      { start: 5, end: 7 },
    ],
    20,
    'text/plain',
    '00000000000000000001',
  );
  assert.equal(mp.contentType, 'multipart/byteranges; boundary=00000000000000000001');
  const body = Buffer.concat([
    mp.heads[0],
    Buffer.from('01'),
    mp.heads[1],
    Buffer.from('56'),
    mp.tail,
  ]).toString();
  assert.equal(
    body,
    '\r\n--00000000000000000001\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n01' +
      '\r\n--00000000000000000001\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/20\r\n\r\n56' +
      '\r\n--00000000000000000001--\r\n',
  );
  // nginx's Content-Length for this very response.
  assert.equal(mp.length, 198);
});

test('boundaries count up, 20 digits wide', () => {
  const a = nextBoundary();
  const b = nextBoundary();
  assert.match(a, /^\d{20}$/);
  assert.equal(Number(b), Number(a) + 1);
});
