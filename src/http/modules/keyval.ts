// ngx_http_keyval_module and ngx_stream_keyval_module (NGINX Plus): `keyval_zone` declares a zone of
// key-value pairs, `keyval key $variable zone=name` defines $variable as the value the evaluated key
// finds there (by the zone's type: exact, longest IP prefix, longest string prefix). Writing an http
// variable (`set`) stores a pair. Pairs are managed through the API (src/api/keyval_endpoints.ts:
// `/http/keyvals/` and `/stream/keyvals/`) and, with `state=`, kept in a file across restarts
// (keyval_state.ts). The two modules' zones are of different types, as nginx's shared memory tags
// differ: one name cannot be a zone of both.
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
import type { StreamComplexValue } from '../../stream/variables.ts';
import { streamVariables } from '../../stream/variables.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { Zone } from '../../zones/zone.ts';
import type { BuildContext } from '../types.ts';
import { type KeyvalVariableConf, parseKeyval, parseKeyvalZone } from './keyval_conf.ts';
import { loadState, type StateLog, StateWriter } from './keyval_state.ts';
import { KeyvalStore, type KeyvalZoneConf, keyvalZoneType, streamKeyvalZoneType } from './keyval_store.ts';

type Kind = 'http' | 'stream';
const ZONE_TYPES = { http: keyvalZoneType, stream: streamKeyvalZoneType };

/** One cycle's keyval zones, of `http` and of `stream`; `stores` exist once its zones are built. */
class CycleKeyval {
  readonly confs: Record<Kind, Map<string, KeyvalZoneConf>> = { http: new Map(), stream: new Map() };
  private readonly built: Record<Kind, Map<string, KeyvalStore> | null> = { http: null, stream: null };
  private readonly cx: BuildContext;
  constructor(cx: BuildContext) {
    this.cx = cx;
  }

  get log(): ErrorLog {
    return this.cx.log;
  }

  /** The views of this cycle's zones, built (and fresh zones loaded from their state) on first use. */
  stores(kind: Kind): ReadonlyMap<string, KeyvalStore> {
    const done = this.built[kind];
    if (done !== null) return done;
    const built = new Map<string, KeyvalStore>();
    for (const conf of this.confs[kind].values()) {
      const zone = this.cx.zones.get(conf.name);
      if (!seenZones.has(zone)) {
        seenZones.add(zone);
        if (conf.state !== null)
          loadState(zone, conf.state, (level, message) => this.log.log(level, message));
      }
      built.set(conf.name, new KeyvalStore(zone, conf));
    }
    this.built[kind] = built;
    return built;
  }

  store(kind: Kind, name: string): KeyvalStore {
    return this.stores(kind).get(name) as KeyvalStore;
  }

  close(): void {
    for (const kind of ['http', 'stream'] as const)
      for (const store of this.built[kind]?.values() ?? []) store.close();
  }
}

const cycles = new WeakMap<ConfBlock, CycleKeyval>();
/** Zones some cycle has already taken over: their state was loaded (or they had none to load). */
const seenZones = new WeakSet<Zone>();
/** The state writers, one per zone with `state=` in the live cycle. */
const writers = new Map<Zone, StateWriter>();
let live: CycleKeyval | null = null;
const NONE: ReadonlyMap<string, KeyvalStore> = new Map();

for (const kind of ['http', 'stream'] as const)
  for (const endpoint of keyvalEndpoints(kind, () => live?.stores(kind) ?? NONE))
    registerApiEndpoint(endpoint);

/** Key texts are compiled once every module's init has declared its variables: at the first server. */
let pending: (() => void) | null = null;

