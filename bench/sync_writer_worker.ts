// The write load of bench/sync.ts's propagation measure, on a thread of its own: `rate` keyval
// writes per second to node A over 8 pipelined keep-alive connections, each write's send time and
// the time its answer was read going into shared memory (sentAt[n], ackedAt[n]). Off the main
// thread, which polls node B meanwhile, and with no object kept per write, so that no long pause
// of this thread's own lands between an answer's arrival and its timestamp.
import { parentPort, workerData } from 'node:worker_threads';
import { Pipeline, type WorkerTarget } from './sync_clients.ts';
import { now, sleep } from './sync_haproxy.ts';

export interface WriterWorkerData extends WorkerTarget {
  rate: number;
  seconds: number;
  /**
   * Seconds of writes at the rate before the measured ones (keys `${prefix}w${n}`, which the probe
   * ignores): this thread, the probe's and A's paths compile, and the probe's snapshot is done, first.
   */
  warmup: number;
  /** Float64Arrays indexed by write number: when it was sent, when its answer was read (0: not yet). */
  sentAt: SharedArrayBuffer;
  ackedAt: SharedArrayBuffer;
  /** Int32Array [writes sent]. */
  progress: SharedArrayBuffer;
}

const data = workerData as WriterWorkerData;
const sentAt = new Float64Array(data.sentAt);
const ackedAt = new Float64Array(data.ackedAt);
const progress = new Int32Array(data.progress);
const writers = Array.from({ length: 8 }, () => new Pipeline(data.host, data.port));
await Promise.all(writers.map((w) => w.ready()));
/** `rate` writes a second for `seconds` (at most `limit`), write i sent by `sent(i)`; resolves to when it began. */
async function load(seconds: number, limit: number, sent: (i: number) => void): Promise<number> {
  const start = now();
  let n = 0;
  while (now() - start < seconds * 1000 && n < limit) {
    const due = Math.min(limit, Math.floor(((now() - start) / 1000) * data.rate));
    for (; n < due; n++) sent(n);
    await sleep(1);
  }
  return start;
}

await load(data.warmup, Number.MAX_SAFE_INTEGER, (i) => {
  void writers[i % writers.length]!.get(`/set?k=${data.prefix}w${i}&v=${i}`);
});
const start = await load(data.seconds, sentAt.length, (i) => {
  sentAt[i] = now();
  void writers[i % writers.length]!.get(`/set?k=${data.prefix}${i}&v=${i}`).then(() => {
    ackedAt[i] = now();
  });
  Atomics.store(progress, 0, i + 1);
});
// answers still owed are read before the connections close
const until = now() + 10_000;
while (writers.some((w) => w.pending > 0) && now() < until) await sleep(5);
for (const w of writers) w.close();
parentPort!.postMessage(now() - start);
