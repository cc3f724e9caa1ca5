// Access log files: one fd per path shared by every `access_log` naming it, lines appended either
// through the `buffer=` (flushed when full, on `flush=` expiry, on reopen and on exit) or, unbuffered,
// batched per event-loop turn into one synchronous append. Files belong to cycles: a file no cycle
// uses any more is closed; SIGUSR1 reopens them all (log rotation).
import { closeSync, openSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { ErrorLog } from '../../core/error_log.ts';

/** `buffer=size [gzip[=level]] [flush=time]` of an access_log, as nginx attaches them to the file. */
export interface BufferOptions {
  readonly size: number;
  /** Milliseconds; 0: only when full. */
  readonly flush: number;
  /** Compression level 1..9; 0: no gzip. */
  readonly gzip: number;
}

/** nginx's `(errno: strerror)` suffix for a Node system error. */
export function sysErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.errno !== 'number') return String(err);
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message);
  const text = m ? m[1][0].toUpperCase() + m[1].slice(1) : e.message;
  return `${Math.abs(e.errno)}: ${text}`;
}

/** One byte per character (request data is latin1); UTF-8 only when a configured text needs it. */
function encode(text: string): Buffer {
  return /[^\x00-\xff]/.test(text) ? Buffer.from(text, 'utf8') : Buffer.from(text, 'latin1');
}

const ALERT_INTERVAL = 60_000;

export class LogFile {
  readonly path: string;
  /** Cycles (keyed by their `http` block) that log here; closed when none is left. */
  readonly users = new Set<object>();
  errorLog: ErrorLog | null;
  buffer: BufferOptions | null = null;
  /** The cycle whose `access_log` set `buffer`: another one with other parameters there conflicts. */
  bufferOwner: object | null = null;
  /** -1 when closed: late lines (from a retired cycle's requests) are then appended with a one-off open. */
  private fd = -1;
  private lines: string[] = [];
  private chars = 0;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastAlert = -Infinity;
  /** nginx skips a full disk for a second instead of blocking on it. */
  private diskFullUntil = 0;

  constructor(path: string, errorLog: ErrorLog | null) {
    this.path = path;
    this.errorLog = errorLog;
  }

  /** Open (or reopen) the file; throws the system error when it cannot be opened. */
  open(): void {
    const fd = openSync(this.path, 'a', 0o644);
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = fd;
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Reopen after rotation; on failure keep writing to the old fd, as nginx does. */
  reopen(): void {
    try {
      this.open();
    } catch (err) {
      this.errorLog?.log('emerg', `open() "${this.path}" failed (${sysErrorText(err)})`);
    }
  }

  /** Write what is pending and close. */
  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.buffer = null;
    this.bufferOwner = null;
  }

  /** Attach `buffer=` for `cycle`; false when that cycle already gave this file other parameters. */
  setBuffer(cycle: object, options: BufferOptions): boolean {
    const b = this.buffer;
    if (this.bufferOwner === cycle && b !== null) {
      return b.size === options.size && b.flush === options.flush && b.gzip === options.gzip;
    }
    this.flush();
    this.buffer = options;
    this.bufferOwner = cycle;
    return true;
  }

  /** Append one line (with its newline). */
  append(line: string): void {
    const buffer = this.buffer;
    if (this.fd < 0) {
      // Closed (its cycles are gone): nothing would flush a batch, so append at once.
      this.write(line);
      return;
    }
    if (buffer === null) {
      this.lines.push(line);
      this.immediate ??= setImmediate(() => this.flush());
      return;
    }
    // ngx_http_log_handler: flush when the line does not fit, write lines larger than the buffer at once.
    if (line.length > buffer.size - this.chars) this.flush();
    if (line.length > buffer.size) {
      this.write(line);
      return;
    }
    if (this.chars === 0 && buffer.flush > 0) {
      this.timer = setTimeout(() => this.flush(), buffer.flush);
      this.timer.unref();
    }
    this.lines.push(line);
    this.chars += line.length;
  }

