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
const start = now();
let n = 0;
while (now() - start < data.seconds * 1000 && n < sentAt.length) {
  const due = Math.min(sentAt.length, Math.floor(((now() - start) / 1000) * data.rate));
  for (; n < due; n++) {
    const i = n;
    sentAt[i] = now();
    void writers[i % writers.length]!.get(`/set?k=${data.prefix}${i}&v=${i}`).then(() => {
      ackedAt[i] = now();
    });
    Atomics.store(progress, 0, n + 1);
  }
  await sleep(1);
}
// answers still owed are read before the connections close
const until = now() + 10_000;
while (writers.some((w) => w.pending > 0) && now() < until) await sleep(5);
for (const w of writers) w.close();
parentPort!.postMessage(now() - start);
