// nginx's configuration reader: ngx_conf_parse, ngx_conf_handler and ngx_conf_include
// (src/core/ngx_conf_file.c). Each directive is checked against the directive table as soon as
// it is read, in nginx's order, so the first error in file order is the one reported:
//   unknown name → wrong context → `;`/`{` mismatch → argument count → duplicate → flag value →
//   the spec's own parse (for block directives, after the block's content).
import { readFileSync } from 'node:fs';
import { expandGlob, hasWildcard } from './include.ts';
import { Lexer, type Statement } from './lexer.ts';
import {
  type ArgRule,
  type ConfBlock,
  type ConfEntry,
  ConfigError,
  type DirectiveSpec,
  type ParseContext,
} from './types.ts';
import { parseFlag } from './values.ts';

export interface ParseOptions {
  /** The main configuration file (`-c`), relative to `prefix` unless absolute. */
  readonly file: string;
  /** The prefix (`-p`). */
  readonly prefix: string;
  /** Every module's directives. */
  readonly directives: readonly DirectiveSpec[];
  /** `-g` text, parsed before the file in the main context. */
  readonly params?: string;
}

export interface ParsedConfig {
  readonly main: ConfBlock;
  /** Every file read, once each, in the order first read (what `-T` prints). */
  readonly files: { path: string; text: string }[];
}

/** Where a read started: nginx reports a failed open() at the `include` that asked for it. */
interface Origin {
  readonly file: string | undefined;
  readonly line: number | undefined;
}

/** How a run of statements ends: a file at its end, a block at `}`, `-g` text at its end. */
type Scope = 'file' | 'block' | 'param';

/** glibc's strerror texts for the errors open() and read() give on configuration files. */
const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
};

/** Nested includes nginx could follow before running out of descriptors (default limit 1024). */
const MAX_INCLUDE_DEPTH = 1000;

/** nginx's ngx_get_full_name: absolute paths pass, others are appended to the prefix. */
function fullName(prefix: string, path: string): string {
  return path.startsWith('/') ? path : prefix + path;
}

function argCountOk(rule: ArgRule, count: number): boolean {
  if (rule === 'any') return true;
  if (rule === 'flag') return count === 1;
  if (rule === '1+') return count >= 1;
  if (rule === '2+') return count >= 2;
  return count <= 7 && rule.includes(count);
}

/** Parse the configuration as nginx does; throws ConfigError and nothing else for a bad file. */
export function parseConfig(opts: ParseOptions): ParsedConfig {
  const prefix = opts.prefix === '' || opts.prefix.endsWith('/') ? opts.prefix : `${opts.prefix}/`;
  const file = fullName(prefix, opts.file);
  // nginx's conf_prefix: the main file's directory, unless its only `/` is the leading one.
  const slash = file.lastIndexOf('/');
  const confPrefix = slash > 0 ? file.slice(0, slash + 1) : prefix;
  const reader = new ConfigReader(prefix, confPrefix, opts.directives);
  const main: ConfBlock = { context: 'main', entries: [], parent: null, owner: null };
  if (opts.params) {
    const lexer = new Lexer(Buffer.from(opts.params), 'command line', true);
    reader.parseStatements(lexer, main, 'param', false);
  }
  reader.parseFile(file, main, false, { file: undefined, line: undefined });
  return { main, files: reader.files };
}

class ConfigReader {
  readonly files: { path: string; text: string }[] = [];
  private readonly specs = new Map<string, DirectiveSpec[]>();
  private readonly prefix: string;
  private readonly confPrefix: string;
  private depth = 0;

  constructor(prefix: string, confPrefix: string, directives: readonly DirectiveSpec[]) {
    this.prefix = prefix;
    this.confPrefix = confPrefix;
    for (const spec of directives) {
      const list = this.specs.get(spec.name);
      if (list) list.push(spec);
      else this.specs.set(spec.name, [spec]);
    }
  }

  /** Read one file into `block` (ngx_conf_parse with a file name). */
  parseFile(path: string, block: ConfBlock, raw: boolean, origin: Origin): void {
    if (this.depth >= MAX_INCLUDE_DEPTH) {
      throw new ConfigError(`open() "${path}" failed (24: ${ERRNO_TEXT.EMFILE})`, origin.file, origin.line);
    }
    let text: Buffer;
    try {
      text = readFileSync(path);
    } catch (err) {
      throw fileError(err, path, origin);
    }
    if (!this.files.some((f) => f.path === path)) this.files.push({ path, text: text.toString('utf8') });
    this.depth++;
    this.parseStatements(new Lexer(text, path), block, 'file', raw);
    this.depth--;
  }

