// nginx's ngx_http_map_module: `map $source $result { ... }` defines $result, evaluated when first
// read in a request and then cached in r.vars (not with `volatile`). Keys: exact strings (any
// case), `hostnames` wildcards, then `~regex`/`~*regex` in configuration order, then `default`.
// Values may hold variables, and the captures of the regex that matched.
import { findAll } from '../../config/tree.ts';
import type { ConfEntry } from '../../config/types.ts';
import { ConfigError, invalid } from '../../config/types.ts';
import { numberDirective } from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { compileRegex } from '../../core/regex.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { BuildContext, HttpRequest } from '../types.ts';
import { MapKeys } from './map_table.ts';
import { type CaptureRegex, compileCaptureRegex, execCaptureRegex } from './regex_captures.ts';

/** A `map` block as parsed: value texts, compiled into ComplexValues once variables are known. */
export interface MapSpec {
  readonly source: string;
  /** The result variable's name, without `$`. */
  readonly result: string;
  readonly hostnames: boolean;
  readonly volatile: boolean;
  readonly defaultValue: string | null;
  readonly keys: MapKeys<string>;
  readonly regexes: readonly { pattern: string; caseless: boolean; value: string; entry: ConfEntry }[];
}

/** A map ready to evaluate. */
export interface CompiledMap {
  readonly source: ComplexValue;
  readonly hostnames: boolean;
  readonly keys: MapKeys<string>;
  /** Compiled values by their text. */
  readonly values: ReadonlyMap<string, ComplexValue>;
  readonly regexes: readonly { rx: CaptureRegex; value: ComplexValue }[];
  readonly defaultValue: ComplexValue | null;
}

/** Check a map block's lines as ngx_http_map does (the parser has already expanded `include`). */
export function parseMap(e: ConfEntry): MapSpec {
  const [source, result] = e.args;
  if (!result.startsWith('$')) invalid(`invalid variable name "${result}"`, e);
  let hostnames = false;
  let volatile = false;
  let defaultValue: string | null = null;
  const keys = new MapKeys<string>();
  const regexes: MapSpec['regexes'][number][] = [];
  for (const line of e.block?.entries ?? []) {
    const words = [line.name, ...line.args];
    if (words.length === 1 && words[0] === 'hostnames') hostnames = true;
    else if (words.length === 1 && words[0] === 'volatile') volatile = true;
    else if (words.length !== 2) invalid('invalid number of the map parameters', line);
    else if (words[0] === 'default') {
      if (defaultValue !== null) invalid('duplicate default map parameter', line);
      defaultValue = words[1];
    } else if (words[0].startsWith('~')) {
      const caseless = words[0][1] === '*';
      const pattern = words[0].slice(caseless ? 2 : 1);
      compileRegex(pattern, caseless, line);
      regexes.push({ pattern, caseless, value: words[1], entry: line });
    } else {
      // A leading backslash lets a key start with `~` or be the word "default".
      const key = words[0].startsWith('\\') ? words[0].slice(1) : words[0];
      const added = keys.add(key, words[1], hostnames);
      if (added === 'invalid') invalid(`invalid hostname or wildcard "${key}"`, line);
      if (added === 'conflict') invalid(`conflicting parameter "${key}"`, line);
    }
  }
  return { source, result: result.slice(1), hostnames, volatile, defaultValue, keys, regexes };
}

/** The map's value for the request (ngx_http_map_variable), uncached. */
export function evaluateMap(r: HttpRequest, map: CompiledMap): string {
  let subject = map.source.evaluate(r);
  if (map.hostnames && subject.endsWith('.')) subject = subject.slice(0, -1);
  const text = map.keys.find(subject);
  let value = text === undefined ? undefined : map.values.get(text);
  if (value === undefined && subject !== '') {
    for (const x of map.regexes) {
      if (execCaptureRegex(r, x.rx, subject)) {
        value = x.value;
        break;
      }
    }
  }
  return (value ?? map.defaultValue)?.evaluate(r) ?? '';
}

/** Compile a parsed map's values; `regexes` were compiled at init (their named groups declared). */
function compileMap(spec: MapSpec, entry: ConfEntry, regexes: CaptureRegex[], cx: BuildContext): CompiledMap {
  const values = new Map<string, ComplexValue>();
  for (const line of entry.block?.entries ?? []) {
    const text = line.args[0];
    if (line.args.length === 1 && !values.has(text)) values.set(text, cx.variables.compile(text, line));
  }
  return {
    source: cx.variables.compile(spec.source, entry),
    hostnames: spec.hostnames,
    keys: spec.keys,
    values,
    regexes: spec.regexes.map((x, i) => ({ rx: regexes[i], value: values.get(x.value)! })),
    defaultValue: spec.defaultValue === null ? null : values.get(spec.defaultValue)!,
  };
}

interface MapVariable {
  map: CompiledMap | null;
  volatile: boolean;
}

// Values are compiled once every module's init has declared its variables (map values may use
// `set` variables): at the first location hook of the cycle, which comes before any script.
let pending: (() => void) | null = null;

function defineMaps(entries: ConfEntry[], cx: BuildContext): void {
  const byName = new Map<string, MapVariable>();
  const compiles: (() => void)[] = [];
  for (const entry of entries) {
    const spec = entry.value as MapSpec;
    const key = spec.result.toLowerCase();
    const regexes = spec.regexes.map((x) =>
      compileCaptureRegex(x.pattern, x.caseless, x.entry, cx.variables),
    );
    let v = byName.get(key);
    if (v === undefined) {
      const state: MapVariable = { map: null, volatile: false };
      byName.set(key, (v = state));
      addMapVariable(key, state, entry, cx);
    }
    // A later map of the same variable replaces an earlier one, as nginx's get_handler does.
    const state = v;
    state.volatile = spec.volatile;
    compiles.push(() => {
      state.map = compileMap(spec, entry, regexes, cx);
    });
  }
  pending = () => {
    for (const compile of compiles) compile();
  };
}

function addMapVariable(key: string, state: MapVariable, entry: ConfEntry, cx: BuildContext): void {
  try {
    cx.variables.add({
      name: key,
      get(r) {
        const cached = r.vars.get(key);
        if (cached !== undefined) return cached;
        const value = evaluateMap(r, state.map!);
        if (!state.volatile) r.vars.set(key, value);
        return value;
      },
      // Map variables are changeable: `set $result ...` overrides the map for the request.
      set(r, value) {
        r.vars.set(key, value);
      },
    });
  } catch {
    throw new ConfigError(`the duplicate "${key}" variable`, entry.file, entry.line);
  }
}

export const mapModule: Module = {
  name: 'http_map',
  directives: [
    {
      name: 'map',
      contexts: ['http'],
      args: [2],
      block: 'map',
      rawBlock: true,
      multiple: true,
      parse: parseMap,
    },
    numberDirective('map_hash_bucket_size', ['http']),
    numberDirective('map_hash_max_size', ['http']),
  ],
  http: {
    init(http, cx) {
      defineMaps(findAll(http, 'map'), cx);
    },
    location() {
      const compile = pending;
      pending = null;
      compile?.();
      return undefined;
    },
  },
};
