// The zone_sync codec's round trips: every frame type through FrameWriter and FrameDecoder, records
// split across chunks at every byte, the batch buffer's hand-over, and what the decoder skips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeStamp } from '../../../src/core/clock.ts';
import {
  FrameDecoder,
  FrameWriter,
  MIN_MAX_FRAME,
  negotiateVersion,
  ProtocolError,
  RecordCursor,
  WireRecord,
} from '../../../src/stream/zone_sync/codec.ts';
import { decodeAll, plain } from '../../helpers/sync_fuzz.ts';

const te = new TextEncoder();
const T0 = Date.UTC(2026, 0, 1);
const hello = {
  instanceId: 0xfedcba9876543210n,
  nodeId: 0xffff,
  wall: T0,
  maxFrame: 1 << 20,
  snapshotWindow: 256 * 1024,
  timeoutMs: 5000,
  nodeName: 'node-ä:7000',
  software: 'zonesync/0.1.0',
};

/** A stream with every frame type, edge values included. */
function everyFrame(): Buffer {
  const w = new FrameWriter();
  w.preamble();
  w.hello(hello);
  w.catalogue(3, [
    { index: 0, name: 'one', type: 'limit_req', version: 1 },
    { index: 0xffff, name: 'sessions', type: 'sticky', version: 0xffff },
  ]);
  w.catalogue(4, []);
  w.ping(2 ** 48 - 1);
  w.pong(T0, 0);
  w.close(4, 'node id 7 is in use');
  w.close(0, '');
  w.snapshotBegin(1);
  w.beginRecords('snapshot-chunk', 1);
  w.record(te.encode('k'), new Uint8Array(0), 0, 0, 0, false);
  w.record(te.encode('big'), new Uint8Array(5000).fill(7), 2 ** 32, 0xffffffff, 2 ** 48 - 1, false);
  w.endRecords();
  w.snapshotEnd(1, 2);
  w.snapshotAck(0xffffffff);
  w.caughtUp(3);
  w.beginRecords('records', 0);
  w.record(te.encode('user:1'), te.encode('alice'), T0, 1, T0 + 60_000, false);
  w.record(te.encode('user:2'), new Uint8Array(0), T0, 0x10001, T0 + 60_000, true);
  w.endRecords();
  return w.take();
}

test('every frame type survives a round trip', () => {
  const frames = decodeAll([everyFrame()]).map(plain);
  assert.deepEqual(
    frames.map((f) => (f as { type: string }).type),
    [
      'preamble',
      'hello',
      'catalogue',
      'catalogue',
      'ping',
      'pong',
      'close',
      'close',
      'snapshot-begin',
      'snapshot-chunk',
      'snapshot-end',
      'snapshot-ack',
      'caught-up',
      'records',
    ],
  );
  assert.deepEqual(frames[0], { type: 'preamble', minVersion: 1, maxVersion: 1, version: 1 });
  assert.deepEqual(frames[1], { type: 'hello', ...hello });
  assert.deepEqual(frames[2], {
    type: 'catalogue',
    generation: 3,
    entries: [
      { index: 0, name: 'one', type: 'limit_req', version: 1 },
      { index: 0xffff, name: 'sessions', type: 'sticky', version: 0xffff },
    ],
  });
  assert.deepEqual(frames[3], { type: 'catalogue', generation: 4, entries: [] });
  assert.deepEqual(frames[4], { type: 'ping', wall: 2 ** 48 - 1 });
  assert.deepEqual(frames[5], { type: 'pong', echo: T0, wall: 0 });
  assert.deepEqual(frames[6], { type: 'close', code: 4, reason: 'node id 7 is in use' });
  assert.deepEqual(frames[7], { type: 'close', code: 0, reason: '' });
  assert.deepEqual(frames[8], { type: 'snapshot-begin', zone: 1 });
  const chunk = frames[9] as { zone: number; bytes: number; records: { value: string }[] };
  assert.equal(chunk.zone, 1);
  assert.equal(chunk.bytes, 5 + 6 + 2 * 23 + 1 + 3 + 5000);
  assert.deepEqual(chunk.records[0], {
    key: '6b',
    value: '',
    wall: 0,
    logical: 0,
    expireAt: 0,
    deleted: false,
  });
  assert.deepEqual(
    { ...chunk.records[1], value: chunk.records[1].value.length },
    {
      key: '626967',
      value: 10000,
      wall: 2 ** 32,
      logical: 0xffffffff,
      expireAt: 2 ** 48 - 1,
      deleted: false,
    },
  );
  assert.deepEqual(frames.slice(10, 13), [
    { type: 'snapshot-end', zone: 1, count: 2 },
    { type: 'snapshot-ack', bytes: 0xffffffff },
    { type: 'caught-up', generation: 3 },
  ]);
  const records = frames[13] as { records: unknown[] };
  assert.deepEqual(records.records, [
    { key: '757365723a31', value: '616c696365', wall: T0, logical: 1, expireAt: T0 + 60_000, deleted: false },
    { key: '757365723a32', value: '', wall: T0, logical: 0x10001, expireAt: T0 + 60_000, deleted: true },
  ]);
});

