// keyval_zone's `state=file`: the zone's pairs in a JSON file, so they survive restarts. NGINX Plus
// does not document its file's schema, so ours is a JSON object keyed by the pair's key:
//
//   "key": "value"                                          a pair that never expires
//   "key": {"value": "v", "expire_at": 1767225600000, "stamp": "7590..."}   one that does (wall ms)
//   "key": {"deleted": true, "expire_at": ..., "stamp": ...}  a synced zone's delete, still travelling
//
// `stamp` is the pair's hybrid logical clock stamp, so a node that restarts does not win conflicts
// with its stale pairs. A hand-written `{"k": "v"}` file (the API's GET shape) loads too.
//
// Writes are atomic: the text goes to FILE.tmp, is fsync'ed, and renamed over FILE (then the
// directory is fsync'ed), so a crash at any moment leaves the old file or the new one. A file that
// cannot be read or parsed is renamed to FILE.corrupt-TIMESTAMP (never deleted) and the zone starts
// empty: a bad file must not keep the gateway from starting.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ClockSkewError, type Stamp, stampLogical, stampWall } from '../../core/clock.ts';
import type { Level } from '../../core/error_log.ts';
import type { Zone } from '../../zones/zone.ts';

export type StateLog = (level: Level, message: string) => void;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

interface StateRecord {
  readonly key: string;
  readonly value: string;
  readonly expireAt: number;
  /** Absent in hand-written files: stamped when loaded. */
  readonly stamp?: Stamp;
  readonly deleted: boolean;
}

/** The zone's unexpired records as the state file's text. */
export function encodeState(zone: Zone): string {
  const out: Record<string, unknown> = {};
  for (const r of zone.snapshot()) {
    const key = decoder.decode(r.key);
    if (r.expireAt === 0 && !r.deleted) out[key] = decoder.decode(r.value);
    else if (r.deleted) out[key] = { deleted: true, expire_at: r.expireAt, stamp: String(r.stamp) };
    else out[key] = { value: decoder.decode(r.value), expire_at: r.expireAt, stamp: String(r.stamp) };
  }
  return JSON.stringify(out);
}

/** Parse a state file's text; throws an Error saying what is wrong. */
export function decodeState(text: string): StateRecord[] {
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
  const records: StateRecord[] = [];
  for (const [key, entry] of Object.entries(json)) {
    if (typeof entry === 'string') {
      records.push({ key, value: entry, expireAt: 0, deleted: false });
      continue;
    }
    const e = entry as { value?: unknown; expire_at?: unknown; stamp?: unknown; deleted?: unknown };
    const deleted = e.deleted === true;
    const valid =
      typeof entry === 'object' &&
      entry !== null &&
      (deleted || typeof e.value === 'string') &&
      (e.expire_at === undefined || (Number.isSafeInteger(e.expire_at) && (e.expire_at as number) >= 0)) &&
      (e.stamp === undefined || (typeof e.stamp === 'string' && /^[0-9]{1,25}$/.test(e.stamp)));
    if (!valid) throw new Error(`invalid entry for key ${JSON.stringify(key)}`);
    records.push({
      key,
      value: deleted ? '' : (e.value as string),
      expireAt: (e.expire_at as number | undefined) ?? 0,
      stamp: e.stamp === undefined ? undefined : BigInt(e.stamp as string),
      deleted,
    });
  }
  return records;
}

/** Write `text` to `file` so that a crash leaves either the old file or the new one, whole. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself is durable only once the directory is.
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** `FILE.corrupt-20260101T120000.123Z`: where an unreadable state file is moved. */
export function corruptName(file: string, now: number): string {
  return `${file}.corrupt-${new Date(now).toISOString().replace(/[-:]/g, '')}`;
}

/**
 * Fill a fresh zone from its state file; records keep their stamps and expiry (expired ones are
 * skipped). A missing file is an empty zone. Returns how many records were loaded.
 */
export function loadState(zone: Zone, file: string, log: StateLog): number {
  let records: StateRecord[];
  try {
    records = decodeState(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return 0;
    moveAside(file, e, zone, log);
    return 0;
  }
  const now = zone.now();
  let loaded = 0;
  for (const r of records) {
    if (r.expireAt !== 0 && r.expireAt <= now) continue;
    const stamp = r.stamp ?? zone.hlc.now();
    try {
      // Later local writes must order after what the file holds.
      zone.hlc.update(stamp);
    } catch (err) {
      if (!(err instanceof ClockSkewError)) throw err;
    }
    const options = {
      expireAt: r.expireAt,
      wall: stampWall(stamp),
      logical: stampLogical(stamp),
      tombstone: r.deleted,
    };
    const value = r.deleted ? EMPTY : encoder.encode(r.value);
    if (zone.store.set(r.key, value, options) !== 'ok') {
      log(
        'error',
        `keyval state file "${file}" does not fit${zone.logContext}, ${loaded} of ${records.length} pairs loaded`,
      );
      break;
    }
    loaded++;
  }
  return loaded;
}

function moveAside(file: string, err: Error, zone: Zone, log: StateLog): void {
  const detail = err.message;
  const aside = corruptName(file, zone.now());
  try {
    renameSync(file, aside);
    log('error', `invalid keyval state file "${file}" (${detail})${zone.logContext}, renamed to "${aside}"`);
  } catch (renameErr) {
    log(
      'error',
      `invalid keyval state file "${file}" (${detail})${zone.logContext}, rename to "${aside}" failed (${(renameErr as Error).message})`,
    );
  }
}

/** Debounced writer of one zone's state file: a change is on disk within `delayMs`, and at exit. */
export class StateWriter {
  readonly zone: Zone;
  file: string;
  log: StateLog;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: (() => void)[];

  constructor(zone: Zone, file: string, log: StateLog, delayMs = 1000) {
    this.zone = zone;
    this.file = file;
    this.log = log;
    this.delayMs = delayMs;
    const changed = () => this.schedule();
    this.unsubscribe = [
      zone.subscribe(changed),
      zone.onRemote((_record, result) => {
        if (result === 'applied') changed();
      }),
    ];
  }

  /** Write soon; several changes within the delay make one write. */
  schedule(): void {
    if (this.timer !== null) return;
    // Unref'd: a pending write never holds the process open; exit() flushes it instead.
    this.timer = setTimeout(() => this.flush(), this.delayMs).unref();
  }

  /** Write now if a change is pending. */
  flush(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.write();
  }

  /** Write the zone now. Synchronous (a zone is bounded by its size), as exit needs. */
  write(): void {
    try {
      writeFileAtomic(this.file, encodeState(this.zone));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.log(
        'crit',
        `writing keyval state file "${this.file}" failed (${e.message})${this.zone.logContext}`,
      );
      rmSync(`${this.file}.tmp`, { force: true });
    }
  }

  /** Flush, then stop following the zone. */
  close(): void {
    this.flush();
    for (const stop of this.unsubscribe.splice(0)) stop();
  }
}
