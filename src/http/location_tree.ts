// nginx's location matching (ngx_http_core_find_location): an exact `=` match wins at once; else
// the longest prefix (`''` or `^~`) is taken and its nested locations searched the same way;
// unless that prefix is `^~`, the regex locations of the level are then tried in config order
// (a nested level's regexes before its parent's, by the recursion) and the first match wins.
// Named `@x` locations are reached only by name. Build errors carry nginx's exact wording.
import { type ConfEntry, invalid } from '../config/types.ts';
import { compileRegex, groupNames, matchRegex } from '../core/regex.ts';

export type LocationModifier = '' | '=' | '^~' | '~' | '~*' | '@';

export interface LocationSpec<T> {
  readonly modifier: LocationModifier;
  /** The prefix, exact URI or regex; for named locations the whole `@name`. */
  readonly pattern: string;
  readonly value: T;
  readonly children: LocationSpec<T>[];
  readonly entry: ConfEntry;
}

export interface LocationArgs {
  readonly modifier: LocationModifier;
  readonly pattern: string;
  /** Named groups of a regex location: nginx makes them variables, so declare them early. */
  readonly captureNames: string[];
}

export interface LocationMatch<T> {
  readonly value: T;
  /** The regex location's captures (index 0 the whole match), or null for a static match. */
  readonly captures: string[] | null;
  readonly groups: Record<string, string> | null;
  /**
   * nginx's auto redirect: the URI lacks only the trailing slash of a location that asks for it
   * (proxy_pass and the like): answer 301 to the URI with the slash.
   */
  readonly redirect: boolean;
}

/**
 * `location [ = | ~ | ~* | ^~ ] uri` and `location @name`, including nginx's compact one-argument
 * forms (`=/x`, `^~/x`, `~re`, `~*re`), as ngx_http_core_location parses them.
 */
export function parseLocationArgs(entry: ConfEntry): LocationArgs {
  const [first, second] = entry.args;
  let modifier: LocationModifier;
  let pattern: string;
  if (second !== undefined) {
    if (first !== '=' && first !== '^~' && first !== '~' && first !== '~*') {
      return invalid(`invalid location modifier "${first}"`, entry);
    }
    modifier = first;
    pattern = second;
  } else if (first.startsWith('=')) {
    [modifier, pattern] = ['=', first.slice(1)];
  } else if (first.startsWith('^~')) {
    [modifier, pattern] = ['^~', first.slice(2)];
  } else if (first.startsWith('~*')) {
    [modifier, pattern] = ['~*', first.slice(2)];
  } else if (first.startsWith('~')) {
    [modifier, pattern] = ['~', first.slice(1)];
  } else {
    [modifier, pattern] = [first.startsWith('@') ? '@' : '', first];
  }
  const isRegex = modifier === '~' || modifier === '~*';
  const captureNames = isRegex ? groupNames(compileRegex(pattern, modifier === '~*', entry)) : [];
  return { modifier, pattern, captureNames };
}

interface StaticNode<T> {
  readonly value: T;
  readonly noregex: boolean;
  readonly level: Level<T>;
}

interface RegexNode<T> {
  readonly re: RegExp;
  readonly value: T;
  readonly level: Level<T>;
}

/** The locations of one block (server or location), ready for lookup. */
interface Level<T> {
  readonly exact: Map<string, StaticNode<T>>;
  readonly prefixes: Map<string, StaticNode<T>>;
  /** The distinct prefix lengths, longest first: the longest-prefix lookup tries each once. */
  readonly lengths: number[];
  /** Locations wanting nginx's auto redirect, by name without the trailing slash. */
  readonly redirects: Map<string, StaticNode<T>>;
  readonly regexes: RegexNode<T>[];
}

/** Mutable result of one lookup, filled as the recursion goes down. */
interface Found<T> {
  value: T | undefined;
  captures: string[] | null;
  groups: Record<string, string> | null;
  redirect: boolean;
}

// ngx_http_core_find_location's results: final (exact or regex), prefix found, none, redirect.
const FINAL = 0;
const PREFIX = 1;
const NONE = 2;
const REDIRECT = 3;

export class LocationTree<T> {
  private readonly root: Level<T>;
  private readonly namedLocations = new Map<string, T>();
  private readonly caseless: boolean;
  private readonly autoRedirect: ((value: T) => boolean) | undefined;

  /**
   * `caseless` is nginx on a case-insensitive file system: prefixes compare ignoring case and
   * every regex is caseless. `autoRedirect` tells which locations want the trailing-slash 301.
   */
  constructor(specs: LocationSpec<T>[], caseless = false, autoRedirect?: (value: T) => boolean) {
    this.caseless = caseless;
    this.autoRedirect = autoRedirect;
    const regexes = new Map<LocationSpec<T>, RegExp>();
    this.check(specs, null, regexes);
    this.root = this.level(specs, regexes);
  }

  match(uri: string): LocationMatch<T> | null {
    const found: Found<T> = { value: undefined, captures: null, groups: null, redirect: false };
    const rc = this.find(this.root, uri, this.caseless ? uri.toLowerCase() : uri, found);
    if (rc === NONE) return null;
    return found as LocationMatch<T>;
  }

  named(name: string): T | undefined {
    return this.namedLocations.get(name);
  }

