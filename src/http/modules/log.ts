// ngx_http_log_module: `log_format`, `access_log`, `open_log_file_cache`, and `$remote_user`.
// Formats and logs are compiled once per cycle (init); each location gets a log-phase handler with
// the access_log list nginx's merge gives it. Files live in log_file.ts; formats in log_format.ts.
import { enclosing, find, inherited } from '../../config/tree.ts';
import type { ConfBlock, ConfEntry, Context, DirectiveSpec } from '../../config/types.ts';
import { ConfigError, invalid } from '../../config/types.ts';
import { ngxAtoi, ngxSize, ngxTime } from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import type { VariableGetter, VariableRegistry } from '../../variables/registry.ts';
import type { ComplexValue, VariableDef } from '../../variables/types.ts';
import type { BuildContext, HttpRequest, LocationConf, PhaseHandler } from '../types.ts';
import { OK } from '../types.ts';
import {
  acquireLogFile,
  type BufferOptions,
  closeAll,
  DynamicLogFiles,
  type LogFile,
  releaseCycleFiles,
  reopenAll,
} from './log_file.ts';
import {
  COMBINED_TEXT,
  compileFormat,
  type LineBuilder,
  type LogFormatSpec,
  parseFormat,
} from './log_format.ts';

/** One `access_log` as written (entry.value). */
export type AccessLogSpec =
  | { readonly off: true }
  | {
      readonly off: false;
      readonly path: string;
      readonly format: string;
      readonly buffer: BufferOptions | null;
      /** `if=` text, null when absent. */
      readonly condition: string | null;
    };

function parseAccessLog(e: ConfEntry): AccessLogSpec {
  const [path, format = 'combined', ...params] = e.args;
  if (path === 'off') {
    if (e.args.length > 1) invalid(`invalid parameter "${e.args[1]}"`, e);
    return { off: true };
  }
  if (path.startsWith('syslog:')) invalid('logging to syslog is not supported by zonesync', e);
  let size = 0;
  let flush = 0;
  let gzip = 0;
  let condition: string | null = null;
  for (const p of params) {
    if (p.startsWith('buffer=')) {
      const s = p.slice(7);
      size = ngxSize(s) ?? 0;
      if (size === 0) invalid(`invalid buffer size "${s}"`, e);
    } else if (p.startsWith('flush=')) {
      const s = p.slice(6);
      flush = ngxTime(s, false) ?? 0;
      if (flush === 0) invalid(`invalid flush time "${s}"`, e);
    } else if (p === 'gzip' || p.startsWith('gzip=')) {
      if (size === 0) size = 64 * 1024;
      if (p === 'gzip') gzip = 1;
      else {
        const s = p.slice(5);
        gzip = ngxAtoi(s) ?? 0;
        if (gzip < 1 || gzip > 9) invalid(`invalid compression level "${s}"`, e);
      }
    } else if (p.startsWith('if=')) {
      condition = p.slice(3);
    } else {
      invalid(`invalid parameter "${p}"`, e);
    }
  }
  if (flush > 0 && size === 0) invalid(`no buffer is defined for access_log "${path}"`, e);
  if (size > 0 && path.includes('$')) invalid('buffered logs cannot have variables in name', e);
  return { off: false, path, format, buffer: size > 0 ? { size, flush, gzip } : null, condition };
}

/** `open_log_file_cache`: checked as nginx does, then unused (our variable-path logs keep a small LRU). */
function parseOpenLogFileCache(e: ConfEntry): null {
  let max = 0;
  let off = false;
  for (const p of e.args) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq + 1);
    const val = p.slice(eq + 1);
    let ok: boolean;
    if (key === 'max=') ok = (max = ngxAtoi(val) ?? -1) >= 0;
    else if (key === 'min_uses=') ok = ngxAtoi(val) !== null;
    else if (key === 'inactive=' || key === 'valid=') ok = ngxTime(val, true) !== null;
    else ok = off = p === 'off';
    if (!ok) invalid(`invalid "open_log_file_cache" parameter "${p}"`, e);
  }
  if (!off && max === 0) invalid('"open_log_file_cache" must have "max" parameter', e);
  return null;
}

