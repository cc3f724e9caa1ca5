// `root` and `alias`, and nginx's ngx_http_map_uri_to_path over them: shared by static, index and
// try_files. A prefix location's alias replaces the location's name in the URI; a regex location's
// alias is the whole path (its captures pick the file) unless try_files asked to append the URI.
import path from 'node:path';
import type { ConfBlock, ConfEntry, ParseContext } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import type { ComplexValue } from '../../variables/types.ts';
import type { BuildContext, HttpRequest } from '../types.ts';

/** `alias` in a regex location: the evaluated alias is the file's path. */
export const REGEX_ALIAS = -1;

/** What `root`/`alias` parse to. */
export interface RootValue {
  /** The path, resolved against the prefix unless it starts with a variable. */
  readonly text: string;
  /** 0 for `root`; for `alias`, the length of the location's name it replaces, or REGEX_ALIAS. */
  readonly alias: number;
}

export interface DocumentRoot {
  readonly alias: number;
  /** The root (or alias) for this request, variables evaluated. */
  base(r: HttpRequest): string;
}

/** r.ctx key try_files sets in regex locations with alias: map the URI after the alias. */
export const ADD_URI_TO_ALIAS = 'add_uri_to_alias';

/** A location's name and kind from its arguments (`= /x`, `~ re`, `/p/`, `@name`, `=/x` ...). */
function locationKind(args: readonly string[]): { name: string; regex: boolean; named: boolean } {
  if (args.length >= 2) return { name: args[1], regex: args[0] === '~' || args[0] === '~*', named: false };
  const a = args[0] ?? '';
  if (a.startsWith('@')) return { name: a, regex: false, named: true };
  if (a.startsWith('~*')) return { name: a.slice(2), regex: true, named: false };
  if (a.startsWith('~')) return { name: a.slice(1), regex: true, named: false };
  if (a.startsWith('^~')) return { name: a.slice(2), regex: false, named: false };
  if (a.startsWith('=')) return { name: a.slice(1), regex: false, named: false };
  return { name: a, regex: false, named: false };
}

/** `root path` / `alias path`, with nginx's checks (ngx_http_core_root). */
export function parseRoot(entry: ConfEntry, cx: ParseContext): RootValue {
  const alias = entry.name === 'alias';
  const entries = cx.block.entries;
  const at = entries.indexOf(entry);
  const earlier = at < 0 ? entries : entries.slice(0, at);
  const prev = earlier.find((e) => e.name === 'root' || e.name === 'alias');
  if (prev !== undefined) {
    if (prev.name === entry.name) invalid(`"${entry.name}" directive is duplicate`, entry);
    invalid(`"${entry.name}" directive is duplicate, "${prev.name}" directive was specified earlier`, entry);
  }
  const owner = cx.block.context === 'location' ? cx.block.owner : null;
  const kind = owner ? locationKind(owner.args) : { name: '', regex: false, named: false };
  if (alias && kind.named) invalid('the "alias" directive cannot be used inside the named location', entry);
  let text = entry.args[0];
  for (const v of ['document_root', 'realpath_root']) {
    if (text.includes(`$${v}`) || text.includes(`\${${v}}`)) {
      invalid(`the $${v} variable cannot be used in the "${entry.name}" directive`, entry);
    }
  }
  if (!alias && text.endsWith('/')) text = text.slice(0, -1);
  if (!text.startsWith('$')) text = resolveKeepingSlash(text, cx);
  return { text, alias: alias ? (kind.regex ? REGEX_ALIAS : kind.name.length) : 0 };
}

/** Prefix-relative paths made absolute; an alias's trailing slash is part of the mapping, so it stays. */
function resolveKeepingSlash(text: string, cx: { resolvePath(p: string): string }): string {
  if (path.isAbsolute(text)) return text;
  const full = cx.resolvePath(text);
  return text.endsWith('/') && !full.endsWith('/') ? `${full}/` : full;
}

const compiled = new WeakMap<ConfEntry, DocumentRoot>();

/** The `root`/`alias` in force for a block (nearest level with either), compiled once per entry. */
export function documentRoot(block: ConfBlock, cx: BuildContext): DocumentRoot {
  let entry: ConfEntry | undefined;
  for (let b: ConfBlock | null = block; b && !entry; b = b.parent) {
    entry = b.entries.find((e) => e.name === 'root' || e.name === 'alias');
  }
  if (entry === undefined) return defaultRoot(cx);
  let root = compiled.get(entry);
  if (root === undefined) {
    const value = entry.value as RootValue;
    root = compileRoot(value, cx.variables.compile(value.text, entry), cx);
    compiled.set(entry, root);
  }
  return root;
}

const defaults = new Map<string, DocumentRoot>();

/** nginx's compiled-in `root html`, relative to the prefix. */
function defaultRoot(cx: BuildContext): DocumentRoot {
  const text = cx.resolvePath('html');
  let root = defaults.get(text);
  if (root === undefined) {
    root = { alias: 0, base: () => text };
    defaults.set(text, root);
  }
  return root;
}

function compileRoot(value: RootValue, cv: ComplexValue, cx: BuildContext): DocumentRoot {
  if (cv.constant !== null) {
    const text = cv.constant;
    return { alias: value.alias, base: () => text };
  }
  // A root built from variables is resolved against the prefix per request (ngx_get_full_name).
  return {
    alias: value.alias,
    base: (r) => {
      const text = cv.evaluate(r);
      return path.isAbsolute(text) ? text : resolveKeepingSlash(text, cx);
    },
  };
}

/** ngx_http_map_uri_to_path: the file a URI names under this root or alias. */
export function mapUriToPath(root: DocumentRoot, r: HttpRequest, uri: string = r.uri): string {
  const base = root.base(r);
  if (root.alias === REGEX_ALIAS) return r.ctxValue(ADD_URI_TO_ALIAS) === true ? base + uri : base;
  return base + uri.slice(root.alias);
}