test('decoded records are ZoneRecords: the stamp is the HLC stamp the writer was given', () => {
  const w = new FrameWriter();
  w.preamble();
  w.beginRecords('records', 2);
  const stamp = makeStamp(T0 + 5, (3 << 16) | 9);
  assert.ok(w.addRecord({ key: te.encode('a'), value: te.encode('b'), stamp, expireAt: 0, deleted: false }));
  w.endRecords();
  const [, frame] = decodeAll([w.take()]);
  assert.equal(frame.type, 'records');
  const [record] = frame.records;
  assert.ok(record instanceof WireRecord);
  assert.equal(record.stamp, stamp);
});

test('a RecordCursor reads the records in place, frame after frame', () => {
  const w = new FrameWriter();
  w.preamble();
  w.beginRecords('snapshot-chunk', 1);
  w.record(te.encode('ab'), te.encode('xyz'), T0 + 1, 0x10007, T0 + 60_000, false);
  w.record(te.encode('c'), new Uint8Array(0), T0 + 2, 7, 0, true);
  w.endRecords();
  w.beginRecords('records', 1);
  w.record(te.encode('d'), te.encode('v'), T0 + 3, 7, 0, false);
  w.endRecords();
  const stream = w.take();
  const [, chunk, records] = decodeAll([stream]);
  assert.ok(chunk.type === 'snapshot-chunk' && records.type === 'records');
  const cursor = new RecordCursor();
  const read = (r: RecordCursor) => {
    const at = (start: number, length: number) =>
      Buffer.from(r.bytes.subarray(start, start + length)).toString();
    const fields = [r.wall, r.logical, r.expireAt, r.deleted, r.stamp === makeStamp(r.wall, r.logical)];
    return [at(r.keyStart, r.keyLength), at(r.valueStart, r.valueLength), ...fields];
  };
  const seen: unknown[] = [];
  for (const frame of [chunk, records]) {
    cursor.reset(frame.records);
    assert.equal(cursor.bytes.buffer, stream.buffer, 'no copy');
    while (cursor.next()) seen.push(read(cursor));
    assert.equal(cursor.next(), false);
  }
  assert.deepEqual(seen, [
    ['ab', 'xyz', T0 + 1, 0x10007, T0 + 60_000, false, true],
    ['c', '', T0 + 2, 7, 0, true, true],
    ['d', 'v', T0 + 3, 7, 0, false, true],
  ]);
  // The iterator (tests, tools) yields the same records as objects.
  assert.deepEqual(
    [...chunk.records].map((r) => [Buffer.from(r.key).toString(), Buffer.from(r.value).toString()]),
    [
      ['ab', 'xyz'],
      ['c', ''],
    ],
  );
});

test('a stream split at every byte boundary decodes to the same frames', () => {
  const stream = everyFrame();
  const whole = decodeAll([stream]).map(plain);
  for (let cut = 0; cut <= stream.length; cut++) {
    const frames = decodeAll([stream.subarray(0, cut), stream.subarray(cut)]).map(plain);
    assert.deepEqual(frames, whole, `split at ${cut}`);
  }
});

test('a stream fed one byte at a time decodes to the same frames', () => {
  const stream = everyFrame();
  const bytes = Array.from(stream, (_, i) => stream.subarray(i, i + 1));
  assert.deepEqual(decodeAll(bytes).map(plain), decodeAll([stream]).map(plain));
});

