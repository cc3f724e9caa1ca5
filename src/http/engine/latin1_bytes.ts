// Bytes as latin1 text (one char per byte), the way the parsers see header names and values.

interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/** buf[start, end) as latin1, without Buffer#toString's argument handling. */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1Slicer).latin1Slice(start, end);
}

/** Whether the string's char codes are the bytes buf[start, end): a cached string still fits. */
export function sameBytes(s: string, buf: Buffer, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0, p = start; p < end; i++, p++) if (s.charCodeAt(i) !== buf[p]) return false;
  return true;
}
