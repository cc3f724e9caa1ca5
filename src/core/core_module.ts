// The main-context and `events` directives (nginx's ngx_core_module, ngx_errlog_module and
// ngx_event_core_module), and the `http`/`stream` blocks. Process-management directives that
// mean nothing to a single foreground process are accepted, checked as nginx checks them, and ignored.
import type { Context, DirectiveSpec } from '../config/types.ts';
import { invalid } from '../config/types.ts';
import {
  enumDirective,
  flagDirective,
  ignoredDirective,
  numberDirective,
  offsetDirective,
  timeDirective,
} from '../config/values.ts';
import { type ErrorLogTarget, LEVELS, type Level } from './error_log.ts';
import type { Module } from './module.ts';

/** Where `error_log` may stand (not in `if`, as in nginx). */
const ERROR_LOG_CONTEXTS: readonly Context[] = [
  'main',
  'http',
  'server',
  'location',
  'stream',
  'stream_server',
];

/** nginx's debug_* levels: each means `debug` here, and they do not mix with a plain level. */
const DEBUG_LEVELS = [
  'debug_core',
  'debug_alloc',
  'debug_mutex',
  'debug_event',
  'debug_http',
  'debug_mail',
  'debug_stream',
];

/**
 * `error_log file|stderr [level]` (ngx_log_set_log, ngx_log_set_levels). The value is the
 * target, or null for `syslog:` and `memory:` targets, which are accepted but not supported.
 */
const errorLog: DirectiveSpec = {
  name: 'error_log',
  contexts: ERROR_LOG_CONTEXTS,
  args: '1+',
  multiple: true,
  parse(entry, cx): ErrorLogTarget | null {
    const [target, ...levels] = entry.args;
    let level: Level = 'error';
    let anyLevel = false;
    let plainLevel = false;
    for (const word of levels) {
      if ((LEVELS as readonly string[]).includes(word)) {
        if (anyLevel) invalid(`duplicate log level "${word}"`);
        level = word as Level;
        plainLevel = true;
      } else if (DEBUG_LEVELS.includes(word)) {
        if (plainLevel) invalid(`invalid log level "${word}"`);
        level = 'debug';
      } else {
        invalid(`invalid log level "${word}"`);
      }
      anyLevel = true;
    }
    if (target.startsWith('syslog:') || target.startsWith('memory:')) return null;
    return { path: target === 'stderr' ? 'stderr' : cx.resolvePath(target), level };
  },
};

/** `worker_processes N|auto`: accepted; the value is the number or 'auto'. */
const workerProcesses: DirectiveSpec = {
  name: 'worker_processes',
  contexts: ['main'],
  args: [1],
  parse(entry): number | 'auto' {
    const [value] = entry.args;
    if (value === 'auto') return value;
    return /^[0-9]+$/.test(value) ? Number(value) : invalid('"worker_processes" directive invalid value');
  },
};

/** `worker_connections N` has its own wording in nginx (ngx_event_connections). */
const workerConnections: DirectiveSpec = {
  name: 'worker_connections',
  contexts: ['events'],
  args: [1],
  parse(entry): number {
    const [value] = entry.args;
    return /^[0-9]+$/.test(value) ? Number(value) : invalid(`invalid number "${value}"`);
  },
};

/** `worker_priority [+|-]N` (ngx_set_priority). */
const workerPriority: DirectiveSpec = {
  name: 'worker_priority',
  contexts: ['main'],
  args: [1],
  parse(entry): number {
    const [value] = entry.args;
    return /^[-+]?[0-9]+$/.test(value)
      ? Number(value)
      : invalid('"worker_priority" directive invalid number');
  },
};

const MAIN: readonly Context[] = ['main'];
const EVENTS: readonly Context[] = ['events'];

/** Accepted and ignored: we run one foreground process with Node's event loop. */
const ignored: readonly DirectiveSpec[] = [
  ignoredDirective('user', MAIN, [1, 2]),
  numberDirective('worker_rlimit_nofile', MAIN),
  ignoredDirective('worker_cpu_affinity', MAIN, '1+'),
  workerPriority,
  timeDirective('worker_shutdown_timeout', MAIN),
  flagDirective('pcre_jit', MAIN),
  timeDirective('timer_resolution', MAIN),
  ignoredDirective('env', MAIN, [1], true),
  ignoredDirective('lock_file', MAIN, [1]),
  flagDirective('master_process', MAIN),
  ignoredDirective('working_directory', MAIN, [1]),
  ignoredDirective('thread_pool', MAIN, [2, 3], true),
  ignoredDirective('load_module', MAIN, [1], true),
  ignoredDirective('ssl_engine', MAIN, [1]),
  enumDirective('debug_points', MAIN, ['stop', 'abort']),
  offsetDirective('worker_rlimit_core', MAIN),
  workerConnections,
  ignoredDirective('use', EVENTS, [1]),
  flagDirective('multi_accept', EVENTS),
  flagDirective('accept_mutex', EVENTS),
  timeDirective('accept_mutex_delay', EVENTS),
  numberDirective('worker_aio_requests', EVENTS),
  ignoredDirective('debug_connection', EVENTS, [1], true),
];

/** Names of the directives accepted only for compatibility (for the docs). */
export const IGNORED_CORE_DIRECTIVES: readonly string[] = ignored.map((d) => d.name);

export const coreModule: Module = {
  name: 'core',
  directives: [
    // Both values are accepted: we always run in the foreground.
    flagDirective('daemon', MAIN),
    { name: 'pid', contexts: MAIN, args: [1], parse: (entry, cx) => cx.resolvePath(entry.args[0]) },
    errorLog,
    workerProcesses,
    { name: 'events', contexts: MAIN, args: [0], block: 'events' },
    { name: 'http', contexts: MAIN, args: [0], block: 'http' },
    { name: 'stream', contexts: MAIN, args: [0], block: 'stream' },
    ...ignored,
  ],
};
