// Stream variables (ngx_stream_variables.c), as far as a stream server here can use them: the
// connection's addresses, and the variables stream modules define (`keyval`). One registry per
// `stream` block, so per cycle; modules add theirs in their init hook, and directives compile their
// `"text $with ${vars}"` arguments in the server hook, once every module's variables exist.
import type { ConfBlock, ConfEntry } from '../config/types.ts';
import { ConfigError, invalid } from '../config/types.ts';
import { binaryAddress } from '../variables/http_core.ts';
import type { StreamSession } from './types.ts';

export interface StreamVariableDef {
  /** Without `$`. */
  readonly name: string;
  /** The value for the session; undefined: not found (an empty value where it is used). */
  get(s: StreamSession): string | undefined;
}

/** A compiled stream complex value. */
export interface StreamComplexValue {
  readonly text: string;
  /** The value when the text has no variables, else null. */
  readonly constant: string | null;
  evaluate(s: StreamSession): string;
}

const port = (p: number) => (p > 0 && p < 65536 ? String(p) : '');

/** ngx_stream_core_variables that a session here has. */
export const streamCoreVariables: readonly StreamVariableDef[] = [
  { name: 'remote_addr', get: (s) => s.remoteAddress },
  { name: 'binary_remote_addr', get: (s) => binaryAddress(s.remoteAddress) },
  { name: 'remote_port', get: (s) => port(s.remotePort) },
  { name: 'server_addr', get: (s) => s.localAddress },
  { name: 'server_port', get: (s) => port(s.localPort) },
  { name: 'connection', get: (s) => String(s.id) },
];

type Getter = (s: StreamSession) => string | undefined;

const isNameChar = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

export class StreamVariables {
  private readonly defs = new Map<string, StreamVariableDef>();

  constructor() {
    for (const def of streamCoreVariables) this.defs.set(def.name, def);
  }

  /** A module's variable; false when the name is taken (nginx's `the duplicate "x" variable`). */
  add(def: StreamVariableDef): boolean {
    const name = def.name.toLowerCase();
    if (this.defs.has(name)) return false;
    this.defs.set(name, def);
    return true;
  }

  /** Compile `$name` and `${name}` in `text` (ngx_stream_script_compile's syntax and errors). */
  compile(text: string, entry?: ConfEntry): StreamComplexValue {
    const parts: (string | Getter)[] = [];
    let i = 0;
    while (i < text.length) {
      if (text[i] !== '$') {
        const next = text.indexOf('$', i);
        const end = next < 0 ? text.length : next;
        parts.push(text.slice(i, end));
        i = end;
        continue;
      }
      if (++i === text.length) invalid('invalid variable name', entry);
      const bracket = text[i] === '{';
      if (bracket && ++i === text.length) invalid('invalid variable name', entry);
      const start = i;
      while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
      const name = text.slice(start, i).toLowerCase();
      if (bracket) {
        if (text[i] !== '}') invalid(`the closing bracket in "${name}" variable is missing`, entry);
        i++;
      }
      if (name === '') invalid('invalid variable name', entry);
      const def = this.defs.get(name);
      if (def === undefined) throw new ConfigError(`unknown "${name}" variable`);
      parts.push((s) => def.get(s));
    }
    const constant = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
    return {
      text,
      constant,
      evaluate: (s) => {
        if (constant !== null) return constant;
        let value = '';
        for (const p of parts) value += typeof p === 'string' ? p : (p(s) ?? '');
        return value;
      },
    };
  }
}

const registries = new WeakMap<ConfBlock, StreamVariables>();

/** The variables of the `stream` block that holds `block` (the block itself, or a server in it). */
export function streamVariables(block: ConfBlock): StreamVariables {
  let stream = block;
  while (stream.context !== 'stream' && stream.parent !== null) stream = stream.parent;
  let registry = registries.get(stream);
  if (registry === undefined) registries.set(stream, (registry = new StreamVariables()));
  return registry;
}
