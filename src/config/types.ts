// The shapes shared by the configuration layer and every module's directive table.
// The layer knows nothing of HTTP: a module declares directives, the parser checks them
// against the table (as nginx's ngx_conf_handler does) and keeps the parsed tree.

/** Where a directive may stand. `if_server`/`if_location` are nginx's SIF/LIF contexts. */
export type Context =
  | 'main'
  | 'events'
  | 'http'
  | 'server'
  | 'location'
  | 'if_server'
  | 'if_location'
  | 'limit_except'
  | 'upstream'
  | 'map'
  | 'types'
  | 'stream'
  | 'stream_server'
  | 'stream_upstream'
  | 'stream_map';

/**
 * Number of arguments, after nginx's NGX_CONF_* flags: a list of accepted counts
 * (`[1]` is TAKE1, `[1, 2]` is TAKE12), `'flag'` (one argument, on|off), `'1+'`, `'2+'`, `'any'`.
 */
export type ArgRule = readonly number[] | 'flag' | '1+' | '2+' | 'any';

/** One directive as written: name, arguments, where, and (for block directives) its block. */
export interface ConfEntry {
  readonly name: string;
  readonly args: string[];
  /** `command line` for `-g` directives. */
  readonly file: string;
  /** Where its `;` or `{` stands (nginx reports errors there); 0 for `-g` directives. */
  readonly line: number;
  /** The block this directive opened, for block directives. */
  block?: ConfBlock;
  /** What the directive's `parse` returned (its typed value); for `'flag'` directives, the boolean. */
  value?: unknown;
}

/** A `{ ... }` block (or the whole file for `main`) with its entries in file order. */
export interface ConfBlock {
  readonly context: Context;
  readonly entries: ConfEntry[];
  readonly parent: ConfBlock | null;
  /** The directive that opened this block; null for the main block. */
  readonly owner: ConfEntry | null;
}

/** Handed to a directive's parser: where we are, and how to resolve relative paths. */
export interface ParseContext {
  /** The block the directive stands in. */
  readonly block: ConfBlock;
  /** The prefix (`-p`), for resolving relative paths as nginx does. */
  readonly prefix: string;
  /** Resolve a path against the prefix (absolute paths pass through). */
  resolvePath(path: string): string;
  /** The directory of the main configuration file, which `include` and `ssl_certificate` paths start from. */
  readonly confPrefix: string;
  /** Resolve a path against the configuration prefix, as nginx's ngx_conf_full_name(..., 1). */
  resolveConfPath(path: string): string;
}

export interface DirectiveSpec {
  readonly name: string;
  readonly contexts: readonly Context[];
  readonly args: ArgRule;
  /** For block directives: the context the block opens (may depend on the parent's). */
  readonly block?: Context | ((parent: Context) => Context);
  /**
   * The block's lines are not directives but the module's own entries (`map`, `types`):
   * each `word args...;` becomes a ConfEntry, checked only by the lexer rules.
   */
  readonly rawBlock?: boolean;
  /** May stand more than once in one block; otherwise the second is `"x" directive is duplicate`. */
  readonly multiple?: boolean;
  /**
   * Check the arguments and return the typed value (stored in entry.value). Throw
   * `ConfigError` (via `invalid(...)`) with nginx's wording; the parser adds "in FILE:LINE".
   * Called as soon as the directive is read; for block directives, once its block is parsed.
   */
  parse?(entry: ConfEntry, cx: ParseContext): unknown;
}

/** A configuration error: nginx's level and message, with the place it was found. */
export class ConfigError extends Error {
  readonly level: 'emerg' | 'crit' | 'warn';
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, file?: string, line?: number, level: 'emerg' | 'crit' | 'warn' = 'emerg') {
    super(message);
    this.name = 'ConfigError';
    this.level = level;
    this.file = file;
    this.line = line;
  }
  /** nginx's text: `MESSAGE in FILE:LINE`, or `in command line` for `-g` (no `[emerg]` prefix). */
  get text(): string {
    if (this.file === undefined) return this.message;
    return this.line === undefined
      ? `${this.message} in ${this.file}`
      : `${this.message} in ${this.file}:${this.line}`;
  }
}

/** Throw nginx's error for a directive; the parser fills in file and line. */
export function invalid(message: string, entry?: ConfEntry): never {
  // Line 0 marks a `-g` directive, which nginx reports as `in command line`.
  throw new ConfigError(message, entry?.file, entry?.line || undefined);
}
