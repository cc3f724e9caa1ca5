// ngx_http_index_module: for a URI ending in `/`, the first `index` name that exists becomes an
// internal redirect to URI + name; none found declines to the next content handler (static then
// refuses the directory). An absolute name is redirected to without a check.
import { statSync } from 'node:fs';
import { inherited, inheritedValue } from '../../config/tree.ts';
import type { ConfEntry, Context } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import type { Module } from '../../core/module.ts';
import type { ComplexValue } from '../../variables/types.ts';
import { DECLINED, type HttpRequest, type PhaseResult } from '../types.ts';
import { type DocumentRoot, documentRoot, mapUriToPath } from './document_root.ts';
import { errnoCode, errnoSuffix } from './file_errors.ts';

const HSL: Context[] = ['http', 'server', 'location'];

interface IndexConf {
  readonly names: readonly ComplexValue[];
  readonly root: DocumentRoot;
  readonly logNotFound: boolean;
}

/**
 * ngx_http_index_set_index's check; the names are compiled when locations are built. An absolute
 * name before the last is only nginx's warning (it answers by redirecting there at once).
 */
function parseIndex(entry: ConfEntry): string[] {
  if (entry.args.includes('')) invalid(`index "${entry.args[0]}" in "index" directive is invalid`, entry);
  return entry.args;
}

export const indexModule: Module = {
  name: 'http_index',
  directives: [{ name: 'index', contexts: HSL, args: '1+', multiple: true, parse: parseIndex }],
  http: {
    location(loc, cx) {
      const entries = inherited(loc.block, 'index');
      const names: ComplexValue[] =
        entries.length === 0
          ? [cx.variables.compile('index.html')]
          : entries.flatMap((e) => (e.value as string[]).map((name) => cx.variables.compile(name, e)));
      const conf: IndexConf = {
        names,
        root: documentRoot(loc.block, cx),
        logNotFound: inheritedValue(loc.block, 'log_not_found', true),
      };
      return [{ phase: 'content', handler: (r) => (r.uri.endsWith('/') ? tryIndexes(r, conf) : DECLINED) }];
    },
  },
};

// stat() with blocking calls, as nginx does: no thread-pool round trip per name tested. (Not
// throwIfNoEntry: it folds ENOTDIR into ENOENT, and nginx tells them apart here.)
function tryIndexes(r: HttpRequest, conf: IndexConf): PhaseResult {
  const dir = mapUriToPath(conf.root, r);
  let dirTested = false;
  for (const cv of conf.names) {
    const name = cv.evaluate(r);
    if (name.startsWith('/')) return r.internalRedirect(name, r.args);
    const path = dir + name;
    let err: unknown = null;
    try {
      // nginx only tests the name exists (a directory called index.html counts too).
      statSync(path);
    } catch (e) {
      err = e;
    }
    if (err === null) return r.internalRedirect(r.uri + name, r.args);
    const code = errnoCode(err);
    if (code === 'EMLINK' || code === 'ELOOP') return 403;
    if (code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'EACCES')
      return indexError(r, conf, path, err);
    if (!dirTested) {
      const status = testDirectory(r, conf, dir, path);
      if (status !== 0) return status;
      dirTested = true;
    }
    if (code === 'ENOENT') continue;
    r.logError('crit', `stat() "${path}" failed${errnoSuffix(err)}`);
    return 500;
  }
  return DECLINED;
}

/** ngx_http_index_test_dir: a missing directory is a 404, reported under the index's path. */
function testDirectory(r: HttpRequest, conf: IndexConf, dir: string, indexPath: string): number {
  const dirPath = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  let isDir: boolean;
  try {
    isDir = statSync(dirPath).isDirectory();
  } catch (err) {
    return dirStatFailed(r, conf, dirPath, indexPath, err);
  }
  if (isDir) return 0;
  r.logError('alert', `"${dirPath}" is not a directory`);
  return 500;
}

function dirStatFailed(
  r: HttpRequest,
  conf: IndexConf,
  dirPath: string,
  indexPath: string,
  err: unknown,
): number {
  const code = errnoCode(err);
  if (code === 'EMLINK' || code === 'ELOOP') return 403;
  if (code === 'ENOENT') return indexError(r, conf, indexPath, err);
  // Searching the directory was allowed, since the index test failed otherwise.
  if (code === 'EACCES') return 0;
  r.logError('crit', `stat() "${dirPath}" failed${errnoSuffix(err)}`);
  return 500;
}

function indexError(r: HttpRequest, conf: IndexConf, path: string, err: unknown): number {
  if (errnoCode(err) === 'EACCES') {
    r.logError('error', `"${path}" is forbidden${errnoSuffix(err)}`);
    return 403;
  }
  if (conf.logNotFound) r.logError('error', `"${path}" is not found${errnoSuffix(err)}`);
  return 404;
}
