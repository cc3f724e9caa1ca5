// 100,000 random and mutated frames against the decoder: the only exception it may throw is
// ProtocolError, it never hangs, and valid frames always decode, however the stream is chunked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../../src/stream/zone_sync/codec.ts';
import {
  decodeAll,
  handshake,
  int,
  mutate,
  randomChunks,
  randomFrame,
  rng,
} from '../../helpers/sync_fuzz.ts';

const FRAMES = 100_000;

test(`${FRAMES} random and mutated frames: ProtocolError or frames, nothing else`, {
  timeout: 120_000,
}, () => {
  const rand = rng(0x5eed);
  const outcomes = { valid: 0, frames: 0, rejected: 0 };
  let done = 0;
  while (done < FRAMES) {
    // A connection's worth: the handshake, then a few frames, of which some are mutated.
    const parts: Uint8Array[] = [handshake(rand)];
    let mutated = false;
    const n = 1 + int(rand, 5);
    for (let i = 0; i < n; i++) {
      const frame = randomFrame(rand);
      if (rand() < 0.5) {
        parts.push(mutate(rand, frame));
        mutated = true;
      } else parts.push(frame);
    }
    done += n;
    const stream = Buffer.concat(parts);
    try {
      outcomes.frames += decodeAll(randomChunks(rand, stream)).length;
      outcomes.valid++;
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      assert.ok(mutated, `an unmutated stream was rejected: ${err.reason}`);
      outcomes.rejected++;
    }
  }
  // Both outcomes must be common, or the generator has stopped exercising one side.
  assert.ok(outcomes.rejected > FRAMES / 20, JSON.stringify(outcomes));
  assert.ok(outcomes.valid > FRAMES / 50, JSON.stringify(outcomes));
});
