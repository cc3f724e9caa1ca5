// A spinlock in one Int32 word of a SharedArrayBuffer, for the day several worker threads map the
// same zone (nginx's ngx_shmtx over shared memory). Today one thread uses it, so the uncontended path
// must cost next to nothing: one compareExchange to take, one store to release (bench/zones.ts
// measures it). The word holds the owner's thread id + 1, which turns a re-entrant lock (a bug
// that would otherwise spin forever on a single thread) into an exception.
import { threadId } from 'node:worker_threads';

const OWNER = threadId + 1;
/** Spins before sleeping; a holder keeps the lock for microseconds at most. */
const SPINS = 1000;

export function acquire(words: Int32Array, index: number): void {
  const held = Atomics.compareExchange(words, index, 0, OWNER);
  if (held === 0) return;
  if (held === OWNER) throw new Error('zone lock re-entered by the thread holding it');
  for (let spins = 0; Atomics.compareExchange(words, index, 0, OWNER) !== 0; spins++) {
    // Sleep 1 ms at a time rather than be woken: release() then needs no notify (a syscall).
    if (spins >= SPINS) Atomics.wait(words, index, Atomics.load(words, index), 1);
  }
}

export function release(words: Int32Array, index: number): void {
  Atomics.store(words, index, 0);
}
