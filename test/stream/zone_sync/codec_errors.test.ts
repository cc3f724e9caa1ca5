// The decoder never trusts the wire: every truncation, every corrupted length field and every
// rule of docs/protocol.md broken ends in ProtocolError, never in a crash or a wrong frame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FrameDecoder,
  FrameWriter,
  MIN_MAX_FRAME,
  ProtocolError,
} from '../../../src/stream/zone_sync/codec.ts';
import { decodeAll, plain } from '../../helpers/sync_fuzz.ts';

const te = new TextEncoder();
const T0 = Date.UTC(2026, 0, 1);
const PREAMBLE = Buffer.from([0x5a, 0x53, 0x59, 0x4e, 1, 1, 0, 0]);

/** A frame from raw body bytes. */
function frame(type: number, body: Uint8Array | number[]): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32LE(body.length, 0);
  out[4] = type;
  out.set(body, 5);
  return out;
}

function rejects(stream: Uint8Array, reason: RegExp | string, options?: { maxFrame?: number }): void {
  assert.throws(
    () => decodeAll([PREAMBLE, stream], options),
    (err: unknown) => {
      assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${err}`);
      if (typeof reason === 'string') assert.equal(err.reason, reason);
      else assert.match(err.reason, reason);
      return true;
    },
  );
}

const RECORDS = [
  { key: 'user:1', value: 'alice', deleted: false },
  { key: 'user:22', value: '', deleted: true },
  { key: 'k', value: 'a longer value here', deleted: false },
];

/** Each test frame, with the offset, width and name of every length or count field in it. */
interface Specimen {
  readonly name: string;
  readonly bytes: Buffer;
  readonly lengths: [offset: number, width: 1 | 2 | 4, what: string, value: number][];
}

function specimens(): Specimen[] {
  const w = new FrameWriter();
  const out: Specimen[] = [];
  w.hello({
    instanceId: 5n,
    nodeId: 2,
    wall: T0,
    maxFrame: 1 << 20,
    snapshotWindow: 1 << 18,
    timeoutMs: 5000,
    nodeName: 'node-b',
    software: 'zs',
  });
  out.push({
    name: 'HELLO',
    bytes: w.take(),
    lengths: [
      [0, 4, 'frame length', 44],
      [35, 2, 'TLV 1 length', 6],
      [45, 2, 'TLV 2 length', 2],
    ],
  });
  w.catalogue(1, [
    { index: 0, name: 'kv', type: 'keyval', version: 1 },
    { index: 1, name: 'one', type: 'limit_req', version: 2 },
  ]);
  out.push({
    name: 'CATALOGUE',
    bytes: w.take(),
    lengths: [
      [0, 4, 'frame length', 38],
      [9, 2, 'count', 2],
      [13, 1, 'name 0 length', 2],
      [16, 1, 'type 0 length', 6],
      [27, 1, 'name 1 length', 3],
      [31, 1, 'type 1 length', 9],
    ],
  });
  for (const kind of ['records', 'snapshot-chunk'] as const) {
    w.beginRecords(kind, 3);
    const lengths: Specimen['lengths'] = [
      [0, 4, 'frame length', 6 + RECORDS.reduce((n, r) => n + 23 + r.key.length + r.value.length, 0)],
      [7, 4, 'count', RECORDS.length],
    ];
    let at = 11;
    for (const [i, r] of RECORDS.entries()) {
      w.record(te.encode(r.key), te.encode(r.value), T0, i, T0 + 1000, r.deleted);
      lengths.push(
        [at + 1, 2, `record ${i} key length`, r.key.length],
        [at + 3, 4, `record ${i} value length`, r.value.length],
      );
      at += 23 + r.key.length + r.value.length;
    }
    w.endRecords();
    out.push({ name: kind, bytes: w.take(), lengths });
  }
  const fixed: [string, () => void][] = [
    ['PING', () => w.ping(T0)],
    ['PONG', () => w.pong(T0, T0)],
    ['SNAPSHOT_BEGIN', () => w.snapshotBegin(1)],
    ['SNAPSHOT_END', () => w.snapshotEnd(1, 9)],
    ['SNAPSHOT_ACK', () => w.snapshotAck(100)],
    ['CAUGHT_UP', () => w.caughtUp(1)],
    ['CLOSE', () => w.close(3, 'duplicate')],
  ];
  for (const [name, write] of fixed) {
    write();
    const bytes = w.take();
    out.push({ name, bytes, lengths: [[0, 4, 'frame length', bytes.length - 5]] });
  }
  return out;
}

test('every prefix of a stream: the frames so far, then end() fails unless at a frame boundary', () => {
  const all = specimens();
  const stream = Buffer.concat([PREAMBLE, ...all.map((s) => s.bytes)]);
  const boundaries = new Set([0, PREAMBLE.length]);
  let at = PREAMBLE.length;
  for (const s of all) boundaries.add((at += s.bytes.length));
  const whole = decodeAll([stream]).map(plain);
  for (let cut = 0; cut < stream.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(stream.subarray(0, cut))].map(plain);
    assert.deepEqual(frames, whole.slice(0, frames.length), `prefix ${cut}`);
    if (boundaries.has(cut)) d.end();
    else
      assert.throws(() => d.end(), /connection closed after \d+ (of \d+ )?bytes of (a frame|the preamble)/);
  }
});

test('every frame cut short with its length adjusted is rejected', () => {
  for (const s of specimens()) {
    // A CLOSE reason runs to the end of its frame: any shorter reason is still a CLOSE.
    if (s.name === 'CLOSE') continue;
    // HELLO without its TLVs, or with only the first, is a valid HELLO.
    const valid = s.name === 'HELLO' ? new Set([28, 38]) : new Set<number>();
    for (let body = 0; body < s.bytes.length - 5; body++) {
      const cut = Buffer.from(s.bytes.subarray(0, 5 + body));
      cut.writeUInt32LE(body, 0);
      if (valid.has(body)) decodeAll([PREAMBLE, cut]);
      else rejects(cut, /./);
    }
  }
});

test('every length and count field, corrupted, is rejected', () => {
  let cases = 0;
  for (const s of specimens()) {
    for (const [offset, width, what, expected] of s.lengths) {
      const original = s.bytes.readUIntLE(offset, width);
      assert.equal(original, expected, `${s.name} ${what} is at ${offset}`);
      const max = 2 ** (8 * width) - 1;
      const values = new Set([original - 1, original + 1, 0, max, original * 2 + 1, max >>> 1]);
      for (const value of values) {
        if (value === original || value < 0 || value > max) continue;
        const bad = Buffer.from(s.bytes);
        bad.writeUIntLE(value, offset, width);
        assert.throws(
          () => decodeAll([PREAMBLE, bad]),
          ProtocolError,
          `${s.name} ${what} ${original} → ${value}`,
        );
        cases++;
      }
    }
  }
  assert.ok(cases > 100);
});

test('a frame over the limit fails on its header, before any body byte', () => {
  const d = new FrameDecoder({ maxFrame: MIN_MAX_FRAME });
  [...d.push(PREAMBLE)];
  const header = Buffer.from([0, 0, 0, 0, 0x10]);
  header.writeUInt32LE(MIN_MAX_FRAME - 4, 0);
  assert.throws(() => [...d.push(header)], {
    reason: `frame of ${MIN_MAX_FRAME + 1} bytes exceeds the limit of ${MIN_MAX_FRAME} bytes`,
  });
  header.writeUInt32LE(0xffffffff, 0);
  assert.throws(() => decodeAll([PREAMBLE, header]), /exceeds the limit of 1048576 bytes/);
  // A frame of exactly the limit is fine.
  const w = new FrameWriter({ maxFrame: MIN_MAX_FRAME });
  w.beginRecords('records', 0);
  w.record(te.encode('k'), new Uint8Array(MIN_MAX_FRAME - 35), T0, 0, 0, false);
  w.endRecords();
  const exact = w.take();
  assert.equal(exact.length, MIN_MAX_FRAME);
  assert.equal(decodeAll([PREAMBLE, exact], { maxFrame: MIN_MAX_FRAME }).length, 2);
});

/** A RECORDS frame holding one record whose header bytes are given. */
function oneRecord(header: { flags?: number; key?: number; value?: number }, tail: number[]): Buffer {
  const body = Buffer.alloc(6 + 23 + tail.length);
  body.writeUInt32LE(1, 2);
  body[6] = header.flags ?? 0;
  body.writeUInt16LE(header.key ?? 1, 7);
  body.writeUInt32LE(header.value ?? 0, 9);
  body.set(tail, 29);
  return frame(0x10, body);
}

test('record rules: reserved flags, empty keys, tombstones with values, impossible counts', () => {
  rejects(oneRecord({ flags: 2 }, [0x61]), 'RECORDS record 0 has reserved flags 0x2');
  rejects(oneRecord({ key: 0 }, [0x61]), 'RECORDS record 0 has an empty key');
  rejects(oneRecord({ flags: 1, value: 1 }, [0x61, 0x62]), 'RECORDS record 0 is a tombstone with a value');
  rejects(oneRecord({ value: 0xffffffff }, [0x61]), /runs past the frame/);
  const huge = frame(0x12, [0, 0, 0xff, 0xff, 0xff, 0xff, ...new Array(100).fill(0)]);
  rejects(huge, 'SNAPSHOT_CHUNK of 4294967295 records cannot fit in 100 bytes');
  rejects(frame(0x10, [0, 0, 0]), 'RECORDS of 3 bytes');
});

test('HELLO rules: identity, limits, TLV framing', () => {
  const w = new FrameWriter();
  const base = { instanceId: 1n, nodeId: 1, wall: 0, maxFrame: 1 << 20, snapshotWindow: 1, timeoutMs: 1 };
  w.hello(base);
  const hello = w.take();
  const patched = (offset: number, bytes: number[]) => {
    const b = Buffer.from(hello);
    b.set(bytes, offset);
    return b;
  };
  rejects(patched(5, [0, 0, 0, 0, 0, 0, 0, 0]), 'HELLO with instance id 0');
  rejects(patched(21, [0xff, 0xff, 0, 0]), 'HELLO maxFrame 65535 outside 65536..16777216');
  rejects(patched(21, [1, 0, 0, 1]), /HELLO maxFrame 16777217 outside/);
  rejects(patched(25, [0, 0, 0, 0]), 'HELLO with a zero window or timeout');
  const withTlvs = (tlvs: number[]) => {
    const b = Buffer.concat([hello, Buffer.from(tlvs)]);
    b.writeUInt32LE(b.length - 5, 0);
    return b;
  };
  rejects(withTlvs([1, 0, 1, 0, 0x61, 1, 0, 1, 0, 0x62]), 'HELLO TLV 1 appears twice');
  rejects(withTlvs([1, 0, 2, 0, 0xc3, 0x28]), 'HELLO TLV 1 is not valid UTF-8');
  rejects(withTlvs([9, 0, 5, 0, 1]), 'HELLO TLV 9 of 5 bytes runs past the frame');
  rejects(withTlvs([9, 0, 0]), '3 stray bytes after the HELLO TLVs');
  rejects(frame(0x01, new Array(27).fill(1)), 'HELLO body of 27 bytes, at least 28 expected');
  const unknownTlvs = decodeAll([PREAMBLE, withTlvs([9, 0, 0, 0, 0xff, 0xff, 1, 0, 0x7a])]);
  assert.deepEqual(unknownTlvs[1], { type: 'hello', ...base, nodeName: undefined, software: undefined });
});

test('CATALOGUE rules: unique indexes and names, UTF-8, exact size', () => {
  const entry = (index: number, name: string) => [index, 0, name.length, ...te.encode(name), 1, 0x6b, 1, 0];
  const catalogue = (count: number, ...entries: number[][]) =>
    frame(0x02, [1, 0, 0, 0, count, 0, ...entries.flat()]);
  assert.equal(decodeAll([PREAMBLE, catalogue(2, entry(0, 'a'), entry(1, 'b'))]).length, 2);
  rejects(catalogue(2, entry(0, 'a'), entry(0, 'b')), 'CATALOGUE lists zone index 0 twice');
  rejects(catalogue(2, entry(0, 'a'), entry(1, 'a')), 'CATALOGUE lists zone "a" twice');
  rejects(catalogue(1, [0, 0, 1, 0xff, 1, 0x6b, 1, 0]), 'CATALOGUE entry 0 name is not valid UTF-8');
  rejects(catalogue(1, [0, 0, 0, 1, 0x6b, 1, 0, 0]), 'CATALOGUE entry 0 name is empty');
  rejects(catalogue(1, entry(0, 'a'), [0]), '1 bytes after the last CATALOGUE entry');
  rejects(catalogue(200, entry(0, 'a')), 'CATALOGUE of 200 zones cannot fit in 8 bytes');
});

test('control frames have exact sizes; unknown core types are errors, optional ones are not', () => {
  rejects(frame(0x03, [1, 2, 3, 4, 5, 6, 7]), 'PING body of 7 bytes, expected 6');
  rejects(frame(0x04, [1, 2, 3, 4, 5, 6]), 'PONG body of 6 bytes, expected 12');
  rejects(frame(0x11, []), 'SNAPSHOT_BEGIN body of 0 bytes, expected 2');
  rejects(frame(0x13, [0, 0, 0, 0, 0]), 'SNAPSHOT_END body of 5 bytes, expected 6');
  rejects(frame(0x14, [0, 0, 0, 0]), 'SNAPSHOT_ACK of 0 bytes');
  rejects(frame(0x15, [1]), 'CAUGHT_UP body of 1 bytes, expected 4');
  rejects(frame(0x05, [1]), 'CLOSE body of 1 bytes, at least 2 expected');
  rejects(frame(0x00, []), 'unknown frame type 0x0');
  rejects(frame(0x06, []), 'unknown frame type 0x6');
  rejects(frame(0x7f, [1, 2]), 'unknown frame type 0x7f');
  assert.equal(decodeAll([PREAMBLE, frame(0x80, []), frame(0xff, [1, 2, 3])]).length, 1);
  const close = decodeAll([PREAMBLE, frame(0x05, [3, 0, 0xff, 0x61])]);
  assert.deepEqual(
    close[1],
    { type: 'close', code: 3, reason: '\ufffda' },
    'a CLOSE reason is read leniently',
  );
});