function defineVariable(cycle: CycleKeyval, conf: KeyvalVariableConf, entry: ConfEntry, cx: BuildContext) {
  let key: ComplexValue | null = null;
  const name = conf.variable.toLowerCase();
  try {
    cx.variables.add({
      name,
      get: (r) => cycle.store('http', conf.zone).lookup(key!.evaluate(r)),
      // Writing the variable stores a pair (NGINX Plus 1.15.10, meant for njs; `set` does it too).
      set(r, value) {
        const store = cycle.store('http', conf.zone);
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

/** The cycle's keyval state, shared by the `http` and `stream` blocks of one configuration. */
function cycleOf(main: ConfBlock, cx: BuildContext): CycleKeyval {
  let cycle = cycles.get(main);
  if (cycle === undefined) cycles.set(main, (cycle = new CycleKeyval(cx)));
  return cycle;
}

/** Declare the `keyval_zone`s of `block` (http or stream) and the zones its `keyval`s use. */
function declareZones(kind: Kind, block: ConfBlock, cycle: CycleKeyval, cx: BuildContext): ConfEntry[] {
  const confs = cycle.confs[kind];
  for (const entry of findAll(block, 'keyval_zone')) {
    const conf = entry.value as KeyvalZoneConf;
    if (confs.has(conf.name)) invalid(`duplicate zone "${conf.name}"`, entry);
    confs.set(conf.name, conf);
    cx.zones.declare({
      name: conf.name,
      type: ZONE_TYPES[kind],
      size: conf.size,
      sync: conf.sync,
      file: entry.file,
      line: entry.line,
    });
  }
  const entries = findAll(block, 'keyval');
  for (const entry of entries) {
    const conf = entry.value as KeyvalVariableConf;
    // A zone no keyval_zone sizes fails as nginx's `zero size shared memory zone "x"`.
    if (!confs.has(conf.zone))
      cx.zones.declare({ name: conf.zone, type: ZONE_TYPES[kind], size: 0, sync: false });
  }
  return entries;
}

function init(http: ConfBlock, cx: BuildContext): void {
  const cycle = cycleOf(http.parent ?? http, cx);
  const compiles = declareZones('http', http, cycle, cx).map((entry) =>
    defineVariable(cycle, entry.value as KeyvalVariableConf, entry, cx),
  );
  pending = () => {
    for (const compile of compiles) compile();
  };
}

/** The stream module: variables in the stream block's registry, keys compiled once all are there. */
function initStream(stream: ConfBlock, cx: BuildContext): void {
  const cycle = cycleOf(stream.parent ?? stream, cx);
  const variables = streamVariables(stream);
  const keys: (() => void)[] = [];
  for (const entry of declareZones('stream', stream, cycle, cx)) {
    const conf = entry.value as KeyvalVariableConf;
    const name = conf.variable.toLowerCase();
    let key: StreamComplexValue | null = null;
    const added = variables.add({
      name,
      get: (s) => cycle.store('stream', conf.zone).lookup(key!.evaluate(s)),
    });
    if (!added) throw new ConfigError(`the duplicate "${name}" variable`, entry.file, entry.line);
    keys.push(() => {
      key = variables.compile(conf.key, entry);
    });
  }
  for (const compile of keys) compile();
}

/** A cycle went live: the API serves its zones, and its state files are written from now on. */
function goLive(main: ConfBlock): void {
  const cycle = cycles.get(main);
  live = cycle ?? null;
  // A zone the reload made anew loads its state file just below: what the old zones changed
  // lately (a write is debounced) must be in the file by then.
  for (const writer of writers.values()) writer.flush();
  const wanted = new Map<Zone, KeyvalZoneConf>();
  for (const kind of ['http', 'stream'] as const) {
    for (const store of cycle?.stores(kind).values() ?? []) {
      if (store.conf.state !== null) wanted.set(store.zone, store.conf);
    }
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
    { name: 'keyval_zone', contexts: ['http', 'stream'], args: '1+', multiple: true, parse: parseKeyvalZone },
    { name: 'keyval', contexts: ['http', 'stream'], args: [3], multiple: true, parse: parseKeyval },
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
  stream: { init: initStream },
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
