// The bytes a connection has received and not consumed yet: buf[start, end). During a read
// callback buf may be the shared read buffer (tcp_fast_path.ts); keep() copies what is pending
// out of it before the next read reuses it.
import { SHARED_READ_BUFFER } from './tcp_fast_path.ts';

const EMPTY = Buffer.alloc(0);

export class ReceivedBytes {
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;

  /** How many bytes are not consumed yet. */
  get pending(): number {
    return this.end - this.start;
  }

  /** chunk[0, length) arrived after what is pending. */
  append(chunk: Buffer, length: number): void {
    if (this.start === this.end) {
      this.buf = chunk;
      this.start = 0;
      this.end = length;
      return;
    }
    this.buf = Buffer.concat([this.buf.subarray(this.start, this.end), chunk.subarray(0, length)]);
    this.start = 0;
    this.end = this.buf.length;
  }

  /** Before the shared read buffer is read into again: copy out what is pending. */
  keep(): void {
    if (this.buf !== SHARED_READ_BUFFER) return;
    this.buf = this.start < this.end ? Buffer.from(this.buf.subarray(this.start, this.end)) : EMPTY;
    this.end -= this.start;
    this.start = 0;
  }

  /** What is pending, in a buffer of its own; nothing is left. */
  take(): Buffer {
    this.keep();
    const rest = this.buf.subarray(this.start, this.end);
    this.clear();
    return rest;
  }

  clear(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.end = 0;
  }
}
