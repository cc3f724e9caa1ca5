// The sessions of `sticky learn` in their zone, after ngx_http_upstream_sticky_module.c: a record
// per session keyed by the MD5 of the session id, holding the id of the server the session is bound
// to, and expiring `timeout` after it was last learned. The least recently learned record is the
// least recently used one, so the zone's LRU tail is nginx's expiry tree: its oldest session goes
// first when the zone is full, and expired ones are swept from there. Records merge last writer
// wins, so zone_sync can share them.
import { createHash } from 'node:crypto';
import { lastWriterWins, type Zone, type ZoneType } from '../../zones/zone.ts';

/** Sweep expired sessions from the LRU tail (nginx's ngx_http_upstream_sticky_sess_expire). */
function sweepExpired(zone: Zone): void {
  const now = zone.now();
  zone.store.evictLru(Number.POSITIVE_INFINITY, (record) => record.expireAt <= now);
}

export const stickyZoneType: ZoneType = {
  name: 'sticky',
  logName: 'sticky session zone',
  merge: lastWriterWins,
  onFull(zone) {
    zone.log('warn', `could not allocate node${zone.logContext}, expiring least recently used session`);
    zone.store.evictLru(1);
    sweepExpired(zone);
    return true;
  },
  // A zone's params are the upstream it serves: moving it to another upstream refuses the reload.
  checkReuse(zone, previous, next) {
    if (previous === next) return undefined;
    return (
      `sticky zone "${zone}" is used in upstream "${String(next)}" ` +
      `while previously it was used in upstream "${String(previous)}"`
    );
  },
};

/** The record key of a session id: its MD5, as nginx keys its session tree. */
function sessionKey(id: string): Uint8Array {
  return createHash('md5').update(id).digest();
}

export class StickySessions {
  private readonly zone: Zone;
  private readonly timeout: number;

  constructor(zone: Zone, timeout: number) {
    this.zone = zone;
    this.timeout = timeout;
  }

  /** The server id session `id` is bound to, if the session is live. Reading does not refresh it. */
  serverOf(id: string): string | undefined {
    const record = this.zone.get(sessionKey(id));
    // Buffer.from copies out of the shared buffer (TextDecoder refuses shared memory).
    return record === undefined ? undefined : Buffer.from(record.value).toString();
  }

  /**
   * A request on session `id` succeeded on server `sid`: bind the session to it (again) and restart
   * its timeout. A session the request only looked up (`create` false) is never created.
   */
  learn(id: string, sid: string, create: boolean): void {
    const key = sessionKey(id);
    if (!create && this.zone.get(key) === undefined) return;
    const zone = this.zone;
    if (create) sweepExpired(zone);
    // 'full' after the zone's own eviction: nginx logs the alert and goes on without a session.
    zone.set(key, Buffer.from(sid), zone.now() + this.timeout);
  }
}
