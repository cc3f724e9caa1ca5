// The zones a cycle is building: modules declare them while their directives are read (init hooks),
// then one resolve() applies the reload rules against the running cycle's zones (zones/registry.ts)
// and hands every module its Zone. A failed resolve fails the whole cycle, as any config error does.
import { ConfigError } from '../config/types.ts';
import { carryOver, type ZoneDecl, type ZoneRegistry } from '../zones/registry.ts';
import type { Zone } from '../zones/zone.ts';
import { type Clock, Hlc, systemClock } from './clock.ts';
import type { ErrorLog } from './error_log.ts';

/** One hybrid logical clock per process: every zone's stamps come from it. */
let processHlc: Hlc | null = null;

/** This process's node id in stamps; zone_sync may set it before the first cycle loads. */
export function nodeHlc(
  nodeId = (process.pid ^ (Date.now() & 0xffff)) & 0xffff,
  clock: Clock = systemClock,
): Hlc {
  processHlc ??= new Hlc(nodeId, clock);
  return processHlc;
}

export class CycleZones {
  private readonly decls: ZoneDecl[] = [];
  private registry: ZoneRegistry | null = null;
  private readonly previous: ZoneRegistry | undefined;
  private readonly log: ErrorLog;

  constructor(previous: ZoneRegistry | undefined, log: ErrorLog) {
    this.previous = previous;
    this.log = log;
  }

  /** A zone directive (or a reference with size 0, such as `limit_req zone=one`). */
  declare(decl: ZoneDecl): void {
    if (this.registry !== null) throw new Error(`zone "${decl.name}" declared after the zones were built`);
    this.decls.push(decl);
  }

  /** Build or carry over every declared zone; throws the first ConfigError. */
  resolve(): ZoneRegistry {
    if (this.registry !== null) return this.registry;
    const { zones, errors } = carryOver(this.previous, this.decls, {
      hlc: nodeHlc(),
      log: (level, message) => this.log.log(level, message),
    });
    if (errors.length > 0) throw errors[0];
    this.registry = zones;
    return zones;
  }

  /** The built zone `name`; only after resolve(). */
  get(name: string): Zone {
    const zone = this.resolve().get(name);
    if (zone === undefined) throw new ConfigError(`zero size shared memory zone "${name}"`);
    return zone;
  }
}
