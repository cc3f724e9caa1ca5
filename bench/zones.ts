// Zone memory and speed: node --expose-gc --max-semi-space-size=1 bench/zones.ts (a small young
// generation keeps V8 scratch out of the RSS figures, so what remains is the zones and a constant).
// 1. How many limit_req states a 1m zone holds for a $binary_remote_addr key (nginx: ~16,000 on
//    32-bit, ~8,000 on 64-bit), without sync and with per-node contribution slots.
// 2. 2 million distinct keys into three zones: process memory stays within the declared sizes.
// 3. Operations per second, and what the zone lock costs.
import { Hlc, systemClock } from '../src/core/clock.ts';
import { acquire, release } from '../src/zones/lock.ts';
import { lastWriterWins, Zone, type ZoneType } from '../src/zones/zone.ts';

const MiB = 1024 * 1024;
const evictOldest: ZoneType = {
  name: 'limit_req',
  logName: 'limit_req zone',
  merge: lastWriterWins,
  onFull: (zone) => zone.store.evictLru(1) > 0,
};
const hlc = new Hlc(1, systemClock);
const newZone = (name: string, size: number, type = evictOldest) =>
  new Zone({ name, type, size, sync: true, hlc, log: () => {} });

const key = new Uint8Array(4);
const keyView = new DataView(key.buffer);
const ipKey = (i: number) => {
  keyView.setUint32(0, i);
  return key;
};

function capacity(valueBytes: number): number {
  const zone = newZone('one', MiB, { ...evictOldest, onFull: () => false });
  const value = new Uint8Array(valueBytes);
  let n = 0;
  while (zone.set(ipKey(n), value) === 'ok') n++;
  return n;
}

console.log('## limit_req states in a 1m zone, 4-byte key ($binary_remote_addr)\n');
console.log('| value | bytes | record | states |');
console.log('|---|---:|---:|---:|');
const rows: [string, number][] = [
  ['nginx fields: excess i32, count u32, last f64', 16],
  ['sync, 1 node slot (node, amount, at)', 16],
  ['sync, count u32 + 2 node slots', 4 + 32],
  ['sync, count u32 + 3 node slots', 4 + 48],
];
for (const [what, bytes] of rows)
  console.log(`| ${what} | ${bytes} | ${44 + 4 + bytes} B | ${capacity(bytes)} |`);

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const gc = (globalThis as { gc?: () => void }).gc;
function memory() {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

console.log('\n## 2,000,000 distinct keys into three zones\n');
const before = memory();
const sizes = { one: MiB, sessions: 32 * MiB, kv: 16 * MiB };
const zones = [newZone('one', sizes.one), newZone('sessions', sizes.sessions), newZone('kv', sizes.kv)];
const limitValue = new Uint8Array(16);
const sid = new Uint8Array(33);
const kvValues = Array.from({ length: 16 }, (_, i) => new Uint8Array(8 + i * 13));
const md5Key = new Uint8Array(16);
const mdView = new DataView(md5Key.buffer);
const checkpoints: [string, ReturnType<typeof memory>][] = [
  ['before', before],
  ['zones created (untouched)', memory()],
];
const N = 2_000_000;
for (let i = 0; i < N; i++) {
  zones[0].set(ipKey(i), limitValue);
  mdView.setUint32(0, i);
  mdView.setUint32(12, Math.imul(i, 2654435761));
  zones[1].set(md5Key, sid);
  zones[2].set(`user:${i}`, kvValues[i & 15]);
  if ((i + 1) % 400_000 === 0) checkpoints.push([`${(i + 1).toLocaleString('en-US')} keys each`, memory()]);
}
const declared = sizes.one + sizes.sessions + sizes.kv;
console.log('| | rss | heapUsed | external+arrayBuffers |');
console.log('|---|---:|---:|---:|');
for (const [label, m] of checkpoints)
  console.log(`| ${label} | ${mb(m.rss)} | ${mb(m.heap)} | ${mb(m.external)} |`);
const after = checkpoints[checkpoints.length - 1][1];
console.log(
  `\ndeclared zone sizes: ${mb(declared)}; from the first to the last checkpoint rss grew ${mb(after.rss - checkpoints[2][1].rss)}, heap ${mb(after.heap - checkpoints[2][1].heap)}`,
);
for (const z of zones)
  console.log(`zone "${z.name}" ${mb(z.size)}: ${z.store.size} records, ${mb(z.store.bytesUsed)} in chunks`);

console.log('\n## operations per second (1m limit_req zone, full)\n');
function rate(label: string, ops: number, fn: (i: number) => void) {
  for (let i = 0; i < Math.min(ops, 100_000); i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) fn(i);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(`| ${label} | ${Math.round(ops / s).toLocaleString('en-US')} |`);
}
const one = newZone('bench', MiB);
for (let i = 0; i < 16_000; i++) one.set(ipKey(i), limitValue);
let sink = 0;
console.log('| operation | ops/s |');
console.log('|---|---:|');
rate('zone.get, hit', 2_000_000, (i) => {
  sink += one.get(ipKey(i % 16_000))?.valueLength ?? 0;
});
rate('zone.get, miss', 2_000_000, (i) => {
  sink += one.get(ipKey(1_000_000 + i)) === undefined ? 1 : 0;
});
rate('zone.set, update in place', 2_000_000, (i) => one.set(ipKey(i % 16_000), limitValue));
rate('zone.set, new key evicting the oldest', 1_000_000, (i) => one.set(ipKey(2_000_000 + i), limitValue));
rate('store.set, update (no HLC, no feed)', 2_000_000, (i) => one.store.set(ipKey(i % 16_000), limitValue));
one.subscribe(() => sink++);
rate('zone.set with a feed listener', 1_000_000, (i) => one.set(ipKey(i % 16_000), limitValue));
const word = new Int32Array(new SharedArrayBuffer(4));
rate('lock acquire + release', 10_000_000, () => {
  acquire(word, 0);
  release(word, 0);
});
if (sink < 0) console.log(sink);