test('a frame whole in a chunk is read in place; one split across chunks gets its own copy', () => {
  const w = new FrameWriter();
  w.preamble();
  w.beginRecords('records', 0);
  w.record(te.encode('key'), te.encode('value'), T0, 1, 0, false);
  w.endRecords();
  const stream = Buffer.from(w.take());
  const [, inPlace] = decodeAll([stream]);
  assert.equal(inPlace.type === 'records' && [...inPlace.records][0].key.buffer, stream.buffer);
  const d = new FrameDecoder();
  const split = [...d.push(stream.subarray(0, 20)), ...d.push(stream.subarray(20))];
  assert.equal(d.buffered, 0);
  const record = split[1].type === 'records' ? [...split[1].records][0] : undefined;
  assert.notEqual(record?.key.buffer, stream.buffer);
  stream.fill(0);
  assert.equal(Buffer.from(record!.value).toString(), 'value');
});

test('records past the frame limit continue in a new frame; take() never hands out bytes twice', () => {
  const w = new FrameWriter({ capacity: 64 });
  w.preamble();
  const first = w.take();
  const firstCopy = Buffer.from(first);
  w.beginRecords('snapshot-chunk', 5, 200);
  for (let i = 0; i < 20; i++)
    assert.ok(w.record(te.encode(`key${i}`), te.encode('v'.repeat(30)), T0, i, 0, false));
  w.endRecords();
  const batch = w.take();
  assert.deepEqual(first, firstCopy, 'growing the buffer left taken bytes alone');
  const frames = decodeAll([first, batch]).slice(1);
  assert.ok(frames.length > 1);
  let n = 0;
  for (const f of frames) {
    assert.equal(f.type, 'snapshot-chunk');
    assert.ok(f.bytes <= 200 && f.zone === 5);
    for (const r of f.records) assert.equal(Buffer.from(r.key).toString(), `key${n++}`);
  }
  assert.equal(n, 20);
});

test('a record larger than the peer maxFrame is refused; one larger than the chunk cap goes alone', () => {
  const w = new FrameWriter({ maxFrame: MIN_MAX_FRAME });
  w.preamble();
  w.beginRecords('records', 0, 100);
  const key = te.encode('k');
  assert.equal(w.record(key, new Uint8Array(MIN_MAX_FRAME - 34), T0, 0, 0, false), false);
  assert.equal(w.record(key, new Uint8Array(MIN_MAX_FRAME - 35), T0, 0, 0, false), true);
  assert.equal(w.record(key, new Uint8Array(10), T0, 0, 0, false), true);
  w.endRecords();
  const frames = decodeAll([w.take()], { maxFrame: MIN_MAX_FRAME });
  assert.deepEqual(
    frames.slice(1).map((f) => (f.type === 'records' ? [f.bytes, f.records.length] : f.type)),
    [
      [MIN_MAX_FRAME, 1],
      [5 + 6 + 23 + 1 + 10, 1],
    ],
  );
});

test('the writer refuses what the wire cannot carry', () => {
  const w = new FrameWriter();
  w.beginRecords('records', 0);
  assert.throws(() => w.record(new Uint8Array(0), te.encode('v'), T0, 0, 0, false), RangeError);
  assert.throws(() => w.record(te.encode('k'), te.encode('v'), T0, 0, 0, true), RangeError);
  assert.throws(() => w.record(te.encode('k'), te.encode('v'), -1, 0, 0, false), RangeError);
  assert.throws(() => w.record(te.encode('k'), te.encode('v'), T0, 0, 2 ** 48, false), RangeError);
  assert.throws(() => w.take(), /records frame open/);
  w.endRecords();
  assert.equal(w.take().length, 0, 'an empty records frame is dropped');
  assert.throws(() => w.hello({ ...hello, instanceId: 0n }), RangeError);
  assert.throws(() => w.hello({ ...hello, nodeName: 'x'.repeat(256) }), RangeError);
  assert.throws(() => w.catalogue(1, [{ index: 0, name: '', type: 'keyval', version: 1 }]), RangeError);
});