  /** Write the pending lines now. */
  flush(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.timer !== null) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0] : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.write(text);
  }

  private write(text: string): void {
    const now = Date.now();
    if (now < this.diskFullUntil) return;
    let data = encode(text);
    if (this.buffer !== null && this.buffer.gzip > 0) data = gzipSync(data, { level: this.buffer.gzip });
    let fd = this.fd;
    try {
      if (fd < 0) fd = openSync(this.path, 'a', 0o644);
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') this.diskFullUntil = now + 1000;
      if (now - this.lastAlert >= ALERT_INTERVAL) {
        this.lastAlert = now;
        this.errorLog?.log('alert', `write() to "${this.path}" failed (${sysErrorText(err)})`);
      }
    } finally {
      if (fd >= 0 && fd !== this.fd) closeSync(fd);
    }
  }
}

/** Files with a constant path, by path, across cycles. */
const files = new Map<string, LogFile>();

/** Per-request files of `access_log` paths with variables, opened on demand and kept in a small LRU. */
const dynamicCaches = new Set<DynamicLogFiles>();

/**
 * The file `path` for cycle `cycle`. A cycle's first use of a file opens it anew, as nginx's new
 * cycle does on reload. Throws nginx's `open() "..." failed (...)` text as an Error.
 */
export function acquireLogFile(path: string, cycle: object, errorLog: ErrorLog): LogFile {
  let file = files.get(path);
  if (file?.users.has(cycle)) return file;
  file ??= new LogFile(path, errorLog);
  try {
    file.open();
  } catch (err) {
    if (file.users.size === 0) files.delete(path);
    throw new Error(`open() "${path}" failed (${sysErrorText(err)})`);
  }
  // The new cycle's access_log directives set the buffer again (or leave the file unbuffered).
  file.flush();
  file.buffer = null;
  file.bufferOwner = null;
  files.set(path, file);
  file.errorLog = errorLog;
  file.users.add(cycle);
  return file;
}

export class DynamicLogFiles {
  private readonly open = new Map<string, LogFile>();
  private readonly max: number;
  private readonly errorLog: ErrorLog;
  constructor(errorLog: ErrorLog, max = 16) {
    this.errorLog = errorLog;
    this.max = max;
    dynamicCaches.add(this);
  }

  /** The open file for `path`, or the system error that prevented opening it. */
  get(path: string): LogFile | Error {
    let file = this.open.get(path);
    if (file !== undefined) {
      // Map order is the LRU order: move to the end on use.
      this.open.delete(path);
      this.open.set(path, file);
      return file;
    }
    file = new LogFile(path, this.errorLog);
    try {
      file.open();
    } catch (err) {
      return new Error(`open() "${path}" failed (${sysErrorText(err)})`);
    }
    if (this.open.size >= this.max) {
      const [oldest, old] = this.open.entries().next().value!;
      this.open.delete(oldest);
      old.close();
    }
    this.open.set(path, file);
    return file;
  }

  /** Close every file: they are opened again on their next line. */
  closeAll(): void {
    for (const f of this.open.values()) f.close();
    this.open.clear();
  }

  dispose(): void {
    this.closeAll();
    dynamicCaches.delete(this);
  }
}

/** SIGUSR1: write what is buffered and reopen every access log (after logrotate moved them). */
export function reopenAll(): void {
  for (const f of files.values()) f.reopen();
  for (const c of dynamicCaches) c.closeAll();
}

/** Exit: write what is buffered and close every access log. */
export function closeAll(): void {
  for (const f of files.values()) f.close();
  files.clear();
  for (const c of dynamicCaches) c.closeAll();
  dynamicCaches.clear();
}

/**
 * A cycle is gone (replaced by a reload, or failed to build): close the files only it used. Lines its
 * requests still finish with are appended with a one-off open.
 */
export function releaseCycleFiles(cycle: object, dynamic: readonly DynamicLogFiles[]): void {
  for (const [path, f] of files) {
    if (!f.users.delete(cycle)) continue;
    if (f.bufferOwner === cycle) f.flush();
    if (f.users.size === 0) {
      f.close();
      files.delete(path);
    }
  }
  for (const d of dynamic) d.dispose();
}
