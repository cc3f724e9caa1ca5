import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { secondsWithMillis, timeIso8601, timeLocal } from '../../src/variables/time_strings.ts';

describe('time strings', () => {
  const savedTz = process.env.TZ;
  after(() => {
    process.env.TZ = savedTz;
  });
  // 2026-11-27T06:43:14.250Z; each case is a different second so the cache refreshes.
  const at = Date.UTC(2026, 10, 27, 6, 43, 14, 250);

  it('formats UTC as nginx does', () => {
    process.env.TZ = 'UTC';
    assert.equal(timeLocal(at), '27/Nov/2026:06:43:14 +0000');
    assert.equal(timeIso8601(at), '2026-11-27T06:43:14+00:00');
  });

  it('formats positive and negative offsets, minutes included', () => {
    process.env.TZ = 'Asia/Kolkata';
    assert.equal(timeLocal(at + 1000), '27/Nov/2026:12:13:15 +0530');
    assert.equal(timeIso8601(at + 1000), '2026-11-27T12:13:15+05:30');
    process.env.TZ = 'America/New_York';
    assert.equal(timeLocal(at + 2000), '27/Nov/2026:01:43:16 -0500');
    assert.equal(timeIso8601(at + 2000), '2026-11-27T01:43:16-05:00');
  });

  it('pads the day and reuses the strings within one second', () => {
    process.env.TZ = 'UTC';
    const early = Date.UTC(2026, 0, 5, 0, 0, 9, 0);
    assert.equal(timeLocal(early), '05/Jan/2026:00:00:09 +0000');
    assert.equal(timeLocal(early + 999), '05/Jan/2026:00:00:09 +0000');
    assert.equal(timeIso8601(early + 999), '2026-01-05T00:00:09+00:00');
  });

  it('prints milliseconds as seconds.mmm', () => {
    assert.equal(secondsWithMillis(0), '0.000');
    assert.equal(secondsWithMillis(7), '0.007');
    assert.equal(secondsWithMillis(1234.9), '1.234');
    assert.equal(secondsWithMillis(1795769012102), '1795769012.102');
  });
});