  /** Read statements into `block` until its end: the ngx_conf_parse loop. */
  parseStatements(lexer: Lexer, block: ConfBlock, scope: Scope, raw: boolean): void {
    for (;;) {
      const st = lexer.next();
      const fail = (message: string) =>
        lexer.commandLine
          ? new ConfigError(message, 'command line')
          : new ConfigError(message, lexer.file, st.line);
      if (st.end === '}') {
        if (scope !== 'block') throw fail('unexpected "}"');
        return;
      }
      if (st.end === 'eof') {
        if (scope === 'block') throw fail('unexpected end of file, expecting "}"');
        return;
      }
      if (st.end === '{' && scope === 'param') throw fail('block directives are not supported in -g option');
      if (raw) {
        // A `types {}` or `map {}` body: the module's own lines, with `include` still working.
        if (st.end === '{') throw fail('unexpected "{"');
        if (st.words[0] === 'include' && st.words.length === 2) {
          this.include(st.words[1], block, true, lexer, st);
        } else {
          block.entries.push(this.entry(lexer, st));
        }
        continue;
      }
      this.directive(lexer, st, block, fail);
    }
  }

  /** One directive, checked as ngx_conf_handler does, then its block and its parse hook. */
  private directive(
    lexer: Lexer,
    st: Statement,
    block: ConfBlock,
    fail: (message: string) => ConfigError,
  ): void {
    const name = st.words[0];
    const args = st.words.slice(1);
    if (name === 'include') {
      if (st.end !== ';') throw fail('directive "include" is not terminated by ";"');
      if (args.length !== 1) throw fail('invalid number of arguments in "include" directive');
      this.include(args[0], block, false, lexer, st);
      return;
    }
    const candidates = this.specs.get(name);
    if (!candidates) throw fail(`unknown directive "${name}"`);
    const spec = candidates.find((s) => s.contexts.includes(block.context));
    if (!spec) throw fail(`"${name}" directive is not allowed here`);
    if (!spec.block && st.end !== ';') throw fail(`directive "${name}" is not terminated by ";"`);
    if (spec.block && st.end !== '{') throw fail(`directive "${name}" has no opening "{"`);
    if (!argCountOk(spec.args, args.length)) throw fail(`invalid number of arguments in "${name}" directive`);
    if (!spec.multiple && block.entries.some((e) => e.name === name))
      throw fail(`"${name}" directive is duplicate`);

    const entry = this.entry(lexer, st);
    block.entries.push(entry);
    if (spec.args === 'flag') entry.value = this.guard(entry, () => parseFlag(args[0], name));
    if (spec.block) {
      const context = typeof spec.block === 'function' ? spec.block(block.context) : spec.block;
      const child: ConfBlock = { context, entries: [], parent: block, owner: entry };
      entry.block = child;
      this.parseStatements(lexer, child, 'block', spec.rawBlock === true);
    }
    const parse = spec.parse;
    if (parse) entry.value = this.guard(entry, () => parse(entry, this.context(block)));
  }

  private entry(lexer: Lexer, st: Statement): ConfEntry {
    return { name: st.words[0], args: st.words.slice(1), file: lexer.file, line: st.line };
  }

  /** ngx_conf_include: a plain path must open; a wildcard may match nothing. */
  private include(pattern: string, block: ConfBlock, raw: boolean, lexer: Lexer, st: Statement): void {
    const path = fullName(this.confPrefix, pattern);
    const origin: Origin = lexer.commandLine
      ? { file: 'command line', line: undefined }
      : { file: lexer.file, line: st.line };
    const paths = hasWildcard(path) ? expandGlob(path) : [path];
    for (const p of paths) this.parseFile(p, block, raw, origin);
  }

  private context(block: ConfBlock): ParseContext {
    const { prefix, confPrefix } = this;
    return {
      block,
      prefix,
      confPrefix,
      resolvePath: (path) => fullName(prefix, path),
      resolveConfPath: (path) => fullName(confPrefix, path),
    };
  }

  /** Run a value check, placing its ConfigError at the entry when it did not say where. */
  private guard<T>(entry: ConfEntry, check: () => T): T {
    try {
      return check();
    } catch (err) {
      if (err instanceof ConfigError && err.file === undefined) {
        throw new ConfigError(err.message, entry.file, entry.line || undefined, err.level);
      }
      throw err;
    }
  }
}

/** nginx's words for a configuration file that cannot be read. */
function fileError(err: unknown, path: string, origin: Origin): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const errno = Math.abs((err as NodeJS.ErrnoException).errno ?? 5);
  const reason = `(${errno}: ${ERRNO_TEXT[code] ?? code})`;
  // open() succeeds on a directory; nginx's read then fails, logged at crit with no place.
  if (code === 'EISDIR')
    return new ConfigError(`pread() "${path}" failed ${reason}`, undefined, undefined, 'crit');
  return new ConfigError(`open() "${path}" failed ${reason}`, origin.file, origin.line);
}
