// A slab allocator over a region of a SharedArrayBuffer, after nginx's ngx_slab: the region is cut
// into 4 KiB pages; a page serves chunks of one size class, and requests above the largest class take
// runs of whole pages. Every bit of state (page descriptors, free lists, statistics) lives in the
// buffer, so another thread that maps the same buffer sees the same allocator. The caller serialises
// access (the zone store's lock); nothing here locks.
//
// Size classes are powers of two with midpoints (32, 48, 64, 96, ...): ngx_slab's pure powers of two
// waste up to half a chunk, and a limit_req state (44-byte header + 4-byte key + 16-byte value) lands
// exactly on 64 B, the size that lets a 1 MiB zone hold nginx's 16,000 states.
//
// Region layout (byte offsets from the region's start; all words are u32):
//   header   HEADER_WORDS words: page count, free-run list head, free pages, then per class
//            [partial-page list head, pages, used chunks, requests, failures]
//   pages    descriptors, 4 words per page (see below)
//   data     page i at dataStart + i * PAGE_SIZE (16-aligned, so records can hold aligned f64s)
//
// A page descriptor is [state, a, prev, next]:
//   SMALL        a = used | bump << 8 | freeHead << 16 (chunk index + 1; 0 = none); prev/next link
//                the class's list of pages with free chunks (page index + 1; 0 = none). A free
//                chunk's first u32 holds the next free chunk's index + 1.
//   LARGE        first page of an allocated run; a = run length
//   LARGE_TAIL   last page of an allocated run longer than one; a = first page
//   FREE         first page of a free run; a = run length; prev/next link the free-run list
//   FREE_TAIL    last page of a free run longer than one; a = first page
// Only a run's first and last pages carry state: that is all coalescing looks at.

export const PAGE_SIZE = 4096;
const PAGE_SHIFT = 12;
export const SIZE_CLASSES: readonly number[] = [32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048];
const MAX_SMALL = SIZE_CLASSES[SIZE_CLASSES.length - 1];

const SMALL = 1;
const LARGE = 2;
const LARGE_TAIL = 3;
const FREE = 4;
const FREE_TAIL = 5;

const H_PAGES = 0;
const H_FREE_RUNS = 1;
const H_FREE_PAGES = 2;
const H_CLASSES = 3;
const C_PARTIAL = 0;
const C_PAGES = 1;
const C_USED = 2;
const C_REQS = 3;
const C_FAILS = 4;
const C_WORDS = 5;
const HEADER_WORDS = H_CLASSES + SIZE_CLASSES.length * C_WORDS;
const DESC_WORDS = 4;
const DESC_BYTES = DESC_WORDS * 4;

/** Class index by `(size + 15) >> 4`, for sizes up to MAX_SMALL. */
const CLASS_BY_16 = new Uint8Array((MAX_SMALL >> 4) + 1);
for (let i = 0, c = 0; i < CLASS_BY_16.length; i++) {
  while (SIZE_CLASSES[c] < i << 4) c++;
  CLASS_BY_16[i] = c;
}
const PER_PAGE = SIZE_CLASSES.map((s) => Math.floor(PAGE_SIZE / s));

export interface SlotStats {
  /** Chunks handed out. */
  used: number;
  /** Chunks free in pages that serve this size. */
  free: number;
  /** Allocation requests. */
  reqs: number;
  /** Requests that found no memory. */
  fails: number;
}

/** What NGINX Plus shows at /api/9/slabs/{zone}. */
export interface SlabStats {
  pages: { used: number; free: number };
  /** Keyed by chunk size in bytes. */
  slots: Record<number, SlotStats>;
}

export class Slab {
  /** Pages in the region. */
  readonly pageCount: number;
  private readonly u32: Uint32Array;
  /** Word index of the region header and of the descriptors; byte offset of page 0. */
  private readonly hw: number;
  private readonly dw: number;
  private readonly dataStart: number;

  /**
   * Manage `bytes` bytes of `sab` from `start` (a multiple of 8). With `init` false, attach to a
   * region another Slab already formatted (another thread's view of the same zone).
   */
  constructor(sab: SharedArrayBuffer, start: number, bytes: number, init: boolean) {
    if (start % 8 !== 0) throw new RangeError('slab region must start on an 8-byte boundary');
    const headerBytes = HEADER_WORDS * 4;
    const pages = Math.floor((bytes - headerBytes - 16) / (PAGE_SIZE + DESC_BYTES));
    if (pages < 1) throw new RangeError(`slab region of ${bytes} bytes cannot hold a page`);
    this.u32 = new Uint32Array(sab, 0, sab.byteLength >> 2);
    this.hw = start >> 2;
    this.dw = this.hw + HEADER_WORDS;
    this.dataStart = alignUp(start + headerBytes + pages * DESC_BYTES, 16);
    this.pageCount = pages;
    if (init) this.format();
  }

