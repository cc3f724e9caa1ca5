// Zone types shaped like the modules' (which live elsewhere), and a zone factory on a manual clock.
import { Hlc, ManualClock } from '../../src/core/clock.ts';
import { mergeContributions } from '../../src/zones/contributions.ts';
import { lastWriterWins, Zone, type ZoneType } from '../../src/zones/zone.ts';

export const T0 = Date.UTC(2026, 0, 1);

/** keyval: never drops live data; only expired records make room. */
export const keyvalType: ZoneType = {
  name: 'keyval',
  logName: 'keyval zone',
  merge: lastWriterWins,
  onFull: (zone) => zone.store.expire(zone.now()) > 0,
};

/** sticky learn: warn, expire the least recently used session, retry. */
export const stickyType: ZoneType = {
  name: 'sticky',
  logName: 'sticky session zone',
  merge: lastWriterWins,
  onFull(zone) {
    zone.log('warn', `could not allocate node${zone.logContext}, expiring least recently used session`);
    return zone.store.evictLru(1) > 0;
  },
};

/** limit_req: force out the least recently used state, then up to two spent ones (here: empty values). */
export const limitReqType: ZoneType = {
  name: 'limit_req',
  logName: 'limit_req zone',
  merge: mergeContributions,
  onFull: (zone) => zone.store.evictLru(1) + zone.store.evictLru(2, (r) => r.valueLength === 0) > 0,
  checkReuse: (name, previous, next) =>
    previous === next
      ? undefined
      : `limit_req "${name}" uses the "${next}" key while previously it used the "${previous}" key`,
};

export function makeZone(
  type: ZoneType,
  options: { size?: number; sync?: boolean; node?: number; clock?: ManualClock } = {},
) {
  const clock = options.clock ?? new ManualClock(T0);
  const logs: string[] = [];
  const zone = new Zone({
    name: 'one',
    type,
    size: options.size ?? 64 * 1024,
    sync: options.sync ?? true,
    hlc: new Hlc(options.node ?? 1, clock),
    clock,
    log: (level, message) => logs.push(`[${level}] ${message}`),
  });
  return { zone, clock, logs };
}

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);
