// The zones of one cycle, and nginx's rules for carrying them over a reload (src/core/ngx_cycle.c):
// a zone whose name, type (nginx's shm tag) and size are unchanged keeps its memory and records; a
// changed size or type gets a new, empty zone (the old one goes when the old cycle does); the module
// may still veto reuse (limit_req: a changed key). Ours adds one veto, as NGINX Plus documents: the
// `sync` flag of a reused zone cannot change.
//
// The sync check applies only where nginx would reuse the zone: a zone that changes size as well
// starts empty anyway, so nothing unsynced can leak into the cluster or the other way round.

import { ConfigError } from '../config/types.ts';
import type { Clock, Hlc } from '../core/clock.ts';
import { Zone, type ZoneLog, type ZoneType } from './zone.ts';

/** A zone as one directive declares it (`limit_req_zone $k zone=one:1m sync`). */
export interface ZoneDecl {
  readonly name: string;
  readonly type: ZoneType;
  /** Bytes; 0 for a reference (`limit_req zone=one`) that some other declaration must size. */
  readonly size: number;
  /** Ignored on a reference. */
  readonly sync: boolean;
  /** What must not change for the zone to be reused, passed to type.checkReuse (limit_req: the key). */
  readonly params?: unknown;
  readonly file?: string;
  readonly line?: number;
}

/** What new zones are built with. */
export interface ZoneEnv {
  readonly hlc: Hlc;
  readonly clock?: Clock;
  readonly log?: ZoneLog;
}

interface Entry {
  readonly zone: Zone;
  readonly params: unknown;
}

export class ZoneRegistry implements Iterable<Zone> {
  // The module's params live here, not on the Zone: a reload that fails must leave the running
  // registry exactly as it was.
  private readonly entries: ReadonlyMap<string, Entry>;
  constructor(entries: ReadonlyMap<string, Entry> = new Map()) {
    this.entries = entries;
  }
  get(name: string): Zone | undefined {
    return this.entries.get(name)?.zone;
  }
  get size(): number {
    return this.entries.size;
  }
  params(name: string): unknown {
    return this.entries.get(name)?.params;
  }
  *[Symbol.iterator](): Iterator<Zone> {
    for (const entry of this.entries.values()) yield entry.zone;
  }
}

/**
 * Build the zones of a new cycle from its declarations, reusing `previous`'s where the rules allow.
 * On any error nothing is built (`zones` is empty) and `previous` is untouched: the reload fails and
 * the running cycle keeps its zones.
 */
export function carryOver(
  previous: ZoneRegistry | undefined,
  decls: readonly ZoneDecl[],
  env: ZoneEnv,
): { zones: ZoneRegistry; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const fail = (message: string, decl?: ZoneDecl) =>
    errors.push(new ConfigError(message, decl?.file, decl?.line));
  const merged = mergeDecls(decls, fail);
  const plan: { decl: ZoneDecl; reuse: Zone | undefined }[] = [];
  for (const decl of merged.values()) {
    const old = previous?.get(decl.name);
    const reusable = old !== undefined && old.type.name === decl.type.name && old.size === decl.size;
    if (!reusable) {
      plan.push({ decl, reuse: undefined });
      continue;
    }
    if (old.sync !== decl.sync) {
      fail(syncChangeMessage(decl.name, decl.sync), decl);
      continue;
    }
    const veto = decl.type.checkReuse?.(decl.name, previous?.params(decl.name), decl.params);
    if (veto !== undefined) fail(veto, decl);
    else plan.push({ decl, reuse: old });
  }
  if (errors.length > 0) return { zones: new ZoneRegistry(), errors };
  const entries = new Map<string, Entry>();
  for (const { decl, reuse } of plan) {
    const zone =
      reuse ?? new Zone({ name: decl.name, type: decl.type, size: decl.size, sync: decl.sync, ...env });
    entries.set(decl.name, { zone, params: decl.params });
  }
  return { zones: new ZoneRegistry(entries), errors };
}

/** After `next` went live: close the zones of `previous` that it did not carry over. */
export function retire(previous: ZoneRegistry, next: ZoneRegistry): void {
  for (const zone of previous) if (next.get(zone.name) !== zone) zone.close();
}

function syncChangeMessage(name: string, adding: boolean): string {
  const change = adding ? 'added to' : 'removed from';
  return (
    `the "sync" parameter cannot be ${change} the existing zone "${name}"; ` +
    `remove the zone's directive, reload, then add it back ${adding ? 'with' : 'without'} "sync" and reload again`
  );
}

/** One declaration per name, with ngx_shared_memory_add's conflict errors. */
function mergeDecls(
  decls: readonly ZoneDecl[],
  fail: (message: string, decl?: ZoneDecl) => void,
): Map<string, ZoneDecl> {
  const byName = new Map<string, ZoneDecl>();
  for (const decl of decls) {
    const seen = byName.get(decl.name);
    if (seen === undefined) {
      byName.set(decl.name, decl);
    } else if (seen.type.name !== decl.type.name) {
      fail(`the shared memory zone "${decl.name}" is already declared for a different use`, decl);
    } else if (decl.size === 0) {
      // A reference to a zone sized elsewhere.
    } else if (seen.size === 0) {
      byName.set(decl.name, decl);
    } else if (seen.size !== decl.size) {
      fail(
        `the size ${decl.size} of shared memory zone "${decl.name}" conflicts with already declared size ${seen.size}`,
        decl,
      );
    } else if (seen.sync !== decl.sync) {
      fail(
        `the "sync" parameter of shared memory zone "${decl.name}" conflicts with its earlier declaration`,
        decl,
      );
    }
  }
  // nginx finds these at cycle init, where no directive is at hand: no file:line.
  for (const decl of byName.values())
    if (decl.size === 0) fail(`zero size shared memory zone "${decl.name}"`);
  return byName;
}
