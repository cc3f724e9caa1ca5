// nginx's regexes are PCRE2; we run them as JS RegExps. compileRegex rewrites the PCRE syntax
// nginx configurations use (named groups, leading option flags, POSIX classes, \A \z \Z, PCRE's
// `$` and `.`) into the JS equivalent, and refuses the PCRE-only features JS cannot express rather
// than silently matching something else.
import { type ConfEntry, invalid } from '../config/types.ts';

/** A successful match as nginx sees it: `$0`..`$N` (unmatched groups are ''), named groups. */
export interface RegexMatch {
  readonly captures: string[];
  readonly groups: Record<string, string> | null;
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
};

/** PCRE2's wording for the errors V8 reports differently. */
const PCRE_MESSAGES: Record<string, string> = {
  'Unterminated group': 'missing closing parenthesis',
  "Unmatched ')'": 'unmatched closing parenthesis',
  'Nothing to repeat': 'quantifier does not follow a repeatable item',
  'Unterminated character class': 'missing terminating ] for character class',
  '\\ at end of pattern': '\\ at end of pattern',
  'Duplicate capture group name': 'two named subpatterns have the same name (PCRE2_DUPNAMES not set)',
  'numbers out of order in {} quantifier': 'numbers out of order in {} quantifier',
  'Range out of order in character class': 'range out of order in character class',
  'Invalid group': 'unrecognized character after (? or (?-',
  'Invalid capture group name': 'subpattern name expected',
};

/** nginx's ngx_regex_compile() error text; `at` is the offset PCRE2 reports, when we know it. */
function fail(pattern: string, message: string, entry: ConfEntry | undefined, at?: number): never {
  const where = at === undefined || at >= pattern.length ? '' : ` at "${pattern.slice(at)}"`;
  return invalid(`pcre2_compile() failed: ${message} in "${pattern}"${where}`, entry);
}

function unsupported(pattern: string, feature: string, entry: ConfEntry | undefined): never {
  return invalid(`regex "${pattern}" uses ${feature}, which this build does not support`, entry);
}

/**
 * Compile a PCRE pattern as nginx would (`caseless` is NGX_REGEX_CASELESS). Errors are thrown as
 * ConfigError with nginx's `pcre2_compile() failed: ...` wording, located at `entry`.
 */
export function compileRegex(pattern: string, caseless: boolean, entry?: ConfEntry): RegExp {
  let flags = caseless ? 'i' : '';
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  for (const f of lead?.[1] ?? '') {
    if (f !== 'i' && f !== 'm' && f !== 's') unsupported(pattern, `the (?${f}) option`, entry);
    if (!flags.includes(f)) flags += f;
  }
  const source = translate(pattern, lead?.[0].length ?? 0, flags, entry);
  try {
    return new RegExp(source, flags);
  } catch (err) {
    const text = (err as Error).message;
    const reason = text.slice(text.lastIndexOf(': ') + 2);
    return fail(pattern, PCRE_MESSAGES[reason] ?? reason.toLowerCase(), entry);
  }
}

/** What the previous token allows: a quantifier needs something repeatable before it. */
type Before = 'nothing' | 'atom' | 'quantifier';

function translate(pattern: string, from: number, flags: string, entry: ConfEntry | undefined): string {
  let out = '';
  let depth = 0;
  let before: Before = 'nothing';
  let i = from;
  while (i < pattern.length) {
    const c = pattern[i++];
    if (c === '\\') {
      const d = pattern[i++];
      if (d === undefined) fail(pattern, '\\ at end of pattern', entry);
      [out, i] = translateEscape(pattern, d, i, out, false, entry);
      before = 'atom';
      continue;
    }
    switch (c) {
      case '[':
        [out, i] = translateClass(pattern, i, out, entry);
        before = 'atom';
        continue;
      case '(': {
        let opened: boolean;
        [out, i, opened] = translateGroup(pattern, i, out, entry);
        if (opened) depth++;
        before = opened ? 'nothing' : 'atom';
        continue;
      }
      case ')':
        if (--depth < 0) fail(pattern, 'unmatched closing parenthesis', entry, i - 1);
        out += ')';
        before = 'atom';
        continue;
      case '|':
        out += '|';
        before = 'nothing';
        continue;
      case '.':
        // PCRE's `.` excludes only \n; JS's also excludes \r and U+2028/2029.
        out += flags.includes('s') ? '.' : '[^\\n]';
        before = 'atom';
        continue;
      case '$':
        // PCRE's `$` also matches before a newline that ends the subject.
        out += flags.includes('m') ? '$' : '(?=\\n?(?![\\s\\S]))';
        before = 'atom';
        continue;
      case '*':
      case '+':
      case '?':
        if (before === 'quantifier' && c === '+') unsupported(pattern, 'a possessive quantifier', entry);
        if (before === 'nothing' || (before === 'quantifier' && c === '*')) {
          fail(pattern, 'quantifier does not follow a repeatable item', entry, i - 1);
        }
        out += c;
        // `?` after a quantifier makes it lazy; nothing may follow that.
        before = before === 'quantifier' ? 'atom' : 'quantifier';
        continue;
      case '{': {
        const bound = /^(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i));
        if (bound !== null) {
          const closing = i + bound[0].length - 1;
          if (before === 'nothing')
            fail(pattern, 'quantifier does not follow a repeatable item', entry, closing);
          if (bound[2] && Number(bound[2]) < Number(bound[1])) {
            fail(pattern, 'numbers out of order in {} quantifier', entry, closing);
          }
        }
        out += bound === null ? '\\{' : `{${bound[0]}`;
        i += bound === null ? 0 : bound[0].length;
        before = bound === null ? 'atom' : 'quantifier';
        continue;
      }
      default:
        out += c;
        before = 'atom';
    }
  }
  if (depth > 0) fail(pattern, 'missing closing parenthesis', entry);
  return out;
}

