// nginx's virtual server selection (ngx_http_find_virtual_server) for one listen address: exact
// names first, then the longest leading wildcard (`*.example.com`, `.example.com`), then the
// longest trailing wildcard (`www.example.*`), then regexes in config order. Conflicts and
// invalid wildcards are judged as ngx_hash_add_key judges them.
import { hostname } from 'node:os';
import { type ConfEntry, ConfigError, invalid } from '../config/types.ts';
import { compileRegex, matchRegex } from '../core/regex.ts';

export interface ServerNameMatch<T> {
  readonly value: T;
  /** A regex name's captures (index 0 the whole match) and named groups. */
  readonly captures?: string[];
  readonly groups?: Record<string, string> | null;
}

/** nginx regex server names are caseless only when the pattern has an upper-case letter. */
function compileServerRegex(name: string, entry: ConfEntry): RegExp {
  const pattern = name.slice(1);
  return compileRegex(pattern, /[A-Z]/.test(pattern), entry);
}

/**
 * The `server_name` directive's arguments, checked as ngx_http_core_server_name does: `$hostname`
 * is the host name, non-regex names are lowercased, regexes must compile.
 */
export function parseServerNames(entry: ConfEntry): string[] {
  return entry.args.map((name) => {
    if ((name[0] === '*' && (name.length < 3 || name[1] !== '.')) || (name[0] === '.' && name.length < 2)) {
      invalid(`server name "${name}" is invalid`, entry);
    }
    if (name.toLowerCase() === '$hostname') return hostname().toLowerCase();
    if (name[0] !== '~') return name.toLowerCase();
    if (name.length === 1) invalid(`empty regex in server name "${name}"`, entry);
    compileServerRegex(name, entry);
    return name;
  });
}

export class ServerNameIndex<T> {
  /** nginx's "on ADDR" in the messages: the listen address this index serves. */
  private readonly address: string;
  private readonly exact = new Map<string, T>();
  /** `.example.com`: the bare domain itself. */
  private readonly dotDomains = new Map<string, T>();
  /** `*.example.com` and `.example.com`: any name below the domain. */
  private readonly subdomains = new Map<string, T>();
  /** `www.example.*`, by `www.example`. */
  private readonly tails = new Map<string, T>();
  private readonly regexes: { readonly re: RegExp; readonly value: T }[] = [];
  /** Names taken, for conflicts: the exact ones (with `.x`'s `x`) and the wildcard ones. */
  private readonly exactKeys = new Set<string>();
  private readonly headKeys = new Set<string>();
  private readonly tailKeys = new Set<string>();
  private wildcards = false;
  /** The last find() and its answer. */
  private lastHost: string | null = null;
  private lastMatch: ServerNameMatch<T> | undefined;
  /** nginx's `conflicting server name "x" on ADDR, ignored` warnings, in order. */
  readonly warnings: ConfigError[] = [];

  constructor(address = '0.0.0.0:80') {
    this.address = address;
  }

  /**
   * Add one `server_name` (as parseServerNames returns it). Returns false for a name already
   * taken on this address, which nginx ignores with a warning (also kept in `warnings`).
   */
  add(name: string, value: T, entry: ConfEntry): boolean {
    this.lastHost = null;
    if (name.startsWith('~')) {
      this.regexes.push({ re: compileServerRegex(name, entry), value });
      return true;
    }
    const key = name.toLowerCase();
    let stars = 0;
    for (let i = 0; i < key.length; i++) {
      if (key[i] === '*') stars++;
      if (stars > 1 || (key[i] === '.' && key[i + 1] === '.') || key[i] === '\0')
        return this.invalidName(name);
    }
    if (key.length > 1 && key[0] === '.') return this.addHead(name, key.slice(1), value, true);
    if (key.length > 2 && key.startsWith('*.')) return this.addHead(name, key.slice(2), value, false);
    if (key.length > 2 && key.endsWith('.*')) {
      const prefix = key.slice(0, -2);
      if (this.tailKeys.has(prefix)) return this.conflict(name);
      this.tailKeys.add(prefix);
      this.tails.set(prefix, value);
      this.wildcards = true;
      return true;
    }
    if (stars > 0) return this.invalidName(name);
    if (this.exactKeys.has(key)) return this.conflict(name);
    this.exactKeys.add(key);
    this.exact.set(key, value);
    return true;
  }

  /** The server for a Host (already lowercased by the request parser; SNI names are folded here). */
  find(host: string): ServerNameMatch<T> | undefined {
    // clients send the same Host again and again: a string compare, not hashing and regexes
    if (host === this.lastHost) return this.lastMatch;
    const match = this.lookup(host);
    this.lastHost = host;
    this.lastMatch = match;
    return match;
  }

  private lookup(host: string): ServerNameMatch<T> | undefined {
    const name = host.toLowerCase();
    const exact = this.exact.get(name);
    if (exact !== undefined) return { value: exact };
    if (this.wildcards) {
      const wildcard = this.findWildcard(name);
      if (wildcard !== undefined) return { value: wildcard };
    }
    if (name === '') return undefined;
    for (const { re, value } of this.regexes) {
      const m = matchRegex(re, name);
      if (m !== null) return { value, captures: m.captures, groups: m.groups };
    }
    return undefined;
  }

  /** `.example.com` (dot) also takes example.com itself; `*.example.com` only names below it. */
  private addHead(name: string, domain: string, value: T, dot: boolean): boolean {
    if (dot) {
      // As ngx_hash_add_key, the bare domain is claimed before the wildcard conflict check.
      if (this.exactKeys.has(domain)) return this.conflict(name);
      this.exactKeys.add(domain);
    }
    if (this.headKeys.has(domain)) return this.conflict(name);
    this.headKeys.add(domain);
    if (dot) this.dotDomains.set(domain, value);
    this.subdomains.set(domain, value);
    this.wildcards = true;
    return true;
  }

  /** The most specific leading wildcard, else the longest trailing one. */
  private findWildcard(name: string): T | undefined {
    const dotted = this.dotDomains.get(name);
    if (dotted !== undefined) return dotted;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const value = this.subdomains.get(name.slice(dot + 1));
      if (value !== undefined) return value;
    }
    for (let dot = name.lastIndexOf('.'); dot > 0; dot = name.lastIndexOf('.', dot - 1)) {
      const value = this.tails.get(name.slice(0, dot));
      if (value !== undefined) return value;
    }
    return undefined;
  }

  private conflict(name: string): false {
    this.warnings.push(
      new ConfigError(
        `conflicting server name "${name}" on ${this.address}, ignored`,
        undefined,
        undefined,
        'warn',
      ),
    );
    return false;
  }

  /** nginx reports this after parsing, without a file position. */
  private invalidName(name: string): never {
    throw new ConfigError(`invalid server name or wildcard "${name}" on ${this.address}`);
  }
}
