// The bytes of small files, kept by path and checked with one stat() on every use. nginx opens,
// fstats, reads and closes a file for each request (open_file_cache is off by default); a stat
// instead of those four calls makes a small file about as cheap as a `return`. Never stale: a file
// rewritten, replaced, truncated or made unreadable gets another inode, size, mtime or ctime, and
// the next request reads it anew the nginx way (errors too: a stat that fails drops the entry).
import { type Stats, statSync } from 'node:fs';

/** A file's bytes and the stat fields that prove them current. */
export interface CachedFile {
  readonly bytes: Buffer;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** Files up to this size are cached; larger ones stream from their descriptor. */
export const CACHED_FILE_MAX = 64 * 1024;
/** All cached bytes together; past it the oldest entries go first. */
const CACHE_BUDGET = 16 * 1024 * 1024;

const files = new Map<string, CachedFile>();
let total = 0;

/** The cached bytes of `path` if the file is unchanged since they were read. */
export function cachedFile(path: string): CachedFile | undefined {
  const f = files.get(path);
  if (f === undefined) return undefined;
  let st: Stats | undefined;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  if (
    st?.isFile() &&
    st.ino === f.ino &&
    st.dev === f.dev &&
    st.size === f.size &&
    st.mtimeMs === f.mtimeMs &&
    st.ctimeMs === f.ctimeMs
  ) {
    return f;
  }
  forget(path, f);
  return undefined;
}

/** Keep `bytes`, read from the open file `st` describes, for the next requests of `path`. */
export function cacheFile(path: string, st: Stats, bytes: Buffer): CachedFile {
  const f: CachedFile = {
    bytes,
    dev: st.dev,
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
  };
  const old = files.get(path);
  if (old !== undefined) forget(path, old);
  files.set(path, f);
  total += bytes.length;
  // Map order is insertion order: the first keys are the oldest
  for (const [p, e] of files) {
    if (total <= CACHE_BUDGET) break;
    forget(p, e);
  }
  return f;
}

function forget(path: string, f: CachedFile): void {
  files.delete(path);
  total -= f.bytes.length;
}
