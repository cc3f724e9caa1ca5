// The probe peer of bench/sync.ts's propagation measure, on a thread of its own: the bench's main
// thread generates 10,000 writes/s and its garbage collections (5-13 ms pauses seen there) used to
// land between a record's arrival and its timestamp. Here nothing else runs, and the arrival time
// of record `${prefix}${n}` goes straight into shared memory (arrivals[n]), no object per record.
import { parentPort, workerData } from 'node:worker_threads';
import { ProbePeer, type WorkerTarget } from './sync_clients.ts';

export interface ProbeWorkerData extends WorkerTarget {
  /** Float64Array: arrival time (bench clock, ms) of write n, 0 until it arrives. */
  arrivals: SharedArrayBuffer;
  /** Int32Array [count]: records of this prefix received so far. */
  received: SharedArrayBuffer;
}

const data = workerData as ProbeWorkerData;
const arrivals = new Float64Array(data.arrivals);
const received = new Int32Array(data.received);
const probe = new ProbePeer(data.host, data.port);
probe.onRecord = (key, at) => {
  if (!key.startsWith(data.prefix)) return;
  const n = Number(key.slice(data.prefix.length));
  if (!(n >= 0 && n < arrivals.length) || arrivals[n] !== 0) return;
  arrivals[n] = at;
  Atomics.add(received, 0, 1);
};
await probe.established;
parentPort!.postMessage('ready');
parentPort!.on('message', () => {
  probe.close();
  parentPort!.close();
});
