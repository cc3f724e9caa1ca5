import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PAGE_SIZE, SIZE_CLASSES, Slab } from '../../src/zones/slab.ts';

function slab(pages: number): Slab {
  // Header (63 words) and descriptors (16 bytes a page) come out of the region too.
  const bytes = 252 + 16 + pages * (PAGE_SIZE + 16);
  return new Slab(new SharedArrayBuffer(bytes + 64), 64, bytes, true);
}

describe('Slab', () => {
  it('rounds requests up to the size classes, and large ones to whole pages', () => {
    assert.deepEqual(
      [1, 32, 33, 48, 49, 64, 65, 100, 2048].map((n) => Slab.chunkSize(n)),
      [32, 32, 48, 48, 64, 64, 96, 128, 2048],
    );
    assert.equal(Slab.chunkSize(2049), PAGE_SIZE);
    assert.equal(Slab.chunkSize(PAGE_SIZE + 1), 2 * PAGE_SIZE);
  });

  it('hands out distinct 16-aligned chunks and reuses freed ones', () => {
    const s = slab(4);
    const a = s.alloc(60);
    const b = s.alloc(60);
    assert.notEqual(a, b);
    assert.equal(a % 16, 0);
    assert.equal(Math.abs(b - a), 64);
    assert.equal(s.capacity(a), 64);
    s.free(a);
    assert.equal(s.alloc(64), a);
  });

  it('fills a page per class, then takes a new one; an emptied page returns to the pool', () => {
    const s = slab(4);
    const perPage = PAGE_SIZE / 64;
    const chunks = Array.from({ length: perPage + 1 }, () => s.alloc(64));
    assert.deepEqual(s.stats().pages, { used: 2, free: 2 });
    assert.deepEqual(s.stats().slots[64], {
      used: perPage + 1,
      free: perPage - 1,
      reqs: perPage + 1,
      fails: 0,
    });
    for (const c of chunks) s.free(c);
    assert.deepEqual(s.stats().pages, { used: 0, free: 4 });
    assert.equal(s.stats().slots[64].free, 0);
  });

  it('runs out, counts the failure, and recovers after a free', () => {
    const s = slab(2);
    const got: number[] = [];
    for (let off = s.alloc(2048); off !== 0; off = s.alloc(2048)) got.push(off);
    assert.equal(got.length, 4);
    assert.equal(s.alloc(32), 0);
    assert.equal(s.stats().slots[32].fails, 1);
    s.free(got[0]);
    assert.notEqual(s.alloc(2048), 0);
    s.resetCounters();
    assert.deepEqual([s.stats().slots[32].fails, s.stats().slots[2048].reqs], [0, 0]);
  });

  it('allocates multi-page runs and coalesces freed neighbours into one run', () => {
    const s = slab(6);
    const a = s.alloc(PAGE_SIZE);
    const b = s.alloc(2 * PAGE_SIZE);
    const c = s.alloc(PAGE_SIZE);
    const d = s.alloc(2 * PAGE_SIZE);
    assert.equal(s.capacity(b), 2 * PAGE_SIZE);
    assert.equal(s.alloc(PAGE_SIZE), 0, 'full');
    s.free(a);
    s.free(c);
    assert.equal(s.alloc(2 * PAGE_SIZE), 0, 'two free pages, not contiguous');
    s.free(b);
    const four = s.alloc(4 * PAGE_SIZE);
    assert.equal(four, a, 'a, b and c merged into one run');
    s.free(d);
    s.free(four);
    assert.notEqual(s.alloc(6 * PAGE_SIZE), 0, 'all six pages merged back');
  });

  it('refuses to free what it did not hand out', () => {
    const s = slab(2);
    const a = s.alloc(PAGE_SIZE);
    s.free(a);
    assert.throws(() => s.free(a), /free of an unallocated offset/);
  });

  it('survives a random alloc/free workload with every byte accounted for', () => {
    const s = slab(64);
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const live = new Map<number, number>();
    for (let i = 0; i < 5000; i++) {
      if (live.size > 0 && rand(3) === 0) {
        const offs = [...live.keys()];
        const off = offs[rand(offs.length)];
        s.free(off);
        live.delete(off);
      } else {
        const size = 1 + rand(rand(10) === 0 ? 3 * PAGE_SIZE : 700);
        const off = s.alloc(size);
        if (off === 0) continue;
        const end = off + Slab.chunkSize(size);
        for (const [o, sz] of live) assert.ok(end <= o || o + Slab.chunkSize(sz) <= off, 'chunks overlap');
        live.set(off, size);
      }
    }
    for (const off of live.keys()) s.free(off);
    assert.equal(s.freePageCount, 64);
    for (const size of SIZE_CLASSES) assert.equal(s.stats().slots[size].used, 0);
    assert.notEqual(s.alloc(64 * PAGE_SIZE), 0);
  });
});
