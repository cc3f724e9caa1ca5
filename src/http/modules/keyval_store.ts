// One keyval zone as the module, the API and the state file see it: string keys and values over the
// zone's byte records, matched by the zone's type, with its `timeout`. A `type=ip` or `type=prefix`
// zone keeps a longest-match index beside it, fed by the zone's local changes and by the remote
// applies of zone_sync, so a key added or deleted by any path is found (or not) at once.

import { indexFor, type KeyIndex, type MatchType, parseIpPrefix } from '../../zones/keyval_index.ts';
import type { ZoneRecord } from '../../zones/record.ts';
import { lastWriterWins, type Zone, type ZoneType } from '../../zones/zone.ts';

/** A `keyval_zone` directive, parsed. */
export interface KeyvalZoneConf {
  readonly name: string;
  readonly size: number;
  /** Absolute path of the state file, or null. */
  readonly state: string | null;
  /** Milliseconds a pair lives after it is written; 0: forever. */
  readonly timeout: number;
  readonly type: MatchType;
  readonly sync: boolean;
}

/**
 * keyval never drops live data to make room: only expired pairs go, and a write that still does
 * not fit fails (the API answers 507, a variable write logs the zone's alert).
 */
export const keyvalZoneType: ZoneType = {
  name: 'keyval',
  logName: 'keyval zone',
  merge: lastWriterWins,
  onFull: (zone) => zone.expire() > 0,
};

/** ngx_stream_keyval_module's zones: the same rules, another owner (nginx's shm tag). */
export const streamKeyvalZoneType: ZoneType = { ...keyvalZoneType, name: 'stream_keyval' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A value's UTF-8 bytes as text. Short ASCII values (flags, routes, addresses) are built char by
 * char: a TextDecoder call costs 4x as much as the loop for them, on every variable lookup.
 */
function decodeValue(bytes: Uint8Array): string {
  if (bytes.length > 32) return decoder.decode(bytes);
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return decoder.decode(bytes);
    text += String.fromCharCode(c);
  }
  return text;
}

/** Whether `key` may be stored in a zone of `type` (type=ip keys are addresses or CIDR networks). */
export function validKey(type: MatchType, key: string): boolean {
  if (key === '' || encoder.encode(key).length > 0xffff) return false;
  return type !== 'ip' || parseIpPrefix(key) !== null;
}

export class KeyvalStore {
  readonly conf: KeyvalZoneConf;
  readonly zone: Zone;
  private readonly index: KeyIndex | null;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(zone: Zone, conf: KeyvalZoneConf) {
    this.zone = zone;
    this.conf = conf;
    this.index = indexFor(conf.type);
    const index = this.index;
    if (index === null) return;
    for (const record of zone.snapshot()) if (!record.deleted) index.add(decoder.decode(record.key));
    const follow = (record: ZoneRecord) => {
      const key = decoder.decode(record.key);
      if (record.deleted) index.remove(key);
      else index.add(key);
    };
    this.unsubscribe.push(
      zone.subscribe(follow),
      zone.onRemote((record, result) => {
        if (result === 'applied') follow(record);
      }),
    );
  }

  get name(): string {
    return this.conf.name;
  }

  /** The variable's value for `key`, by the zone's type; undefined: no pair matches. */
  lookup(key: string): string | undefined {
    if (this.index === null) return this.get(key);
    const found = this.index.match(key, (k) => this.zone.get(k) !== undefined);
    return found === undefined ? undefined : this.get(found);
  }

  /** The value stored under exactly `key`. */
  get(key: string): string | undefined {
    if (key === '') return undefined;
    const record = this.zone.get(key);
    return record === undefined ? undefined : decodeValue(record.value);
  }

  /** Live pairs, in no particular order. */
  *entries(): Generator<[string, string]> {
    for (const record of this.zone.snapshot()) {
      if (!record.deleted) yield [decoder.decode(record.key), decoder.decode(record.value)];
    }
  }

  isEmpty(): boolean {
    return this.entries().next().done === true;
  }

  /**
   * Store a pair; it expires `expireMs` from now (the API's `expire`), else after the zone's
   * timeout, else never. 'full' when it does not fit even after expired pairs went.
   */
  set(key: string, value: string, expireMs?: number): 'ok' | 'full' {
    const ttl = expireMs ?? this.conf.timeout;
    return this.zone.set(key, encoder.encode(value), ttl > 0 ? this.zone.now() + ttl : 0);
  }

  /** Keep the value, change only when it expires. */
  setExpiry(key: string, expireMs: number): 'ok' | 'full' | 'absent' {
    const value = this.get(key);
    return value === undefined ? 'absent' : this.set(key, value, expireMs);
  }

  delete(key: string): boolean {
    return key !== '' && this.zone.delete(key);
  }

  /** Delete every pair (one by one, so the index and zone_sync see each delete). */
  clear(): void {
    for (const [key] of [...this.entries()]) this.zone.delete(key);
  }

  /** The cycle that built this view is gone: stop following the zone. */
  close(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
  }
}
