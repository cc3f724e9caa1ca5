// Where nginx would run out of header buffer space. nginx reads a request head into a
// client_header_buffer_size buffer; a line that does not fit is moved whole into one of
// large_client_header_buffers NUMBER buffers of SIZE bytes. A request line that cannot be
// placed gives 414, a header line 494 (answered as 400 "Request Header Or Cookie Too Large").
// Replaying that layout line by line over the received bytes gives the same verdicts.

export class HeaderBufferLayout {
  private readonly smallSize: number;
  private readonly largeCount: number;
  private readonly largeSize: number;
  /** Capacity of the buffer nginx is filling and how far it is filled. */
  private cap: number;
  private used = 0;
  /** Large buffers taken by this request (nginx's hc->nbusy). */
  private busy = 0;
  private inLarge = false;

  constructor(smallSize: number, largeCount: number, largeSize: number) {
    this.smallSize = Math.max(1, smallSize);
    this.largeCount = largeCount;
    this.largeSize = Math.max(1, largeSize);
    this.cap = this.smallSize;
  }

  /** A new connection or a keepalive request with nothing pipelined: a fresh small buffer. */
  reset(): void {
    this.cap = this.smallSize;
    this.used = 0;
    this.busy = 0;
    this.inLarge = false;
  }

  /**
   * A pipelined request starts `consumed` bytes after the previous head in the same buffer,
   * if they were all in it; otherwise nginx starts over with an empty buffer.
   */
  continueAfter(consumed: number): void {
    if (this.used + consumed < this.cap) {
      this.used += consumed;
      // nginx keeps only the large buffer holding the pipelined bytes
      this.busy = this.inLarge ? 1 : 0;
    } else {
      this.reset();
    }
  }

  /** Skipped CR/LF before a request line: nginx reuses the buffer when they fill it. */
  skip(n: number): void {
    this.used = (this.used + n) % this.cap;
  }

  /**
   * Places a complete line of `length` bytes (LF included). Returns false when nginx would
   * decline (line longer than a large buffer, or no large buffer left).
   */
  placeLine(length: number, requestLine: boolean): boolean {
    // a complete line fits when its last byte is inside the buffer
    while (this.used + length > this.cap) {
      if (!this.overflow(requestLine)) return false;
    }
    this.used += length;
    return true;
  }

  /** Whether `received` bytes of a line still missing its LF can be held. */
  canHoldPartial(received: number, requestLine: boolean): boolean {
    const cap = this.cap;
    const used = this.used;
    const busy = this.busy;
    const inLarge = this.inLarge;
    let ok = true;
    // an incomplete line needs room for at least one more byte
    while (ok && this.used + received >= this.cap) ok = this.overflow(requestLine);
    this.cap = cap;
    this.used = used;
    this.busy = busy;
    this.inLarge = inLarge;
    return ok;
  }

  /** The buffer is full in the middle of a line: nginx moves the line to a new buffer. */
  private overflow(requestLine: boolean): boolean {
    const inOldBuffer = this.cap - this.used;
    if (requestLine && inOldBuffer === 0) {
      // the buffer was filled by CR/LF only: nginx rewinds it
      this.used = 0;
      return true;
    }
    if (inOldBuffer > 0 && inOldBuffer >= this.largeSize) return false;
    if (this.busy >= this.largeCount) return false;
    this.busy++;
    this.inLarge = true;
    this.cap = this.largeSize;
    this.used = 0;
    return true;
  }
}
