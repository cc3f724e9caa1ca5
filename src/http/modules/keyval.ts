// ngx_http_keyval_module (NGINX Plus): `keyval_zone` declares a zone of key-value pairs, `keyval key
// $variable zone=name` defines $variable as the value the evaluated key finds there (by the zone's
// type: exact, longest IP prefix, longest string prefix). Writing the variable (`set`) stores a
// pair. Pairs are managed through the API (src/api/keyval_endpoints.ts) and, with `state=`, kept in
// a file across restarts (keyval_state.ts).
//
// Each cycle gets its own views of the zones (with their indexes), built once its zones exist; the
// zones themselves, and the state writers, belong to the zones and outlive reloads with them. A
// zone's state file is loaded only when the zone is new (at start, or when a reload created it).
import { keyvalEndpoints } from '../../api/keyval_endpoints.ts';
import { registerApiEndpoint } from '../../api/router.ts';
import { findAll } from '../../config/tree.ts';
import { type ConfBlock, type ConfEntry, ConfigError, invalid } from '../../config/types.ts';
import type { ErrorLog } from '../../core/error_log.ts';
import type { Module } from '../../core/module.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { Zone } from '../../zones/zone.ts';
import type { BuildContext } from '../types.ts';
import { type KeyvalVariableConf, parseKeyval, parseKeyvalZone } from './keyval_conf.ts';
import { loadState, type StateLog, StateWriter } from './keyval_state.ts';
import { KeyvalStore, type KeyvalZoneConf, keyvalZoneType } from './keyval_store.ts';

/** One cycle's keyval zones; `stores` exist once the cycle's zones are built. */
class CycleKeyval {
  readonly confs = new Map<string, KeyvalZoneConf>();
  private built: Map<string, KeyvalStore> | null = null;
  private readonly cx: BuildContext;
  constructor(cx: BuildContext) {
    this.cx = cx;
  }

  get log(): ErrorLog {
    return this.cx.log;
  }

  /** The views of this cycle's zones, built (and fresh zones loaded from their state) on first use. */
  stores(): ReadonlyMap<string, KeyvalStore> {
    if (this.built !== null) return this.built;
    const built = new Map<string, KeyvalStore>();
    for (const conf of this.confs.values()) {
      const zone = this.cx.zones.get(conf.name);
      if (!seenZones.has(zone)) {
        seenZones.add(zone);
        if (conf.state !== null)
          loadState(zone, conf.state, (level, message) => this.log.log(level, message));
      }
      built.set(conf.name, new KeyvalStore(zone, conf));
    }
    this.built = built;
    return built;
  }

  store(name: string): KeyvalStore {
    return this.stores().get(name) as KeyvalStore;
  }

  close(): void {
    for (const store of this.built?.values() ?? []) store.close();
  }
}

const cycles = new WeakMap<ConfBlock, CycleKeyval>();
/** Zones some cycle has already taken over: their state was loaded (or they had none to load). */
const seenZones = new WeakSet<Zone>();
/** The state writers, one per zone with `state=` in the live cycle. */
const writers = new Map<Zone, StateWriter>();
let live: CycleKeyval | null = null;
const NONE: ReadonlyMap<string, KeyvalStore> = new Map();

for (const endpoint of keyvalEndpoints('http', () => live?.stores() ?? NONE)) registerApiEndpoint(endpoint);
// The stream block comes later: its keyvals list stays empty until then.
for (const endpoint of keyvalEndpoints('stream', () => NONE)) registerApiEndpoint(endpoint);

/** Key texts are compiled once every module's init has declared its variables: at the first server. */
let pending: (() => void) | null = null;

function defineVariable(cycle: CycleKeyval, conf: KeyvalVariableConf, entry: ConfEntry, cx: BuildContext) {
  let key: ComplexValue | null = null;
  const name = conf.variable.toLowerCase();
  try {
    cx.variables.add({
      name,
      get: (r) => cycle.store(conf.zone).lookup(key!.evaluate(r)),
      // Writing the variable stores a pair (NGINX Plus 1.15.10, meant for njs; `set` does it too).
      set(r, value) {
        const store = cycle.store(conf.zone);
        if (store.set(key!.evaluate(r), value) === 'full')
          r.logError('error', `keyval zone "${conf.zone}" is full`);
      },
    });
  } catch {
    throw new ConfigError(`the duplicate "${name}" variable`, entry.file, entry.line);
  }
  return () => {
    key = cx.variables.compile(conf.key, entry);
  };
}

function init(http: ConfBlock, cx: BuildContext): void {
  const main = http.parent ?? http;
  const cycle = new CycleKeyval(cx);
  cycles.set(main, cycle);
  for (const entry of findAll(http, 'keyval_zone')) {
    const conf = entry.value as KeyvalZoneConf;
    if (cycle.confs.has(conf.name)) invalid(`duplicate zone "${conf.name}"`, entry);
    cycle.confs.set(conf.name, conf);
    cx.zones.declare({
      name: conf.name,
      type: keyvalZoneType,
      size: conf.size,
      sync: conf.sync,
      file: entry.file,
      line: entry.line,
    });
  }
  const compiles: (() => void)[] = [];
  for (const entry of findAll(http, 'keyval')) {
    const conf = entry.value as KeyvalVariableConf;
    // A zone no keyval_zone sizes fails as nginx's `zero size shared memory zone "x"`.
    if (!cycle.confs.has(conf.zone))
      cx.zones.declare({ name: conf.zone, type: keyvalZoneType, size: 0, sync: false });
    compiles.push(defineVariable(cycle, conf, entry, cx));
  }
  pending = () => {
    for (const compile of compiles) compile();
  };
}

/** A cycle went live: the API serves its zones, and its state files are written from now on. */
function goLive(main: ConfBlock): void {
  const cycle = cycles.get(main);
  live = cycle ?? null;
  const wanted = new Map<Zone, KeyvalZoneConf>();
  for (const store of cycle?.stores().values() ?? []) {
    if (store.conf.state !== null) wanted.set(store.zone, store.conf);
  }
  for (const [zone, writer] of writers) {
    if (wanted.has(zone)) continue;
    writer.close();
    writers.delete(zone);
  }
  for (const [zone, conf] of wanted) {
    const log: StateLog = (level, message) => cycle?.log.log(level, message);
    const writer = writers.get(zone);
    if (writer === undefined) {
      writers.set(zone, new StateWriter(zone, conf.state as string, log));
    } else {
      // A reload may move the file: the zone's pairs go to the new one.
      if (writer.file !== conf.state) writer.schedule();
      writer.file = conf.state as string;
      writer.log = log;
    }
  }
}

export const keyvalModule: Module = {
  name: 'http_keyval',
  directives: [
    { name: 'keyval_zone', contexts: ['http'], args: '1+', multiple: true, parse: parseKeyvalZone },
    { name: 'keyval', contexts: ['http'], args: [3], multiple: true, parse: parseKeyval },
  ],
  http: {
    init,
    server() {
      const compile = pending;
      pending = null;
      compile?.();
      return undefined;
    },
  },
  lifecycle: {
    live: goLive,
    release(main) {
      const cycle = cycles.get(main);
      if (cycle === undefined || cycle === live) return;
      cycle.close();
      cycles.delete(main);
    },
    exit() {
      for (const writer of writers.values()) writer.flush();
    },
  },
};
