import assert from 'node:assert/strict';
import { it } from 'node:test';
import { keyBytes } from '../../src/zones/zone_key.ts';

it('keyBytes encodes strings as UTF-8: ASCII, non-ASCII at any place, past the short-key loop', () => {
  const long = 'k'.repeat(65);
  for (const key of [
    '',
    'a',
    '10.0.0.1',
    'caf\u00e9',
    '\u00e9x',
    `${'a'.repeat(63)}\u2713`,
    long,
    `${long}\u{1f600}`,
  ]) {
    assert.deepEqual([...keyBytes(key)], [...Buffer.from(key, 'utf8')], JSON.stringify(key));
  }
  const bytes = new Uint8Array([1, 2, 3]);
  assert.equal(keyBytes(bytes), bytes, 'bytes are taken as they are');
});