  private format(): void {
    const u = this.u32;
    u.fill(0, this.hw, this.dw + this.pageCount * DESC_WORDS);
    u[this.hw + H_PAGES] = this.pageCount;
    u[this.hw + H_FREE_PAGES] = this.pageCount;
    this.markFreeRun(0, this.pageCount);
    this.pushFreeRun(0);
  }

  /** Bytes a chunk of this request occupies: its class size, or whole pages. */
  static chunkSize(bytes: number): number {
    return bytes > MAX_SMALL ? alignUp(bytes, PAGE_SIZE) : SIZE_CLASSES[CLASS_BY_16[(bytes + 15) >> 4]];
  }

  /** A byte offset into the buffer (never 0), or 0 when no memory is left. */
  alloc(bytes: number): number {
    if (bytes > MAX_SMALL) {
      const page = this.allocPages(Math.ceil(bytes / PAGE_SIZE));
      return page < 0 ? 0 : this.dataStart + page * PAGE_SIZE;
    }
    const c = CLASS_BY_16[(bytes + 15) >> 4];
    const u = this.u32;
    const cw = this.hw + H_CLASSES + c * C_WORDS;
    u[cw + C_REQS]++;
    let link = u[cw + C_PARTIAL];
    if (link === 0) {
      const page = this.allocPages(1);
      if (page < 0) {
        u[cw + C_FAILS]++;
        return 0;
      }
      const d = this.dw + page * DESC_WORDS;
      u[d] = SMALL | (c << 8);
      u[d + 1] = 0;
      u[d + 2] = 0;
      u[d + 3] = 0;
      u[cw + C_PARTIAL] = link = page + 1;
      u[cw + C_PAGES]++;
    }
    const page = link - 1;
    const d = this.dw + page * DESC_WORDS;
    const size = SIZE_CLASSES[c];
    const pageStart = this.dataStart + page * PAGE_SIZE;
    const a = u[d + 1];
    let used = a & 0xff;
    let bump = (a >>> 8) & 0xff;
    let freeHead = a >>> 16;
    let index: number;
    if (freeHead !== 0) {
      index = freeHead - 1;
      freeHead = u[(pageStart + index * size) >> 2];
    } else {
      index = bump++;
    }
    used++;
    u[d + 1] = used | (bump << 8) | (freeHead << 16);
    u[cw + C_USED]++;
    if (used === PER_PAGE[c]) this.unlinkPartial(cw, d);
    return pageStart + index * size;
  }

  /** Return a chunk from `alloc`. */
  free(offset: number): void {
    const u = this.u32;
    const page = (offset - this.dataStart) >> PAGE_SHIFT;
    const d = this.dw + page * DESC_WORDS;
    const state = u[d] & 0xff;
    if (state === LARGE) {
      this.freePages(page, u[d + 1]);
      return;
    }
    if (state !== SMALL) throw new Error(`slab: free of an unallocated offset ${offset}`);
    const c = u[d] >>> 8;
    const cw = this.hw + H_CLASSES + c * C_WORDS;
    const pageStart = this.dataStart + page * PAGE_SIZE;
    const index = (offset - pageStart) / SIZE_CLASSES[c];
    const a = u[d + 1];
    const used = (a & 0xff) - 1;
    u[offset >> 2] = a >>> 16;
    u[d + 1] = used | (a & 0xff00) | ((index + 1) << 16);
    u[cw + C_USED]--;
    if (used === 0) {
      // An empty page goes back to the pool, where any size (or a large run) can use it. Every
      // class fits at least two chunks in a page, so a page with one chunk in use was partial.
      this.unlinkPartial(cw, d);
      u[cw + C_PAGES]--;
      this.freePages(page, 1);
    } else if (used === PER_PAGE[c] - 1) {
      this.pushPartial(cw, page);
    }
  }

  /** Bytes usable at `offset` (the chunk's full size, which may exceed what was asked). */
  capacity(offset: number): number {
    const u = this.u32;
    const d = this.dw + ((offset - this.dataStart) >> PAGE_SHIFT) * DESC_WORDS;
    return (u[d] & 0xff) === LARGE ? u[d + 1] * PAGE_SIZE : SIZE_CLASSES[u[d] >>> 8];
  }

  get freePageCount(): number {
    return this.u32[this.hw + H_FREE_PAGES];
  }

