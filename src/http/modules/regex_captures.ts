// Regex matching with nginx's side effects (ngx_http_regex_exec), shared by rewrite, `if` and map:
// a match replaces r.captures ($1..$9; a regex without groups leaves them empty, as nginx 1.2x
// does), and named groups set their variables.
import type { ConfEntry } from '../../config/types.ts';
import { compileRegex, groupNames } from '../../core/regex.ts';
import type { BuildContext, HttpRequest } from '../types.ts';

type Setter = (r: HttpRequest, value: string) => void;

export interface CaptureRegex {
  /** The pattern as written, for rewrite_log lines. */
  readonly source: string;
  readonly re: RegExp;
  /** Named groups with the setters of their variables. */
  readonly named: ReadonlyMap<string, Setter>;
}

/** Compile `pattern` and declare its named groups as variables, as ngx_http_regex_compile does. */
export function compileCaptureRegex(
  pattern: string,
  caseless: boolean,
  entry: ConfEntry,
  variables: BuildContext['variables'],
): CaptureRegex {
  const re = compileRegex(pattern, caseless, entry);
  const named = new Map<string, Setter>();
  for (const name of groupNames(re)) {
    if (!variables.has(name)) variables.declare(name);
    named.set(name, variables.setter(name, entry));
  }
  return { source: pattern, re, named };
}

/** Match `subject`; on success update r.captures and the named-group variables. */
export function execCaptureRegex(r: HttpRequest, rx: CaptureRegex, subject: string): boolean {
  const m = rx.re.exec(subject);
  if (m === null) return false;
  r.captures = Array.from(m, (s) => s ?? '');
  if (m.groups !== undefined) for (const [name, set] of rx.named) set(r, m.groups[name] ?? '');
  return true;
}
