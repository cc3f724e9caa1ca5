// The restart backoff: 0.5 s doubling to 10 s, back to 0.5 s after a run as long as the longest wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../../src/cluster/backoff.ts';

test('waits 0.5 s, then twice as long each quick crash, up to 10 s', () => {
  const b = new Backoff();
  assert.deepEqual(
    Array.from({ length: 8 }, () => b.next(100)),
    [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
  );
});

test('starts over after a node stayed up as long as the longest wait', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000 });
  assert.equal(b.next(0), 100);
  assert.equal(b.next(999), 200);
  assert.equal(b.next(1000), 100);
  assert.equal(b.next(5), 200);
});
