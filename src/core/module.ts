// A module is a directive table plus the hooks it joins, as in nginx's ngx_module_t.
// The core never imports a module by name: it walks the registered list (src/modules.ts).
import type { ConfBlock, DirectiveSpec } from '../config/types.ts';
import type { HttpModuleHooks } from '../http/types.ts';
import type { StreamModuleHooks } from '../stream/types.ts';
import type { VariableDef } from '../variables/types.ts';

export interface Module {
  /** nginx-style name, e.g. `http_rewrite`. */
  readonly name: string;
  readonly directives: readonly DirectiveSpec[];
  /** Variables the module provides (`$uri`, `$limit_req_status`, `$arg_*` ...). */
  readonly variables?: readonly VariableDef[];
  /** Hooks into the HTTP request cycle. */
  readonly http?: HttpModuleHooks;
  /** Hooks into the stream servers: a server's content handler (zone_sync, return). */
  readonly stream?: StreamModuleHooks;
  /** Process events the module holds resources for (open files, timers). */
  readonly lifecycle?: Lifecycle;
}

export interface Lifecycle {
  /** A cycle went live: at start, and after each reload that succeeded. */
  live?(main: ConfBlock): void;
  /** SIGUSR1: reopen files (log rotation). */
  reopen?(): void;
  /** The process is exiting: flush and close. */
  exit?(): void;
  /** A cycle was discarded (replaced by a reload, or failed to go live): free what only it used. */
  release?(main: ConfBlock): void;
}
