// `metrics;` turns a location into a Prometheus scrape target (prom-client's text format). Every
// value is read from live state when scraped (collect callbacks), never counted on the request path:
// the shared zones of the live cycle, the limit_req counters the API reports, and the zone_sync
// status of `GET /api/9/stream/zone_sync`, plus prom-client's process metrics.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ApiError, errorBody, methodNotSupported } from '../../api/errors.ts';
import { type ApiRequest, resolveRoute } from '../../api/router.ts';
import { find } from '../../config/tree.ts';
import type { ConfBlock } from '../../config/types.ts';
import type { CycleZones } from '../../core/cycle_zones.ts';
import type { Module } from '../../core/module.ts';
import type { VariableGetter } from '../../variables/registry.ts';
import type { ZoneRegistry } from '../../zones/registry.ts';
import type { StoreStats } from '../../zones/zone_store.ts';
import type { HttpRequest, PhaseResult } from '../types.ts';
import { cycleZonesOf, type LimitReqCounters } from './limit_req_zone.ts';

const MODULE = 'http_metrics';
const PREFIX = 'zonesync_';

/** What the live cycle's metrics come from. */
interface CycleSources {
  readonly http: ConfBlock;
  readonly zones: ZoneRegistry;
}

// By main block, until the cycle goes live: its zones are built by then. Only the registry is kept,
// not the CycleZones, which holds the previous cycle's zones.
const cycles = new WeakMap<ConfBlock, { http: ConfBlock; zones: CycleZones }>();
let live: CycleSources | null = null;

function mainOf(block: ConfBlock): ConfBlock {
  let b = block;
  while (b.parent !== null) b = b.parent;
  return b;
}

interface ZoneSyncStatus {
  status: { nodes_online: number; msgs_in: number; msgs_out: number; bytes_in: number; bytes_out: number };
  zones: Record<string, { records_pending: number; records_total: number }>;
  zonesync: { ready: boolean };
}

/** Everything one scrape reports, read once however many metrics use it. */
interface Snapshot {
  readonly zones: { name: string; type: string; size: number; stats: StoreStats }[];
  readonly limitReqs: ReadonlyMap<string, LimitReqCounters>;
  readonly zoneSync: ZoneSyncStatus | null;
}

// zone_sync's GET reads nothing of the request; the endpoint is reused so the numbers are the API's.
const NO_REQUEST = {
  version: 9,
  method: 'GET',
  params: {},
  arg: () => undefined,
  json: async () => undefined,
} as unknown as ApiRequest;

async function zoneSyncStatus(): Promise<ZoneSyncStatus | null> {
  const { route } = resolveRoute(['9', 'stream', 'zone_sync']);
  const get = route.kind === 'endpoint' ? route.endpoint.methods.GET : undefined;
  if (get === undefined) return null;
  try {
    return (await get(NO_REQUEST)).body as ZoneSyncStatus;
  } catch (err) {
    // PathNotFound: no zone_sync in the live cycle.
    if (err instanceof ApiError) return null;
    throw err;
  }
}

async function takeSnapshot(): Promise<Snapshot> {
  const zones = live === null ? [] : [...live.zones];
  return {
    zones: zones.map((z) => ({ name: z.name, type: z.type.name, size: z.size, stats: z.stats() })),
    limitReqs:
      live === null ? new Map() : new Map([...cycleZonesOf(live.http)].map(([n, z]) => [n, z.counters])),
    zoneSync: await zoneSyncStatus(),
  };
}

// One snapshot per scrape: the handler starts a new one, the collect callbacks share it.
let current: Promise<Snapshot> | null = null;
const snapshot = (): Promise<Snapshot> => {
  current ??= takeSnapshot();
  return current;
};

type Fill<T> = (metric: T, s: Snapshot) => void;

/** What Gauge and Counter take here: no start value, a collect() that reads the snapshot. */
interface MetricConf {
  name: string;
  help: string;
  labelNames: string[];
  registers: Registry[];
  collect(this: Gauge | Counter): Promise<void>;
}

function buildRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  // Values are read at scrape time: reset, then set (gauges) or add the absolute value (counters
  // have no set(); an inc of 0 keeps the series at 0).
  const collected =
    <M extends Gauge | Counter>(Kind: new (conf: MetricConf) => M) =>
    (name: string, help: string, labelNames: string[], fill: Fill<M>): M =>
      new Kind({
        name: PREFIX + name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          const s = await snapshot();
          (this as M).reset();
          fill(this as M, s);
        },
      });
  const gauge = collected<Gauge>(Gauge);
  const counter = collected<Counter>(Counter);

  const zoneGauge = (name: string, help: string, value: (z: Snapshot['zones'][number]) => number) =>
    gauge(name, help, ['zone', 'type'], (g, s) => {
      for (const z of s.zones) g.set({ zone: z.name, type: z.type }, value(z));
    });
  zoneGauge('zone_records', 'Records in the shared zone, tombstones included.', (z) => z.stats.records);
  zoneGauge('zone_tombstones', 'Deleted records kept in the shared zone.', (z) => z.stats.tombstones);
  zoneGauge('zone_used_bytes', 'Bytes of the chunks holding records.', (z) => z.stats.bytesUsed);
  zoneGauge('zone_size_bytes', 'Size of the shared zone.', (z) => z.size);
  zoneGauge('zone_pages_used', 'Slab pages in use.', (z) => z.stats.pages.used);
  zoneGauge('zone_pages_free', 'Slab pages free.', (z) => z.stats.pages.free);

  const limitReqHelp: Record<keyof LimitReqCounters, string> = {
    passed: 'Requests limit_req let through at once.',
    delayed: 'Requests limit_req delayed.',
    rejected: 'Requests limit_req rejected.',
    delayed_dry_run: 'Requests limit_req would have delayed (limit_req_dry_run).',
    rejected_dry_run: 'Requests limit_req would have rejected (limit_req_dry_run).',
  };
  for (const [field, help] of Object.entries(limitReqHelp) as [keyof LimitReqCounters, string][]) {
    counter(`limit_req_${field}_total`, help, ['zone'], (c, s) => {
      for (const [zone, counters] of s.limitReqs) c.inc({ zone }, counters[field]);
    });
  }

  const sync = (name: string, help: string, value: (z: ZoneSyncStatus) => number) =>
    gauge(name, help, [], (g, s) => {
      if (s.zoneSync !== null) g.set(value(s.zoneSync));
    });
  const syncCounter = (name: string, help: string, value: (z: ZoneSyncStatus) => number) =>
    counter(name, help, [], (c, s) => {
      if (s.zoneSync !== null) c.inc(value(s.zoneSync));
    });
  sync(
    'zone_sync_nodes_online',
    'Peers this node has an established connection with.',
    (z) => z.status.nodes_online,
  );
  sync('zone_sync_ready', 'Whether every peer snapshot of every synced zone is in (1) or not (0).', (z) =>
    z.zonesync.ready ? 1 : 0,
  );
  syncCounter('zone_sync_msgs_in_total', 'zone_sync messages received.', (z) => z.status.msgs_in);
  syncCounter('zone_sync_msgs_out_total', 'zone_sync messages sent.', (z) => z.status.msgs_out);
  syncCounter('zone_sync_bytes_in_total', 'zone_sync bytes received.', (z) => z.status.bytes_in);
  syncCounter('zone_sync_bytes_out_total', 'zone_sync bytes sent.', (z) => z.status.bytes_out);
  const syncZone = (name: string, help: string, key: 'records_pending' | 'records_total') =>
    gauge(name, help, ['zone'], (g, s) => {
      for (const [zone, v] of Object.entries(s.zoneSync?.zones ?? {})) g.set({ zone }, v[key]);
    });
  syncZone(
    'zone_sync_records_pending',
    'Records of the synced zone not yet sent to every peer.',
    'records_pending',
  );
  syncZone('zone_sync_records', 'Records of the synced zone.', 'records_total');
  return registry;
}

// One registry per process, built at the first `metrics` location: the default metrics' observers
// start then, and reloads reuse it.
let registry: Registry | null = null;

async function scrape(r: HttpRequest, requestId: VariableGetter): Promise<PhaseResult> {
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    const err = methodNotSupported();
    return r.send(err.status, Buffer.from(errorBody(err, requestId(r) ?? '')), 'application/json');
  }
  const reg = registry as Registry;
  current = null;
  const text = await reg.metrics();
  current = null;
  return r.send(200, Buffer.from(text), reg.contentType);
}

export const metricsModule: Module = {
  name: MODULE,
  directives: [{ name: 'metrics', contexts: ['location'], args: [0], parse: () => true }],
  http: {
    init(http, cx) {
      cycles.set(mainOf(http), { http, zones: cx.zones });
    },
    location(loc, cx) {
      // As `api`: only the location that says it answers, not nested locations or `if` blocks.
      if (loc.block.context !== 'location' || find(loc.block, 'metrics') === undefined) return undefined;
      const requestId = cx.variables.getter('request_id');
      if (requestId === undefined) throw new Error('$request_id is not registered');
      registry ??= buildRegistry();
      loc.contentHandler = (r) => scrape(r, requestId);
      return undefined;
    },
  },
  lifecycle: {
    live(main) {
      const cycle = cycles.get(main);
      live = cycle === undefined ? null : { http: cycle.http, zones: cycle.zones.resolve() };
    },
  },
};
