// The zone lock (lock.ts) across real threads: a worker thread mapping the same SharedArrayBuffer
// is excluded by it, and a zone's whole memory is one buffer of exactly the declared size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { acquire, release } from '../../src/zones/lock.ts';
import { ZoneStore } from '../../src/zones/zone_store.ts';
import { keyvalType, makeZone } from './zone_types.ts';

const LOCK_URL = pathToFileURL(new URL('../../src/zones/lock.ts', import.meta.url).pathname).href;

/** A worker running `body` (an async function's text) with `words`, an Int32Array over `sab`. */
function worker(sab: SharedArrayBuffer, body: string): Promise<void> {
  const code = `
    const { workerData } = require('node:worker_threads');
    (async () => {
      const { acquire, release } = await import(workerData.lock);
      const words = new Int32Array(workerData.sab);
      ${body}
    })().catch((err) => { throw err; });`;
  const w = new Worker(code, { eval: true, workerData: { sab, lock: LOCK_URL } });
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
  });
}

describe('zone lock', () => {
  it('is taken and released uncontended; re-entry by its holder throws instead of spinning', () => {
    const words = new Int32Array(new SharedArrayBuffer(8));
    acquire(words, 0);
    assert.notEqual(Atomics.load(words, 0), 0);
    assert.throws(() => acquire(words, 0), /re-entered/);
    release(words, 0);
    assert.equal(Atomics.load(words, 0), 0);
    acquire(words, 0);
    release(words, 0);
  });

  it('waits while another thread holds it', async () => {
    const sab = new SharedArrayBuffer(8);
    const words = new Int32Array(sab);
    // The worker takes the lock, says so in word 1, holds it 150 ms.
    const done = worker(
      sab,
      `acquire(words, 0); Atomics.store(words, 1, 1); Atomics.notify(words, 1);
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150); release(words, 0);`,
    );
    while (Atomics.load(words, 1) === 0) await new Promise((r) => setTimeout(r, 2));
    const started = performance.now();
    acquire(words, 0);
    const waited = performance.now() - started;
    release(words, 0);
    await done;
    assert.ok(waited >= 100, `took the lock after ${waited} ms, while the worker held it`);
  });

  it('makes read-modify-write exclusive between two threads', async () => {
    const sab = new SharedArrayBuffer(12);
    const words = new Int32Array(sab);
    const rounds = 100_000;
    // Word 2 is a barrier: both loops start together, so they do overlap.
    const loop = `Atomics.add(words, 2, 1); while (Atomics.load(words, 2) < 2);
      for (let i = 0; i < ${rounds}; i++) { acquire(words, 0); const v = words[1]; words[1] = v + 1; release(words, 0); }`;
    await Promise.all([worker(sab, loop), worker(sab, loop)]);
    assert.equal(words[1], 2 * rounds, 'no increment lost');
  });
});

describe('zone memory', () => {
  it('is one SharedArrayBuffer of exactly the declared size, shared with another thread', async () => {
    const { zone } = makeZone(keyvalType, { size: 48 * 1024 });
    const sab = zone.store.memory.sab;
    assert.ok(sab instanceof SharedArrayBuffer);
    assert.equal(sab.byteLength, 48 * 1024);
    zone.set('from-main', new TextEncoder().encode('1'));
    // Another thread maps the same buffer: it reads what we wrote, and we read what it writes.
    const STORE_URL = pathToFileURL(new URL('../../src/zones/zone_store.ts', import.meta.url).pathname).href;
    await worker(
      sab,
      `const { ZoneStore } = await import(${JSON.stringify(STORE_URL)});
       const s = ZoneStore.attach(workerData.sab);
       if (new TextDecoder().decode(s.get('from-main').value) !== '1') throw new Error('not seen');
       s.set('from-worker', new TextEncoder().encode('2'));`,
    );
    assert.equal(new TextDecoder().decode(zone.get('from-worker')?.value), '2');
    assert.equal(ZoneStore.attach(sab).size, 2);
  });
});
