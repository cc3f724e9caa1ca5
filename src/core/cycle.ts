// A cycle is one loaded configuration: the parsed tree, its error log and the runtimes built from it.
// Reload builds a new cycle beside the running one; only a cycle that built completely goes live.
import path from 'node:path';
import { parseConfig } from '../config/parser.ts';
import { find, findAll } from '../config/tree.ts';
import type { ConfBlock } from '../config/types.ts';
import { ConfigError } from '../config/types.ts';
import { buildHttp, type HttpRuntime } from '../http/build.ts';
import type { BuildContext } from '../http/types.ts';
import { modules } from '../modules.ts';
import { buildStream, initStream, type StreamRuntime } from '../stream/build.ts';
import { httpCoreVariables } from '../variables/http_core.ts';
import { VariableRegistry } from '../variables/registry.ts';
import type { ZoneRegistry } from '../zones/registry.ts';
import { CycleZones } from './cycle_zones.ts';
import { ErrorLog, type ErrorLogTarget } from './error_log.ts';

export interface CycleOptions {
  /** Absolute path of the main configuration file. */
  readonly confFile: string;
  /** Absolute prefix, with a trailing slash. */
  readonly prefix: string;
  /** `-g` directives. */
  readonly params?: string;
  /** `-e`: the error log used until (and instead of) the configured one. */
  readonly errorLogOverride?: string;
  /** `--listen-address`: where port-only and wildcard listens bind (several instances on one host). */
  readonly listenAddress?: string;
}

export interface Cycle {
  readonly options: CycleOptions;
  readonly main: ConfBlock;
  readonly files: { path: string; text: string }[];
  readonly log: ErrorLog;
  readonly pidPath: string;
  readonly http: HttpRuntime | null;
  readonly stream: StreamRuntime | null;
  /** Shared zones, carried over from the previous cycle where the reload rules allow. */
  readonly zones: ZoneRegistry;
}

export function resolveAgainst(prefix: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(prefix, p);
}

/** Parse only: for `-t`, `-s` (the pid path) and the first step of a reload. */
export function parseCycleConfig(options: CycleOptions): {
  main: ConfBlock;
  files: { path: string; text: string }[];
} {
  const directives = modules.flatMap((m) => m.directives);
  return parseConfig({ file: options.confFile, prefix: options.prefix, directives, params: options.params });
}

export function pidPathOf(main: ConfBlock, prefix: string): string {
  const pid = find(main, 'pid');
  return resolveAgainst(prefix, pid ? pid.args[0] : 'logs/zonesync.pid');
}

/** The main-level error_log targets; `-e` stands in for nginx's compiled-in default only. */
function errorLogTargets(main: ConfBlock, options: CycleOptions): ErrorLogTarget[] {
  const configured = findAll(main, 'error_log')
    .map((e) => e.value as ErrorLogTarget | null)
    .filter((t): t is ErrorLogTarget => t !== null);
  if (configured.length > 0) return configured;
  const fallback = options.errorLogOverride ?? 'logs/error.log';
  return [
    { path: fallback === 'stderr' ? 'stderr' : resolveAgainst(options.prefix, fallback), level: 'error' },
  ];
}

/** Load a whole cycle. Throws ConfigError (or an Error with nginx's text) and leaves nothing open. */
export function loadCycle(options: CycleOptions, previous?: Cycle): Cycle {
  const { main, files } = parseCycleConfig(options);
  let log: ErrorLog;
  try {
    log = new ErrorLog(errorLogTargets(main, options));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `open() "${e.path}" failed (${e.errno === -2 ? '2: No such file or directory' : e.message})`,
    );
  }
  try {
    const variables = new VariableRegistry();
    for (const v of httpCoreVariables) variables.add(v);
    for (const m of modules) for (const v of m.variables ?? []) variables.add(v);
    const zones = new CycleZones(previous?.zones, log);
    const cx: BuildContext = {
      variables,
      log,
      zones,
      prefix: options.prefix,
      resolvePath: (p) => resolveAgainst(options.prefix, p),
      listenAddress: options.listenAddress,
    };
    // Stream modules declare their zones before the http block builds them; stream servers are
    // built last, when every zone (and whether it is synced) is known.
    const streamBlock = find(main, 'stream')?.block;
    if (streamBlock) initStream(streamBlock, modules, cx);
    const httpEntry = find(main, 'http');
    const http = httpEntry?.block ? buildHttp(httpEntry.block, modules, cx, options.listenAddress) : null;
    const stream = streamBlock ? buildStream(streamBlock, modules, cx, options.listenAddress) : null;
    return {
      options,
      main,
      files,
      log,
      pidPath: pidPathOf(main, options.prefix),
      http,
      stream,
      zones: zones.resolve(),
    };
  } catch (err) {
    for (const m of modules) m.lifecycle?.release?.(main);
    log.close();
    throw err;
  }
}
