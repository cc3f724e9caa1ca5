// All variables of a cycle, as nginx's cmcf->variables_keys and prefix_variables: modules add
// their definitions, `set`/`map` declare user variables, and directives compile their
// `"text $with ${vars}"` arguments once into a ComplexValue. Names are case-insensitive
// (nginx lowercases them), and resolved at compile time so evaluation is a loop over getters.
import { type ConfEntry, ConfigError, invalid } from '../config/types.ts';
import type { HttpRequest } from '../http/types.ts';
import type { ComplexValue, VariableDef } from './types.ts';

/** A resolved variable: its value for a request, or undefined when "not found". */
export type VariableGetter = (r: HttpRequest) => string | undefined;
export type VariableSetter = (r: HttpRequest, value: string) => void;

type Part = string | VariableGetter;

const CAPTURE_GETTERS: VariableGetter[] = Array.from(
  { length: 10 },
  (_, n) => (r: HttpRequest) => r.captures?.[n],
);

/** `$1`..`$9`: the digit right after `$` (nginx takes one digit: `$10` is `$1` then "0"). */
function captureIndex(name: string): number {
  return name.length === 1 && name >= '1' && name <= '9' ? name.charCodeAt(0) - 48 : 0;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

class CompiledValue implements ComplexValue {
  readonly text: string;
  readonly constant: string | null;
  private readonly parts: readonly Part[];
  constructor(text: string, parts: Part[]) {
    this.text = text;
    this.parts = parts;
    this.constant = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
  }

  evaluate(r: HttpRequest): string {
    if (this.constant !== null) return this.constant;
    const parts = this.parts;
    if (parts.length === 1) return (parts[0] as VariableGetter)(r) ?? '';
    let value = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      value += typeof p === 'string' ? p : (p(r) ?? '');
    }
    return value;
  }
}

export class VariableRegistry {
  private readonly exact = new Map<string, VariableDef>();
  /** Prefix definitions by lowercased prefix, longest first (nginx takes the longest match). */
  private readonly prefixes: { readonly prefix: string; readonly def: VariableDef }[] = [];
  private readonly declared = new Set<string>();

  /** Register a module's variable. A second definition of a name is a programming error. */
  add(def: VariableDef): void {
    const name = def.name.toLowerCase();
    if (def.prefix) {
      if (this.prefixes.some((p) => p.prefix === name))
        throw new Error(`variable prefix "${name}" is defined twice`);
      this.prefixes.push({ prefix: name, def });
      this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
      return;
    }
    if (this.exact.has(name)) throw new Error(`variable "${name}" is defined twice`);
    this.exact.set(name, def);
  }

  /** A user variable (`set`, `map`, regex named captures): its value lives in `r.vars`. */
  declare(name: string): void {
    this.declared.add(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.getter(name) !== undefined;
  }

  /** The value of `$name` for `r`, looked up at run time (compile() resolves once instead). */
  get(r: HttpRequest, name: string): string | undefined {
    const key = name.toLowerCase();
    const n = captureIndex(key);
    if (n > 0) return r.captures?.[n];
    const def = this.exact.get(key);
    if (def !== undefined) return def.get(r, key);
    if (this.declared.has(key)) {
      const value = r.vars.get(key);
      if (value !== undefined) return value;
    }
    return this.prefixFor(key)?.get(r, key);
  }

  /** The getter `$name` resolves to once compiled (`1`..`9` are the regex captures). */
  getter(name: string): VariableGetter | undefined {
    const n = captureIndex(name);
    return n > 0 ? CAPTURE_GETTERS[n] : this.resolve(name.toLowerCase());
  }

  /**
   * The writer for `set $name`: the definition's own `set` (e.g. `$args`), else `r.vars`.
   * Built-in variables without `set` cannot be changed: nginx's `the duplicate "x" variable`.
   */
  setter(name: string, entry?: ConfEntry): VariableSetter {
    const key = name.toLowerCase();
    const def = this.exact.get(key);
    if (def !== undefined) {
      const set = def.set;
      if (set === undefined) return invalid(`the duplicate "${name}" variable`, entry);
      return (r, value) => set.call(def, r, value);
    }
    this.declared.add(key);
    return (r, value) => {
      r.vars.set(key, value);
    };
  }

  /**
   * Compile nginx's complex value: `$name`, `${name}`, `$1`..`$9` (ngx_http_script_compile).
   * Syntax errors are located at `entry`; an unknown variable is reported as nginx does it,
   * after parsing and without a file position.
   */
  compile(text: string, entry?: ConfEntry): ComplexValue {
    const parts: Part[] = [];
    let literal = '';
    let i = 0;
    while (i < text.length) {
      if (text.charCodeAt(i) !== 36 /* $ */) {
        const next = text.indexOf('$', i);
        const end = next < 0 ? text.length : next;
        literal += text.slice(i, end);
        i = end;
        continue;
      }
      if (++i === text.length) invalid('invalid variable name', entry);
      let getter: VariableGetter | undefined;
      const n = captureIndex(text[i]);
      if (n > 0) {
        getter = CAPTURE_GETTERS[n];
        i++;
      } else {
        const bracket = text[i] === '{';
        if (bracket && ++i === text.length) invalid('invalid variable name', entry);
        const start = i;
        while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
        const name = text.slice(start, i);
        if (bracket) {
          if (text[i] !== '}') invalid(`the closing bracket in "${name}" variable is missing`, entry);
          i++;
        }
        if (name === '') invalid('invalid variable name', entry);
        // `${1}` is a variable named "1" to nginx, not a capture: only `$1` is.
        getter = this.resolve(name.toLowerCase());
        if (getter === undefined) throw new ConfigError(`unknown "${name.toLowerCase()}" variable`);
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(getter);
    }
    if (literal !== '' || parts.length === 0) parts.push(literal);
    return new CompiledValue(text, parts);
  }

  /**
   * An exact definition, else a declared variable (falling back to a matching prefix definition
   * while unset, as nginx's `set $http_x` does), else a prefix definition.
   */
  private resolve(key: string): VariableGetter | undefined {
    const def = this.exact.get(key);
    if (def !== undefined) return (r) => def.get(r, key);
    const prefix = this.prefixFor(key);
    if (this.declared.has(key)) {
      return prefix === undefined ? (r) => r.vars.get(key) : (r) => r.vars.get(key) ?? prefix.get(r, key);
    }
    return prefix === undefined ? undefined : (r) => prefix.get(r, key);
  }

  private prefixFor(key: string): VariableDef | undefined {
    for (const p of this.prefixes) {
      if (key.startsWith(p.prefix)) return p.def;
    }
    return undefined;
  }
}
