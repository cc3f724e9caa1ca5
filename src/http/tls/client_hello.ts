// Reads the first TLS record of a connection far enough to learn the SNI name, so the server (its
// certificate and whether it asks for a client certificate) is chosen before the handshake starts.

/** TLS record type of a handshake, the first byte of every TLS connection. */
export const TLS_HANDSHAKE = 0x16;

/** The largest record we wait for: 2^14 bytes of plaintext plus the 5-byte header (RFC 8446 5.1). */
const MAX_RECORD = 16384 + 5;

/**
 * How many bytes of the first record are needed before it can be read: the whole record, or
 * 5 for its header. A client whose record is longer than TLS allows is read as far as that limit.
 */
export function recordLength(buf: Buffer): number {
  if (buf.length < 5) return 5;
  return Math.min(5 + buf.readUInt16BE(3), MAX_RECORD);
}

/**
 * The host_name of the server_name extension (RFC 6066 3) of a ClientHello record, or '' when the
 * client sent none or the record is not a ClientHello we can read (the handshake then reports it).
 */
export function serverNameOf(record: Buffer): string {
  const end = Math.min(record.length, recordLength(record));
  // record header (5), handshake type and length (4), version (2), random (32)
  if (record[0] !== TLS_HANDSHAKE || record[5] !== 1) return '';
  let p = 5 + 4 + 2 + 32;
  const skip = (lengthBytes: number): boolean => {
    if (p + lengthBytes > end) return false;
    p += lengthBytes + record.readUIntBE(p, lengthBytes);
    return p <= end;
  };
  // session id, cipher suites, compression methods
  if (!skip(1) || !skip(2) || !skip(1) || p + 2 > end) return '';
  const extensionsEnd = Math.min(end, p + 2 + record.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extensionsEnd) {
    const type = record.readUInt16BE(p);
    const length = record.readUInt16BE(p + 2);
    p += 4;
    if (type === 0) return hostName(record, p, Math.min(p + length, extensionsEnd));
    p += length;
  }
  return '';
}

/** The first host_name entry of a ServerNameList. */
function hostName(record: Buffer, start: number, end: number): string {
  let p = start + 2;
  while (p + 3 <= end) {
    const type = record[p];
    const length = record.readUInt16BE(p + 1);
    p += 3;
    if (p + length > end) return '';
    if (type === 0) return record.toString('latin1', p, p + length);
    p += length;
  }
  return '';
}