/** One compiled `access_log` of a cycle. */
interface AccessLog {
  readonly line: LineBuilder;
  readonly condition: ComplexValue | null;
  readonly file: LogFile | null;
  readonly dynamicPath: ComplexValue | null;
  readonly dynamic: DynamicLogFiles | null;
}

/** What one cycle's `http` block compiled to. */
interface LogCycle {
  readonly logs: Map<ConfEntry, AccessLog>;
  readonly dynamic: DynamicLogFiles[];
  /** `logs/access.log combined`, opened when the first location without any access_log needs it. */
  defaultLog: AccessLog | null;
  readonly formats: LogFormatSpec[];
  readonly compiled: Map<LogFormatSpec, LineBuilder>;
}

const cycles = new WeakMap<ConfBlock, LogCycle>();

const COMBINED: LogFormatSpec = parseFormat('combined', [COMBINED_TEXT]);

/** Entries of `block` and its nested blocks, in file order. */
function* walk(block: ConfBlock): Generator<ConfEntry> {
  for (const e of block.entries) {
    yield e;
    if (e.block) yield* walk(e.block);
  }
}

/** nginx finds formats case-insensitively, `combined` first, among those defined above the access_log. */
function findFormat(formats: readonly LogFormatSpec[], name: string): LogFormatSpec | undefined {
  const lower = name.toLowerCase();
  return formats.find((f) => f.name.toLowerCase() === lower);
}

/** A format's variable; an unknown one fails the configuration as nginx reports it, without a position. */
function variableGetter(registry: VariableRegistry, name: string): VariableGetter {
  const getter = registry.getter(name);
  if (getter === undefined) throw new ConfigError(`unknown "${name.toLowerCase()}" variable`);
  return getter;
}

function formatBuilder(state: LogCycle, spec: LogFormatSpec, cx: BuildContext): LineBuilder {
  let line = state.compiled.get(spec);
  if (line === undefined) {
    line = compileFormat(spec, (name) => variableGetter(cx.variables, name));
    state.compiled.set(spec, line);
  }
  return line;
}

function fullName(cx: BuildContext, path: string): string {
  if (path.startsWith('/')) return path;
  return cx.prefix.endsWith('/') ? cx.prefix + path : `${cx.prefix}/${path}`;
}

