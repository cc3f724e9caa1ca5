// docs/protocol.md §14's worked examples are what the encoder writes, byte for byte, and decode
// back to the frames the text describes; the doc cannot drift from the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FrameWriter } from '../../../src/stream/zone_sync/codec.ts';
import { decodeAll, plain } from '../../helpers/sync_fuzz.ts';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
const te = new TextEncoder();
const T0 = Date.UTC(2026, 0, 1);

/** The bytes of the code block under `heading`: the leading hex pairs of each line. */
function exampleBytes(heading: string): Buffer {
  const section = doc.slice(doc.indexOf(heading));
  const block = section.slice(section.indexOf('```') + 3, section.indexOf('```', section.indexOf('```') + 3));
  const hex = block
    .split('\n')
    .flatMap((line) => line.match(/^(?:[0-9A-F]{2} )*[0-9A-F]{2}(?= |$)/)?.[0].split(' ') ?? []);
  return Buffer.from(hex.join(''), 'hex');
}

test('§14.1: the handshake example is the encoder output', () => {
  const w = new FrameWriter();
  w.preamble();
  w.hello({
    instanceId: 0x0123456789abcdefn,
    nodeId: 1,
    wall: T0,
    maxFrame: 1 << 20,
    snapshotWindow: 256 * 1024,
    timeoutMs: 5000,
    nodeName: 'node-a',
  });
  w.catalogue(1, [{ index: 0, name: 'kv', type: 'keyval', version: 1 }]);
  const bytes = exampleBytes('### 14.1');
  assert.deepEqual(bytes, w.take());
  const frames = decodeAll([bytes]).map(plain);
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[2], {
    type: 'catalogue',
    generation: 1,
    entries: [{ index: 0, name: 'kv', type: 'keyval', version: 1 }],
  });
});

test('§14.2: the RECORDS example is the encoder output', () => {
  const w = new FrameWriter();
  w.beginRecords('records', 0);
  w.record(te.encode('user:1'), te.encode('alice'), T0, 1, T0 + 60_000, false);
  w.record(te.encode('user:2'), new Uint8Array(0), T0, (1 << 16) | 1, T0 + 60_000, true);
  w.endRecords();
  const bytes = exampleBytes('### 14.2');
  assert.deepEqual(bytes, w.take());
  const preamble = exampleBytes('### 14.1').subarray(0, 8);
  const [, records] = decodeAll([preamble, bytes]).map(plain);
  assert.deepEqual(
    (records as { records: { deleted: boolean }[] }).records.map((r) => r.deleted),
    [false, true],
  );
});
