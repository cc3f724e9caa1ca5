// The condition of `if (...)`, parsed as ngx_http_rewrite_if_condition does (same errors) and
// evaluated per request: a variable's truth, = and !=, the four regex operators, and file tests.
import { statSync } from 'node:fs';
import type { ConfEntry } from '../../config/types.ts';
import { ConfigError, invalid } from '../../config/types.ts';
import type { BuildContext, HttpRequest } from '../types.ts';
import { errnoCode, errnoSuffix, isNotFound } from './file_errors.ts';
import { compileCaptureRegex, execCaptureRegex } from './regex_captures.ts';

/** True or false for the request; `log` is rewrite_log (regex matches are logged at notice). */
export type Condition = (r: HttpRequest, log: boolean) => boolean;

type Variables = BuildContext['variables'];

/** Parse the arguments of `if` (parentheses included, as the lexer split them). */
export function compileCondition(args: readonly string[], entry: ConfEntry, variables: Variables): Condition {
  const value = [...args];
  let last = value.length - 1;
  if (value[0] === undefined || !value[0].startsWith('('))
    invalid(`invalid condition "${value[0] ?? ''}"`, entry);
  let cur = 0;
  if (value[0].length === 1) cur = 1;
  else value[0] = value[0].slice(1);
  if (!value[last].endsWith(')')) invalid(`invalid condition "${value[last]}"`, entry);
  if (value[last].length === 1) last--;
  else value[last] = value[last].slice(0, -1);

  const p = value[cur] ?? '';
  if (p.length > 1 && p[0] === '$') {
    if (cur !== last && cur + 2 !== last) invalid(`invalid condition "${p}"`, entry);
    // The whole word is the name, as ngx_http_rewrite_variable takes it; unknown ones fail without a position.
    const name = p.slice(1);
    const getter = variables.getter(name);
    if (getter === undefined) throw new ConfigError(`unknown "${name.toLowerCase()}" variable`);
    const read = (r: HttpRequest) => getter(r) ?? '';
    if (cur === last) return (r) => isTrue(read(r));
    return compileComparison(read, value[cur + 1], value[last], entry, variables);
  }
  if ((p.length === 2 && p[0] === '-') || (p.length === 3 && p[0] === '!' && p[1] === '-')) {
    if (cur + 1 !== last) invalid(`invalid condition "${p}"`, entry);
    const negate = p[0] === '!';
    const op = p[p.length - 1];
    if (!'fdex'.includes(op)) invalid(`invalid condition "${p}"`, entry);
    const path = variables.compile(value[last], entry);
    return (r) => fileTest(r, op, path.evaluate(r)) !== negate;
  }
  return invalid(`invalid condition "${p}"`, entry);
}

/** nginx's truth of a value: anything but "" and "0". */
export function isTrue(v: string): boolean {
  return v !== '' && v !== '0';
}

function compileComparison(
  read: (r: HttpRequest) => string,
  op: string,
  operand: string,
  entry: ConfEntry,
  variables: Variables,
): Condition {
  if (op === '=' || op === '!=') {
    const expected = variables.compile(operand, entry);
    const equal = op === '=';
    return (r) => (read(r) === expected.evaluate(r)) === equal;
  }
  if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
    const rx = compileCaptureRegex(operand, op.endsWith('*'), entry, variables);
    const negative = op[0] === '!';
    return (r, log) => {
      const line = read(r);
      const matched = execCaptureRegex(r, rx, line);
      if (!matched) r.captures = null;
      if (log) r.logError('notice', `"${operand}" ${matched ? 'matches' : 'does not match'} "${line}"`);
      return matched !== negative;
    };
  }
  return invalid(`unexpected "${op}" in condition`, entry);
}

/** -f -d -e -x as ngx_http_script_file_code: a failed stat is false (logged unless "not found"). */
function fileTest(r: HttpRequest, op: string, path: string): boolean {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    if (!isNotFound(errnoCode(err))) r.logError('crit', `stat() "${path}" failed${errnoSuffix(err)}`);
    return false;
  }
  if (st === undefined) return false;
  switch (op) {
    case 'f':
      return st.isFile();
    case 'd':
      return st.isDirectory();
    case 'e':
      return st.isFile() || st.isDirectory() || st.isSymbolicLink();
    default:
      // ngx_is_exec: the owner's execute bit.
      return (Number(st.mode) & 0o100) !== 0;
  }
}