function openConstant(path: string, http: ConfBlock, cx: BuildContext): LogFile {
  try {
    return acquireLogFile(path, http, cx.log);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function compileAccessLog(
  e: ConfEntry,
  spec: Extract<AccessLogSpec, { off: false }>,
  format: LogFormatSpec,
  http: ConfBlock,
  state: LogCycle,
  cx: BuildContext,
): AccessLog {
  const line = formatBuilder(state, format, cx);
  const condition = spec.condition === null ? null : cx.variables.compile(spec.condition, e);
  if (spec.path.includes('$')) {
    const dynamic = new DynamicLogFiles(cx.log);
    state.dynamic.push(dynamic);
    return {
      line,
      condition,
      file: null,
      dynamicPath: cx.variables.compile(fullName(cx, spec.path), e),
      dynamic,
    };
  }
  const file = openConstant(cx.resolvePath(spec.path), http, cx);
  if (spec.buffer !== null && !file.setBuffer(http, spec.buffer)) {
    invalid(`access_log "${spec.path}" already defined with conflicting parameters`, e);
  }
  return { line, condition, file, dynamicPath: null, dynamic: null };
}

function init(http: ConfBlock, cx: BuildContext): void {
  const state: LogCycle = {
    logs: new Map(),
    dynamic: [],
    defaultLog: null,
    formats: [COMBINED],
    compiled: new Map(),
  };
  cycles.set(http, state);
  try {
    for (const e of walk(http)) {
      if (e.name === 'log_format') {
        const spec = e.value as LogFormatSpec;
        if (state.formats.some((f) => f.name === spec.name))
          invalid(`duplicate "log_format" name "${spec.name}"`, e);
        state.formats.push(spec);
        // nginx compiles every format, used or not: an unknown variable fails the configuration.
        formatBuilder(state, spec, cx);
      } else if (e.name === 'access_log') {
        const spec = e.value as AccessLogSpec;
        if (spec.off) continue;
        const format = findFormat(state.formats, spec.format);
        if (format === undefined) invalid(`unknown log format "${spec.format}"`, e);
        state.logs.set(e, compileAccessLog(e, spec, format, http, state, cx));
      }
    }
  } catch (err) {
    releaseCycle(http);
    throw err;
  }
}

function writeLog(r: HttpRequest, log: AccessLog): void {
  if (log.condition !== null) {
    const v = log.condition.evaluate(r);
    if (v === '' || v === '0') return;
  }
  const line = log.line(r) + '\n';
  if (log.file !== null) {
    log.file.append(line);
    return;
  }
  const file = log.dynamic!.get(log.dynamicPath!.evaluate(r));
  if (file instanceof Error) r.logError('crit', file.message);
  else file.append(line);
}

function location(loc: LocationConf, cx: BuildContext) {
  const http = enclosing(loc.block, 'http');
  const state = http && cycles.get(http);
  if (!http || !state) return undefined;
  const entries = inherited(loc.block, 'access_log');
  // nginx: `access_log off` anywhere at the nearest level with access_log directives wins.
  if (entries.some((e) => (e.value as AccessLogSpec).off)) return undefined;
  let logs: AccessLog[];
  if (entries.length > 0) logs = entries.map((e) => state.logs.get(e)!);
  else {
    state.defaultLog ??= {
      line: formatBuilder(state, COMBINED, cx),
      condition: null,
      file: openConstant(cx.resolvePath('logs/access.log'), http, cx),
      dynamicPath: null,
      dynamic: null,
    };
    logs = [state.defaultLog];
  }
  const handler: PhaseHandler = (r) => {
    for (let i = 0; i < logs.length; i++) writeLog(r, logs[i]);
    return OK;
  };
  return [{ phase: 'log' as const, handler }];
}

/**
 * A cycle is discarded (the old one after a reload, or a new one that failed to build): close the
 * files only it used. `http` is that cycle's `http` block.
 */
export function releaseCycle(http: ConfBlock): void {
  const state = cycles.get(http);
  releaseCycleFiles(http, state?.dynamic ?? []);
  cycles.delete(http);
}

/** nginx's ngx_http_auth_basic_user: the user of `Authorization: Basic`, undefined when none is valid. */
export function basicAuthUser(r: HttpRequest): string | undefined {
  const auth = r.header('authorization');
  if (auth === undefined || auth.length < 6 || auth.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  let encoded = auth.slice(6).replace(/^ +/, '');
  const eq = encoded.indexOf('=');
  if (eq >= 0) encoded = encoded.slice(0, eq);
  // ngx_decode_base64: only the base64 alphabet before the padding, and never a lone trailing char.
  if (encoded === '' || !/^[A-Za-z0-9+/]*$/.test(encoded) || encoded.length % 4 === 1) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : undefined;
}

const remoteUser: VariableDef = { name: 'remote_user', get: basicAuthUser };

const ACCESS_LOG_CONTEXTS: Context[] = ['http', 'server', 'location', 'if_location', 'limit_except'];

const directives: DirectiveSpec[] = [
  {
    name: 'log_format',
    contexts: ['http'],
    args: '2+',
    multiple: true,
    parse: (e) => parseFormat(e.args[0], e.args.slice(1), e),
  },
  { name: 'access_log', contexts: ACCESS_LOG_CONTEXTS, args: '1+', multiple: true, parse: parseAccessLog },
  {
    name: 'open_log_file_cache',
    contexts: ['http', 'server', 'location'],
    args: [1, 2, 3, 4],
    parse: parseOpenLogFileCache,
  },
];

export const logModule: Module = {
  name: 'http_log',
  directives,
  variables: [remoteUser],
  http: { init, location },
  lifecycle: {
    reopen: reopenAll,
    exit: closeAll,
    release: (main) => {
      const http = find(main, 'http')?.block;
      if (http) releaseCycle(http);
    },
  },
};