test('unknown optional frames are skipped, even split across chunks; unknown HELLO TLVs too', () => {
  const w = new FrameWriter();
  w.preamble();
  w.hello({ ...hello, software: undefined });
  const base = w.take();
  // HELLO + TLV 999 (unknown, 3 bytes) + optional frame 0xC0 of 70,000 bytes + PING.
  const helloAt = 8;
  const withTlv = Buffer.concat([base, Buffer.from([0xe7, 0x03, 3, 0, 1, 2, 3])]);
  withTlv.writeUInt32LE(base.length - helloAt - 5 + 7, helloAt);
  const optional = Buffer.alloc(5 + 70_000, 0xaa);
  optional.writeUInt32LE(70_000, 0);
  optional[4] = 0xc0;
  w.ping(42);
  const stream = Buffer.concat([withTlv, optional, w.take()]);
  const expected = [
    { type: 'preamble', minVersion: 1, maxVersion: 1, version: 1 },
    { type: 'hello', ...hello, software: undefined },
    { type: 'ping', wall: 42 },
  ];
  assert.deepEqual(decodeAll([stream]).map(plain), expected);
  for (const cut of [withTlv.length + 2, withTlv.length + 5, withTlv.length + 40_000]) {
    const d = new FrameDecoder();
    const frames = [...d.push(stream.subarray(0, cut))];
    assert.ok(d.buffered <= 5, 'an optional frame is skipped, not buffered');
    frames.push(...d.push(stream.subarray(cut)));
    assert.deepEqual(frames.map(plain), expected);
  }
});

test('versions: the highest common one is chosen; none in common is a protocol error', () => {
  assert.equal(negotiateVersion(1, 1, 1, 3), 1);
  assert.equal(negotiateVersion(1, 4, 2, 3), 3);
  assert.equal(negotiateVersion(2, 4, 1, 1), undefined);
  assert.equal(negotiateVersion(1, 1, 0, 0), undefined);
  const newer = Buffer.from([0x5a, 0x53, 0x59, 0x4e, 1, 7, 0, 0]);
  assert.deepEqual(decodeAll([newer]), [{ type: 'preamble', minVersion: 1, maxVersion: 7, version: 1 }]);
  const tooNew = Buffer.from([0x5a, 0x53, 0x59, 0x4e, 2, 3, 0xff, 0xff]);
  assert.throws(() => decodeAll([tooNew]), {
    name: 'ProtocolError',
    reason: 'peer speaks protocol versions 2..3, this node 1..1',
  });
  const v2 = new FrameDecoder({ minVersion: 2, maxVersion: 2 });
  assert.deepEqual([...v2.push(newer)], [{ type: 'preamble', minVersion: 1, maxVersion: 7, version: 2 }]);
  const old = Buffer.from([0x5a, 0x53, 0x59, 0x4e, 1, 1, 0, 0]);
  const v23 = new FrameDecoder({ minVersion: 2, maxVersion: 3 });
  assert.throws(() => [...v23.push(old)], /versions 1\.\.1, this node 2\.\.3/);
});

test('a stream that is not zone_sync fails at its first byte, naming the likely mistake', () => {
  const cases: [number[], RegExp][] = [
    [[0x16, 0x03, 0x01], /TLS handshake on a plain-text/],
    [[...Buffer.from('GET / HTTP/1.1\r\n')], /HTTP request/],
    [[0x5a, 0x53, 0x00], /byte 2 of the preamble is 0x00/],
  ];
  for (const [bytes, reason] of cases) {
    const d = new FrameDecoder();
    assert.throws(
      () => [...d.push(Uint8Array.from(bytes))],
      (err: unknown) => {
        return err instanceof ProtocolError && reason.test(err.reason);
      },
    );
    assert.throws(() => [...d.push(new Uint8Array(1))], ProtocolError, 'a failed decoder stays failed');
  }
});

test('frames before a bad one in the same chunk are still delivered', () => {
  const w = new FrameWriter();
  w.preamble();
  w.ping(1);
  const stream = Buffer.concat([w.take(), Buffer.from([0, 0, 0, 0, 0x7f])]);
  const d = new FrameDecoder();
  const seen: string[] = [];
  assert.throws(() => {
    for (const f of d.push(stream)) seen.push(f.type);
  }, /unknown frame type 0x7f/);
  assert.deepEqual(seen, ['preamble', 'ping']);
});
