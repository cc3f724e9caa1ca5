// Wildcard expansion for `include`, as glibc's glob(3) does it for nginx's ngx_open_glob:
// segment by segment, names starting with "." only for a pattern starting with ".",
// a pattern matching nothing gives no files (not an error), results sorted bytewise (the C locale).
import { lstatSync, readdirSync } from 'node:fs';

/** Whether `include` must glob: nginx tests the full path with strpbrk(path, "*?["). */
export function hasWildcard(path: string): boolean {
  return /[*?[]/.test(path);
}

/** The files matching `pattern` (an absolute or cwd-relative path with wildcards), sorted. */
export function expandGlob(pattern: string): string[] {
  const segments = pattern.split('/');
  // An absolute pattern starts with an empty segment: its base is the root.
  let bases: string[] = [segments[0] === '' ? '/' : ''];
  const rest = segments[0] === '' ? segments.slice(1) : segments;
  let lastWasLiteral = false;
  for (const segment of rest) {
    if (segment === '') continue;
    if (!isMagic(segment)) {
      const name = segment.replace(/\\(.)/g, '$1');
      bases = bases.map((base) => join(base, name));
      lastWasLiteral = true;
      continue;
    }
    const next: string[] = [];
    for (const base of bases) {
      for (const name of listDir(base)) if (matchName(segment, name)) next.push(join(base, name));
    }
    bases = next;
    lastWasLiteral = false;
  }
  // glob(3) confirms a literal last component exists; matched names exist by construction.
  const found = lastWasLiteral ? bases.filter(exists) : bases;
  return found.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function join(base: string, name: string): string {
  return base === '' ? name : base.endsWith('/') ? base + name : `${base}/${name}`;
}

/** Directory entries as glibc's readdir gives them, "." and ".." included; none if unreadable. */
function listDir(dir: string): string[] {
  try {
    return ['.', '..', ...readdirSync(dir === '' ? '.' : dir)];
  } catch {
    return [];
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** glibc's __glob_pattern_p: an unescaped `*` or `?`, or a `[` that has a closing `]`. */
function isMagic(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?') return true;
    else if (ch === '[' && bracketEnd(segment, i) !== -1) return true;
  }
  return false;
}

/** Index just past the `]` closing the bracket expression opened at `open`, or -1. */
function bracketEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a leading `]` is a member, not the end
  for (; i < pattern.length; i++) if (pattern[i] === ']') return i + 1;
  return -1;
}

/** fnmatch(3) with FNM_PERIOD, for one path segment. POSIX classes like [[:digit:]] are not supported. */
export function matchName(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return matchFrom(pattern, 0, name, 0);
}

function matchFrom(pattern: string, p: number, name: string, n: number): boolean {
  while (p < pattern.length) {
    const ch = pattern[p];
    if (ch === '*') {
      while (pattern[p] === '*') p++;
      if (p === pattern.length) return true;
      for (let k = n; k <= name.length; k++) if (matchFrom(pattern, p, name, k)) return true;
      return false;
    }
    if (n >= name.length) return false;
    if (ch === '?') {
      p++;
      n++;
      continue;
    }
    if (ch === '[') {
      const end = bracketEnd(pattern, p);
      if (end !== -1) {
        if (!inBracket(pattern.slice(p + 1, end - 1), name[n])) return false;
        p = end;
        n++;
        continue;
      }
    }
    const literal = ch === '\\' && p + 1 < pattern.length ? pattern[++p] : ch;
    if (literal !== name[n]) return false;
    p++;
    n++;
  }
  return n === name.length;
}

/** Whether `ch` is in the bracket body (the text between `[` and `]`), with `!`/`^` and ranges. */
function inBracket(body: string, ch: string): boolean {
  let i = 0;
  const negate = body[0] === '!' || body[0] === '^';
  if (negate) i++;
  let hit = false;
  const first = i;
  while (i < body.length) {
    let lo = body[i];
    if (lo === '\\' && i + 1 < body.length && i !== first) lo = body[++i];
    if (body[i + 1] === '-' && i + 2 < body.length) {
      const hi = body[i + 2];
      if (lo <= ch && ch <= hi) hit = true;
      i += 3;
    } else {
      if (lo === ch) hit = true;
      i++;
    }
  }
  return hit !== negate;
}