  stats(): SlabStats {
    const u = this.u32;
    const slots: Record<number, SlotStats> = {};
    SIZE_CLASSES.forEach((size, c) => {
      const cw = this.hw + H_CLASSES + c * C_WORDS;
      const used = u[cw + C_USED];
      slots[size] = {
        used,
        free: u[cw + C_PAGES] * PER_PAGE[c] - used,
        reqs: u[cw + C_REQS],
        fails: u[cw + C_FAILS],
      };
    });
    const free = u[this.hw + H_FREE_PAGES];
    return { pages: { used: this.pageCount - free, free }, slots };
  }

  /** Reset the request and failure counters (DELETE /api/9/slabs/{zone}). */
  resetCounters(): void {
    for (let c = 0; c < SIZE_CLASSES.length; c++) {
      const cw = this.hw + H_CLASSES + c * C_WORDS;
      this.u32[cw + C_REQS] = 0;
      this.u32[cw + C_FAILS] = 0;
    }
  }

  /** First fit over the free runs; the page index, or -1. */
  private allocPages(n: number): number {
    const u = this.u32;
    for (let link = u[this.hw + H_FREE_RUNS]; link !== 0; ) {
      const page = link - 1;
      const d = this.dw + page * DESC_WORDS;
      const length = u[d + 1];
      link = u[d + 3];
      if (length < n) continue;
      this.unlinkFreeRun(page);
      if (length > n) {
        this.markFreeRun(page + n, length - n);
        this.pushFreeRun(page + n);
      }
      u[d] = LARGE;
      u[d + 1] = n;
      if (n > 1) {
        u[this.dw + (page + n - 1) * DESC_WORDS] = LARGE_TAIL;
        u[this.dw + (page + n - 1) * DESC_WORDS + 1] = page;
      }
      u[this.hw + H_FREE_PAGES] -= n;
      return page;
    }
    return -1;
  }

  /** Free a run, merging it with free neighbours so large requests keep finding room. */
  private freePages(page: number, n: number): void {
    const u = this.u32;
    u[this.hw + H_FREE_PAGES] += n;
    let start = page;
    let length = n;
    const after = page + n;
    if (after < this.pageCount && u[this.dw + after * DESC_WORDS] === FREE) {
      length += u[this.dw + after * DESC_WORDS + 1];
      this.unlinkFreeRun(after);
    }
    if (page > 0) {
      const b = this.dw + (page - 1) * DESC_WORDS;
      const head = u[b] === FREE ? page - 1 : u[b] === FREE_TAIL ? u[b + 1] : -1;
      if (head >= 0) {
        this.unlinkFreeRun(head);
        length += page - head;
        start = head;
      }
    }
    this.markFreeRun(start, length);
    this.pushFreeRun(start);
  }

  private markFreeRun(page: number, length: number): void {
    const u = this.u32;
    const d = this.dw + page * DESC_WORDS;
    u[d] = FREE;
    u[d + 1] = length;
    if (length > 1) {
      const t = this.dw + (page + length - 1) * DESC_WORDS;
      u[t] = FREE_TAIL;
      u[t + 1] = page;
    }
  }

  private pushFreeRun(page: number): void {
    this.pushList(this.hw + H_FREE_RUNS, page);
  }

  private unlinkFreeRun(page: number): void {
    this.unlinkList(this.hw + H_FREE_RUNS, this.dw + page * DESC_WORDS);
  }

  private pushPartial(cw: number, page: number): void {
    this.pushList(cw + C_PARTIAL, page);
  }

  private unlinkPartial(cw: number, d: number): void {
    this.unlinkList(cw + C_PARTIAL, d);
  }

  /** Push a page at the head of the list whose head link is the word at `headWord`. */
  private pushList(headWord: number, page: number): void {
    const u = this.u32;
    const d = this.dw + page * DESC_WORDS;
    const head = u[headWord];
    u[d + 2] = 0;
    u[d + 3] = head;
    if (head !== 0) u[this.dw + (head - 1) * DESC_WORDS + 2] = page + 1;
    u[headWord] = page + 1;
  }

  private unlinkList(headWord: number, d: number): void {
    const u = this.u32;
    const prev = u[d + 2];
    const next = u[d + 3];
    if (prev !== 0) u[this.dw + (prev - 1) * DESC_WORDS + 3] = next;
    else u[headWord] = next;
    if (next !== 0) u[this.dw + (next - 1) * DESC_WORDS + 2] = prev;
    u[d + 2] = 0;
    u[d + 3] = 0;
  }
}

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