  private find(level: Level<T>, uri: string, key: string, found: Found<T>): number {
    const exact = level.exact.get(key);
    if (exact !== undefined) {
      found.value = exact.value;
      return FINAL;
    }
    let rc = NONE;
    let node = level.prefixes.get(key);
    if (node === undefined) {
      const redirect = level.redirects.get(key);
      if (redirect !== undefined) {
        found.value = redirect.value;
        found.redirect = true;
        return REDIRECT;
      }
      node = longestPrefix(level, key);
    }
    if (node !== undefined) {
      found.value = node.value;
      rc = this.find(node.level, uri, key, found);
      if (rc === FINAL || rc === REDIRECT) return rc;
      rc = PREFIX;
      if (node.noregex) return rc;
    }
    for (const rx of level.regexes) {
      const m = matchRegex(rx.re, uri);
      if (m === null) continue;
      found.value = rx.value;
      found.captures = m.captures;
      found.groups = m.groups;
      this.find(rx.level, uri, key, found);
      // nginx turns whatever the regex location's own lookup returned into a plain match.
      found.redirect = false;
      return FINAL;
    }
    return rc;
  }

  /** nginx's parse-time checks (ngx_http_core_location), in config order; compiles the regexes. */
  private check(
    specs: LocationSpec<T>[],
    parent: LocationSpec<T> | null,
    regexes: Map<LocationSpec<T>, RegExp>,
  ): void {
    for (const spec of specs) {
      if (spec.modifier === '~' || spec.modifier === '~*') {
        regexes.set(spec, compileRegex(spec.pattern, this.caseless || spec.modifier === '~*', spec.entry));
      }
      if (parent !== null) {
        if (parent.modifier === '=') {
          invalid(
            `location "${spec.pattern}" cannot be inside the exact location "${parent.pattern}"`,
            spec.entry,
          );
        }
        if (parent.modifier === '@') {
          invalid(
            `location "${spec.pattern}" cannot be inside the named location "${parent.pattern}"`,
            spec.entry,
          );
        }
        if (spec.modifier === '@') {
          invalid(`named location "${spec.pattern}" can be on the server level only`, spec.entry);
        }
        const isRegex = spec.modifier === '~' || spec.modifier === '~*';
        if (!isRegex && !this.fold(spec.pattern).startsWith(this.fold(parent.pattern))) {
          invalid(`location "${spec.pattern}" is outside location "${parent.pattern}"`, spec.entry);
        }
      }
      this.check(spec.children, spec, regexes);
    }
  }

  /**
   * Build one block's lookup tables. As ngx_http_init_static_location_trees, the nested levels
   * are built (and checked for duplicates) first, in name order, then this one.
   */
  private level(specs: LocationSpec<T>[], regexes: Map<LocationSpec<T>, RegExp>): Level<T> {
    const level: Level<T> = {
      exact: new Map(),
      prefixes: new Map(),
      lengths: [],
      redirects: new Map(),
      regexes: [],
    };
    const statics = specs.filter((s) => s.modifier === '' || s.modifier === '=' || s.modifier === '^~');
    statics.sort((a, b) => this.compareStatic(a, b));
    const nodes = statics.map((s) => ({
      value: s.value,
      noregex: s.modifier === '^~',
      level: this.level(s.children, regexes),
    }));
    for (let i = 0; i < statics.length; i++) {
      const spec = statics[i];
      const name = this.fold(spec.pattern);
      const table = spec.modifier === '=' ? level.exact : level.prefixes;
      if (table.has(name)) invalid(`duplicate location "${spec.pattern}"`, spec.entry);
      table.set(name, nodes[i]);
      if (name.endsWith('/') && this.autoRedirect?.(spec.value)) {
        const bare = name.slice(0, -1);
        if (!level.redirects.has(bare)) level.redirects.set(bare, nodes[i]);
      }
    }
    const lengths = new Set<number>();
    for (const name of level.prefixes.keys()) lengths.add(name.length);
    level.lengths.push(...[...lengths].sort((a, b) => b - a));
    for (const spec of specs) {
      const re = regexes.get(spec);
      if (re !== undefined) {
        level.regexes.push({ re, value: spec.value, level: this.level(spec.children, regexes) });
      } else if (spec.modifier === '@' && !this.namedLocations.has(spec.pattern)) {
        this.namedLocations.set(spec.pattern, spec.value);
      }
    }
    return level;
  }

  /** ngx_http_cmp_locations for static ones: by name, an exact match before the same prefix. */
  private compareStatic(a: LocationSpec<T>, b: LocationSpec<T>): number {
    const x = this.fold(a.pattern);
    const y = this.fold(b.pattern);
    if (x !== y) return x < y ? -1 : 1;
    return (a.modifier === '=' ? 0 : 1) - (b.modifier === '=' ? 0 : 1);
  }

  private fold(name: string): string {
    return this.caseless ? name.toLowerCase() : name;
  }
}

function longestPrefix<T>(level: Level<T>, key: string): StaticNode<T> | undefined {
  for (const length of level.lengths) {
    if (length > key.length) continue;
    const node = level.prefixes.get(length === key.length ? key : key.slice(0, length));
    if (node !== undefined) return node;
  }
  return undefined;
}
