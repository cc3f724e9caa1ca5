// nginx's try_files phase (ngx_http_core_try_files_phase): the first name that exists under the
// root (a directory when written with a trailing `/`) becomes r.uri and the request goes on to this
// location's content handlers; otherwise the last parameter decides: `=code`, `@named`, or an
// internal redirect (arguments only from its own `?`). Not inherited: each level has its own.
import { statSync } from 'node:fs';
import { find } from '../../config/tree.ts';
import type { ConfEntry } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import { ngxAtoi } from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import type { ComplexValue } from '../../variables/types.ts';
import { type HttpRequest, OK, type PhaseResult } from '../types.ts';
import { ADD_URI_TO_ALIAS, type DocumentRoot, documentRoot, REGEX_ALIAS } from './document_root.ts';
import { errnoCode, errnoSuffix, isNotFound } from './file_errors.ts';

interface TryName {
  /** The name without its trailing `/`, which only marked it as a directory test. */
  readonly text: string;
  readonly testDir: boolean;
}

interface TryFilesValue {
  readonly names: TryName[];
  /** The last parameter: a status (`=404`) or a URI / `@name`. */
  readonly code: number | null;
}

function parseTryFiles(entry: ConfEntry): TryFilesValue {
  // A trailing `/` marks a directory test, except on the last parameter: a URI kept as written.
  const last = entry.args.length - 1;
  const names = entry.args.map((a, i) =>
    a.endsWith('/') && i < last ? { text: a.slice(0, -1), testDir: true } : { text: a, testDir: false },
  );
  const fallback = entry.args[last];
  let code: number | null = null;
  if (fallback.startsWith('=')) {
    code = ngxAtoi(fallback.slice(1));
    if (code === null || code > 999) invalid(`invalid code "${fallback}"`, entry);
  }
  return { names, code };
}

interface CompiledName {
  readonly cv: ComplexValue;
  readonly testDir: boolean;
}

interface TryFilesConf {
  readonly names: readonly CompiledName[];
  readonly fallback: ComplexValue | null;
  readonly code: number | null;
  readonly root: DocumentRoot;
}

export const tryFilesModule: Module = {
  name: 'http_try_files',
  directives: [{ name: 'try_files', contexts: ['server', 'location'], args: '2+', parse: parseTryFiles }],
  http: {
    location(loc, cx) {
      const entry = find(loc.block, 'try_files');
      if (entry === undefined) return [];
      const value = entry.value as TryFilesValue;
      const compiled = value.names.map((n) => ({
        cv: cx.variables.compile(n.text, entry),
        testDir: n.testDir,
      }));
      const conf: TryFilesConf = {
        names: compiled.slice(0, -1),
        fallback: value.code === null ? compiled[compiled.length - 1].cv : null,
        code: value.code,
        root: documentRoot(loc.block, cx),
      };
      return [{ phase: 'try_files', handler: (r) => tryFiles(r, conf) }];
    },
  },
};

/** A name as nginx writes it after the root: a computed name repeating an alias's location loses that part. */
function nameOf(r: HttpRequest, cv: ComplexValue, alias: number): string {
  const name = cv.evaluate(r);
  if (cv.constant === null && alias > 0 && name.slice(0, alias) === r.uri.slice(0, alias))
    return name.slice(alias);
  return name;
}

const NO_THROW = { throwIfNoEntry: false } as const;

// stat() with blocking calls, as nginx does: no thread-pool round trip per name tested. A missing
// name (ENOENT or ENOTDIR, which throwIfNoEntry folds together) is skipped without a log line.
function tryFiles(r: HttpRequest, conf: TryFilesConf): PhaseResult {
  const alias = conf.root.alias;
  const base = conf.root.base(r);
  for (const { cv, testDir } of conf.names) {
    const name = nameOf(r, cv, alias);
    const path = base + name;
    let isDir: boolean;
    try {
      const st = statSync(path, NO_THROW);
      if (st === undefined) continue;
      isDir = st.isDirectory();
    } catch (err) {
      if (!isNotFound(errnoCode(err))) r.logError('crit', `stat() "${path}" failed${errnoSuffix(err)}`);
      continue;
    }
    if (isDir !== testDir) continue;
    if (alias === 0) r.uri = name;
    else if (alias === REGEX_ALIAS) {
      // The regex alias names the file already; a found file's name is appended from now on.
      if (!testDir) {
        r.uri = name;
        r.ctx.set(ADD_URI_TO_ALIAS, true);
      }
    } else r.uri = r.uri.slice(0, alias) + name;
    return OK;
  }
  if (conf.fallback === null) return conf.code as number;
  const target = nameOf(r, conf.fallback, alias);
  if (target.startsWith('@')) return r.namedRedirect(target);
  const q = target.indexOf('?');
  return q < 0 ? r.internalRedirect(target, '') : r.internalRedirect(target.slice(0, q), target.slice(q + 1));
}
