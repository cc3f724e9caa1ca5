// The longest-match indexes beside a keyval zone of `type=ip` or `type=prefix`. The zone holds the
// records; an index maps each stored key to what it matches, grouped by prefix length, so a lookup
// tries one map per length present, longest first (ecosystem.md measured this at millions of
// lookups per second, well ahead of a bit trie). An index may lag behind the zone: expiry removes
// records without telling anyone, so a lookup asks `isLive` of each candidate and drops dead ones.

/** How `keyval` matches its key against the stored keys (keyval_zone's `type=`). */
export type MatchType = 'string' | 'ip' | 'prefix';

export interface KeyIndex {
  /** Index a stored key; false (and nothing indexed) when the key does not fit the type. */
  add(key: string): boolean;
  remove(key: string): void;
  /** The stored key that matches `lookup` best and is live, or undefined. */
  match(lookup: string, isLive: (key: string) => boolean): string | undefined;
  clear(): void;
}

/** Stored keys by prefix length, then by the masked prefix; a few texts may share one prefix. */
class LengthTable<P> {
  private readonly byLength = new Map<number, Map<P, string[]>>();
  /** The lengths present, longest first. */
  private lengths: number[] = [];

  add(length: number, prefix: P, key: string): void {
    let table = this.byLength.get(length);
    if (table === undefined) {
      table = new Map();
      this.byLength.set(length, table);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    const keys = table.get(prefix);
    if (keys === undefined) table.set(prefix, [key]);
    else if (!keys.includes(key)) keys.push(key);
  }

  remove(length: number, prefix: P, key: string): void {
    const table = this.byLength.get(length);
    const keys = table?.get(prefix);
    if (table === undefined || keys === undefined) return;
    const at = keys.indexOf(key);
    if (at < 0) return;
    keys.splice(at, 1);
    if (keys.length > 0) return;
    table.delete(prefix);
    if (table.size > 0) return;
    this.byLength.delete(length);
    this.lengths = this.lengths.filter((l) => l !== length);
  }

  /** `cut(length)` is the lookup's own prefix of that length, or undefined when it is shorter. */
  match(cut: (length: number) => P | undefined, isLive: (key: string) => boolean): string | undefined {
    for (const length of this.lengths) {
      const prefix = cut(length);
      if (prefix === undefined) continue;
      const keys = this.byLength.get(length)?.get(prefix);
      if (keys === undefined) continue;
      for (const key of [...keys]) {
        if (isLive(key)) return key;
        this.remove(length, prefix, key);
      }
    }
    return undefined;
  }

  clear(): void {
    this.byLength.clear();
    this.lengths = [];
  }
}

/** `type=prefix`: the longest stored key that the lookup key starts with. */
export class PrefixIndex implements KeyIndex {
  private readonly table = new LengthTable<string>();
  add(key: string): boolean {
    this.table.add(key.length, key, key);
    return true;
  }
  remove(key: string): void {
    this.table.remove(key.length, key, key);
  }
  match(lookup: string, isLive: (key: string) => boolean): string | undefined {
    return this.table.match((n) => (n <= lookup.length ? lookup.slice(0, n) : undefined), isLive);
  }
  clear(): void {
    this.table.clear();
  }
}

/** An address or a network: IPv4 as an unsigned 32-bit number, IPv6 as a 128-bit bigint. */
export type IpPrefix =
  | { readonly v6: false; readonly value: number; readonly length: number }
  | { readonly v6: true; readonly value: bigint; readonly length: number };

/** Dotted-quad IPv4 (`10.0.0.1`, no leading zeros beyond one digit), or null. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/** IPv6 text (with `::` and an embedded IPv4 tail) as a bigint, or null. */
export function parseIpv6(text: string): bigint | null {
  if (text.includes('%')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(Number.parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const g of [...head, ...Array<number>(missing).fill(0), ...tail]) value = (value << 16n) | BigInt(g);
  return value;
}

const V4_MAPPED = 0xffffn << 32n;

/** An address (full-length prefix); IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as IPv4. */
export function parseIpAddress(text: string): IpPrefix | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { v6: false, value: v4, length: 32 };
  const v6 = parseIpv6(text);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { v6: false, value: Number(v6 & 0xffffffffn), length: 32 };
  return { v6: true, value: v6, length: 128 };
}

/** `addr` or `addr/len` (host bits beyond `len` are masked off, as ngx_ptocidr does), or null. */
export function parseIpPrefix(text: string): IpPrefix | null {
  const slash = text.indexOf('/');
  if (slash < 0) return parseIpAddress(text);
  const lengthText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lengthText)) return null;
  const length = Number(lengthText);
  const addressText = text.slice(0, slash);
  const v4 = parseIpv4(addressText);
  if (v4 !== null) return length > 32 ? null : { v6: false, value: maskV4(v4, length), length };
  const v6 = parseIpv6(addressText);
  if (v6 === null || length > 128) return null;
  // A mapped network (`::ffff:10.0.0.0/104`) matches IPv4 lookups, which arrive unmapped.
  if (length >= 96 && (v6 & ~0xffffffffn) === V4_MAPPED) {
    return { v6: false, value: maskV4(Number(v6 & 0xffffffffn), length - 96), length: length - 96 };
  }
  return { v6: true, value: maskV6(v6, length), length };
}

function maskV4(value: number, length: number): number {
  return length === 0 ? 0 : (value & (-1 << (32 - length))) >>> 0;
}

function maskV6(value: bigint, length: number): bigint {
  return length === 0 ? 0n : value & (((1n << BigInt(length)) - 1n) << BigInt(128 - length));
}

/** `type=ip`: the stored address or network with the longest prefix that holds the lookup address. */
export class IpIndex implements KeyIndex {
  private readonly v4 = new LengthTable<number>();
  private readonly v6 = new LengthTable<bigint>();

  add(key: string): boolean {
    const p = parseIpPrefix(key);
    if (p === null) return false;
    if (p.v6) this.v6.add(p.length, p.value, key);
    else this.v4.add(p.length, p.value, key);
    return true;
  }

  remove(key: string): void {
    const p = parseIpPrefix(key);
    if (p === null) return;
    if (p.v6) this.v6.remove(p.length, p.value, key);
    else this.v4.remove(p.length, p.value, key);
  }

  match(lookup: string, isLive: (key: string) => boolean): string | undefined {
    const a = parseIpAddress(lookup);
    if (a === null) return undefined;
    if (a.v6) {
      const value = a.value;
      return this.v6.match((n) => maskV6(value, n), isLive);
    }
    const value = a.value;
    return this.v4.match((n) => maskV4(value, n), isLive);
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
  }
}

/** The index a zone of `type` needs; `string` zones match exactly and need none. */
export function indexFor(type: MatchType): KeyIndex | null {
  if (type === 'ip') return new IpIndex();
  if (type === 'prefix') return new PrefixIndex();
  return null;
}
