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
const prefix = Buffer.from(data.prefix, 'latin1');
/** `${prefix}${n}` → n, read from the bytes (no string per record: this thread's own collections
 * would delay the next arrivals); -1 for any other key. */
function writeNumber(bytes: Uint8Array, start: number, end: number): number {
  if (end - start <= prefix.length) return -1;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return -1;
  let n = 0;
  for (let p = start + prefix.length; p < end; p++) {
    const d = bytes[p]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
probe.onRecord = (bytes, start, end, at) => {
  const n = writeNumber(bytes, start, end);
  if (n < 0 || n >= arrivals.length || arrivals[n] !== 0) return;
  arrivals[n] = at;
  Atomics.add(received, 0, 1);
};
await probe.established;
parentPort!.postMessage('ready');
parentPort!.on('message', () => {
  probe.close();
  parentPort!.close();
});
