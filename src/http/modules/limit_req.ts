// ngx_http_limit_req_module: `limit_req_zone` declares a shared zone of per-key leaky buckets,
// `limit_req` applies one (or several) to requests in the preaccess phase, after rewrite (so a
// `return` answers before any limit runs). Zones outlive reloads unless the key changes (refused,
// as nginx does) or the `sync` flag does (refused, as NGINX Plus documents). The zones' counters
// are served by the API (src/api/limit_req_endpoints.ts).
import { limitReqEndpoint, limitReqsEndpoint } from '../../api/limit_req_endpoints.ts';
import { registerApiEndpoint } from '../../api/router.ts';
import { enclosing, inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfBlock, ConfEntry, Context } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import { enumDirective, flagDirective } from '../../config/values.ts';
import { systemClock } from '../../core/clock.ts';
import type { Module } from '../../core/module.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { BuildContext, HandlerEntry, LocationConf } from '../types.ts';
import { makeLimit } from './limit_req_algorithm.ts';
import {
  type LimitReqConf,
  type LimitReqZoneConf,
  parseLimitReq,
  parseLimitReqStatus,
  parseLimitReqZone,
} from './limit_req_conf.ts';
import { type LimitReqLogLevel, type LocationLimit, limitReqHandler } from './limit_req_handler.ts';
import { cycleZonesOf, LimitReqZone, limitReqZoneType, setCycleZones } from './limit_req_zone.ts';

const HSL: Context[] = ['http', 'server', 'location'];
const LOG_LEVELS: readonly LimitReqLogLevel[] = ['info', 'notice', 'warn', 'error'];

registerApiEndpoint(limitReqsEndpoint);
registerApiEndpoint(limitReqEndpoint);

/** Every `limit_req` in `block` and the blocks inside it. */
function limitReqEntries(block: ConfBlock, out: ConfEntry[] = []): ConfEntry[] {
  for (const e of block.entries) {
    if (e.name === 'limit_req') out.push(e);
    if (e.block) limitReqEntries(e.block, out);
  }
  return out;
}

/** Declare the zones of `http` and keep how to build their LimitReqZones once the cycle has them. */
function declareZones(http: ConfBlock, cx: BuildContext): void {
  const keys = new Map<string, { conf: LimitReqZoneConf; key: ComplexValue }>();
  for (const e of http.entries) {
    if (e.name !== 'limit_req_zone') continue;
    const conf = e.value as LimitReqZoneConf;
    const seen = keys.get(conf.name);
    // Another size is the zone registry's conflict error, reported as nginx does it, first.
    if (seen !== undefined && seen.conf.size === conf.size)
      invalid(`limit_req_zone "${conf.name}" is already bound to key "${seen.conf.key}"`, e);
    keys.set(conf.name, { conf, key: cx.variables.compile(conf.key, e) });
    cx.zones.declare({
      name: conf.name,
      type: limitReqZoneType,
      size: conf.size,
      sync: conf.sync,
      params: conf.key,
      file: e.file,
      line: e.line,
    });
  }
  // A zone used but never declared is the registry's `zero size shared memory zone "x"`.
  for (const e of limitReqEntries(http)) {
    const name = (e.value as LimitReqConf).zone;
    cx.zones.declare({ name, type: limitReqZoneType, size: 0, sync: false, file: e.file, line: e.line });
  }
  let built: Map<string, LimitReqZone> | null = null;
  setCycleZones(http, () => {
    built ??= new Map(
      [...keys].map(([name, { conf, key }]) => [
        name,
        new LimitReqZone(cx.zones.get(name), key, conf.rate, systemClock),
      ]),
    );
    return built;
  });
}

function locationHandler(loc: LocationConf): HandlerEntry[] | undefined {
  const entries = inherited(loc.block, 'limit_req');
  if (entries.length === 0) return undefined;
  const http = enclosing(loc.block, 'http') as ConfBlock;
  const zones = cycleZonesOf(http);
  const limits: LocationLimit[] = entries.map((e) => {
    const conf = e.value as LimitReqConf;
    const zone = zones.get(conf.zone) as LimitReqZone;
    return { zone, limit: makeLimit(zone.rate, conf.burst, conf.delay) };
  });
  const handler = limitReqHandler(limits, {
    status: inheritedValue(loc.block, 'limit_req_status', 503),
    logLevel: inheritedValue(loc.block, 'limit_req_log_level', 'error'),
    dryRun: inheritedValue(loc.block, 'limit_req_dry_run', false),
  });
  return [{ phase: 'preaccess', handler }];
}

export const limitReqModule: Module = {
  name: 'http_limit_req',
  directives: [
    // nginx takes three arguments; NGINX Plus a fourth, `sync`.
    { name: 'limit_req_zone', contexts: ['http'], args: [3, 4], multiple: true, parse: parseLimitReqZone },
    { name: 'limit_req', contexts: HSL, args: [1, 2, 3], multiple: true, parse: parseLimitReq },
    { name: 'limit_req_status', contexts: HSL, args: [1], parse: parseLimitReqStatus },
    enumDirective('limit_req_log_level', HSL, LOG_LEVELS),
    flagDirective('limit_req_dry_run', HSL),
  ],
  variables: [{ name: 'limit_req_status', get: (r) => r.limitReqStatus }],
  http: {
    init: declareZones,
    location: locationHandler,
  },
};