/** One escape (the backslash and `d` already read); `i` is just past `d`. */
function translateEscape(
  pattern: string,
  d: string,
  i: number,
  out: string,
  inClass: boolean,
  entry: ConfEntry | undefined,
): [string, number] {
  if (d === 'Q') {
    const end = pattern.indexOf('\\E', i);
    const quoted = end < 0 ? pattern.slice(i) : pattern.slice(i, end);
    return [out + quoted.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), end < 0 ? pattern.length : end + 2];
  }
  if (d === 'x' && pattern[i] === '{') {
    const end = pattern.indexOf('}', i);
    const code = end < 0 ? Number.NaN : Number.parseInt(pattern.slice(i + 1, end), 16);
    if (!(code <= 0xffff)) unsupported(pattern, 'a \\x{...} escape beyond \\x{ffff}', entry);
    return [`${out}\\u${code.toString(16).padStart(4, '0')}`, end + 1];
  }
  if (d === 'h') return [out + (inClass ? ' \\t' : '[ \\t]'), i];
  if (d === 'e') return [`${out}\\x1b`, i];
  if (!inClass && d === 'A') return [`${out}(?<![\\s\\S])`, i];
  if (!inClass && d === 'z') return [`${out}(?![\\s\\S])`, i];
  if (!inClass && d === 'Z') return [`${out}(?=\\n?(?![\\s\\S]))`, i];
  if ('GKRXCpPgN'.includes(d)) unsupported(pattern, `\\${d}`, entry);
  return [`${out}\\${d}`, i];
}

/** A character class (the `[` already read); PCRE takes a leading `]` as a literal, JS does not. */
function translateClass(
  pattern: string,
  i: number,
  out: string,
  entry: ConfEntry | undefined,
): [string, number] {
  out += '[';
  if (pattern[i] === '^') out += pattern[i++];
  if (pattern[i] === ']') {
    out += '\\]';
    i++;
  }
  while (i < pattern.length) {
    const c = pattern[i++];
    if (c === ']') return [`${out}]`, i];
    if (c === '\\') {
      const d = pattern[i++];
      if (d === undefined) break;
      [out, i] = translateEscape(pattern, d, i, out, true, entry);
    } else if (c === '[' && pattern[i] === ':') {
      const end = pattern.indexOf(':]', i + 1);
      const cls = end < 0 ? undefined : POSIX_CLASSES[pattern.slice(i + 1, end)];
      if (cls === undefined) fail(pattern, 'unknown POSIX class name', entry, i + 1);
      out += cls;
      i = end + 2;
    } else {
      out += c === '[' ? '\\[' : c;
    }
  }
  return fail(pattern, 'missing terminating ] for character class', entry);
}

/**
 * A group opening (the `(` already read): Python-style names become JS ones. The flag is false
 * for a `(?P=name)` back reference, which is an atom rather than a group.
 */
function translateGroup(
  pattern: string,
  i: number,
  out: string,
  entry: ConfEntry | undefined,
): [string, number, boolean] {
  if (pattern.startsWith('?P<', i)) return [`${out}(?<`, i + 3, true];
  if (pattern.startsWith('?P=', i) || pattern.startsWith("?'", i)) {
    const back = pattern[i + 1] === 'P';
    const end = pattern.indexOf(back ? ')' : "'", i + 2);
    if (end < 0) fail(pattern, 'syntax error in subpattern name (missing terminator?)', entry, i);
    const name = pattern.slice(i + (back ? 3 : 2), end);
    return [out + (back ? `\\k<${name}>` : `(?<${name}>`), end + 1, !back];
  }
  if (/^\?(?:[>|R&(+#]|\d|P>|-?[a-zA-Z]*\))/.test(pattern.slice(i))) {
    unsupported(pattern, `the (${pattern.slice(i, i + 2)} construct`, entry);
  }
  // `(?:`, `(?=`, `(?<!`, `(?<name>`, `(?i:`: the group's own syntax, not quantifiers or atoms.
  const syntax = /^\?(?:[:=!]|<[=!]|<[A-Za-z_]\w*>|[a-zA-Z-]*:)/.exec(pattern.slice(i))?.[0] ?? '';
  return [`${out}(${syntax}`, i + syntax.length, true];
}

/** Run `re` on `subject`; unmatched groups become '' as nginx's captures do. */
export function matchRegex(re: RegExp, subject: string): RegexMatch | null {
  const m = re.exec(subject);
  if (m === null) return null;
  const captures = new Array<string>(m.length);
  for (let n = 0; n < m.length; n++) captures[n] = m[n] ?? '';
  let groups: Record<string, string> | null = null;
  if (m.groups !== undefined) {
    groups = {};
    for (const name in m.groups) groups[name] = m.groups[name] ?? '';
  }
  return { captures, groups };
}

/** Names of the named groups of a compiled regex, for declaring them as variables. */
export function groupNames(re: RegExp): string[] {
  // An empty alternative always matches '', and the result lists every group name.
  const groups = new RegExp(`${re.source}|`, re.flags).exec('')?.groups;
  return groups === undefined ? [] : Object.keys(groups);
}
