// zone_sync codec throughput: node_modules/.bin/node bench/codec.ts [--records N] [--rounds R]
// keyval-like records (12-byte key, 20-byte value, 55 bytes on the wire) encoded the way a flush
// does (RECORDS frames of up to 64 KiB in one batch buffer) and decoded from 64 KiB socket-sized
// chunks. The system's target is 300,000 records/s replicated over one link; the codec has to be
// far above it so that the link, not the codec, is the limit.
import { parseArgs } from 'node:util';
import { makeStamp } from '../src/core/clock.ts';
import { FrameDecoder, FrameWriter, RecordCursor } from '../src/stream/zone_sync/codec.ts';
import type { ZoneRecord } from '../src/zones/record.ts';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);
const FRAME = 64 * 1024;
const T0 = Date.UTC(2026, 0, 1);

// 4096 distinct keys and values, made up front so that only the codec is measured.
const keys = Array.from({ length: 4096 }, (_, i) => Buffer.from(`k:${String(i).padStart(10, '0')}`));
const value = Buffer.from('upstream-backend-042');
const changes: ZoneRecord[] = keys.map((key, i) => ({
  key,
  value,
  stamp: makeStamp(T0 + i, 7),
  expireAt: T0 + 60_000,
  deleted: false,
}));

/** Encode N records as flushes of one 64 KiB frame each; returns the batches. */
function encode(useStamps: boolean): Buffer[] {
  const w = new FrameWriter();
  const batches: Buffer[] = [];
  w.beginRecords('records', 0, FRAME);
  for (let i = 0; i < N; i++) {
    const j = i & 4095;
    if (useStamps) w.addRecord(changes[j]);
    else w.record(keys[j], value, T0 + j, 7, T0 + 60_000, false);
    if (w.length >= FRAME - 64) {
      w.endRecords();
      batches.push(w.take());
      w.beginRecords('records', 0, FRAME);
    }
  }
  w.endRecords();
  batches.push(w.take());
  return batches;
}

const cursor = new RecordCursor();
/** Decode a stream in 64 KiB chunks; reads every record in place, as the apply loop does. */
function decode(chunks: Buffer[], useStamps: boolean): number {
  const d = new FrameDecoder();
  let n = 0;
  let check = 0;
  for (const chunk of chunks) {
    for (const frame of d.push(chunk)) {
      if (frame.type !== 'records') continue;
      for (const r = cursor.reset(frame.records); r.next(); ) {
        check += r.keyLength + r.valueLength;
        if (useStamps && r.stamp === 0n) check++;
        n++;
      }
    }
  }
  if (check !== N * 32) throw new Error('decoded the wrong records');
  return n;
}

function rate(run: () => unknown): string {
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    run();
    rates.push(N / ((performance.now() - t) / 1000));
  }
  rates.sort((a, b) => a - b);
  const m = (x: number) => `${(x / 1e6).toFixed(2)}M`;
  return `${m(rates[Math.floor(rates.length / 2)])} | ${m(rates[rates.length - 1])}`;
}

const writer = new FrameWriter();
writer.preamble();
const stream = Buffer.concat([writer.take(), ...encode(false)]);
const chunks: Buffer[] = [];
for (let o = 0; o < stream.length; o += FRAME) chunks.push(stream.subarray(o, o + FRAME));
// Warm up every path before measuring.
for (let i = 0; i < 2; i++) {
  encode(false);
  encode(true);
  decode(chunks, true);
}

console.log(`## zone_sync codec, ${N.toLocaleString('en')} keyval records (12 B key, 20 B value)\n`);
console.log(`${(stream.length / N).toFixed(1)} bytes per record on the wire, frames of up to 64 KiB.\n`);
console.log('| path | records/s median | best |');
console.log('|---|---:|---:|');
console.log(`| encode: \`record()\` (wall, logical) | ${rate(() => encode(false))} |`);
console.log(`| encode: \`addRecord()\` (ZoneRecord, bigint stamp) | ${rate(() => encode(true))} |`);
console.log(`| decode 64 KiB chunks | ${rate(() => decode(chunks, false))} |`);
console.log(
  `| decode + \`record.stamp\` (bigint, as applyRemote uses it) | ${rate(() => decode(chunks, true))} |`,
);
