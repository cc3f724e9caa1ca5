// The string keys of a `map` block, as nginx's ngx_hash_add_key and ngx_hash_find_combined treat
// them: case-insensitive exact keys, and with `hostnames` the wildcard forms `*.example.com`,
// `.example.com` (also example.com itself) and `www.example.*`. Lookup order: exact, the longest
// leading wildcard, the longest trailing wildcard.

export type AddResult = 'ok' | 'invalid' | 'conflict';

export class MapKeys<V> {
  private readonly exact = new Map<string, V>();
  /** `*.x` and `.x` by `x`; `bare` when `x` itself matches too (the `.x` form). */
  private readonly head = new Map<string, { readonly value: V; readonly bare: boolean }>();
  private readonly tail = new Map<string, V>();
  /** Names an exact key would conflict with: exact keys and the `x` of `.x` (ha->keys_hash). */
  private readonly exactNames = new Set<string>();

  /** ngx_hash_add_key: `wildcard` is the map's `hostnames` (NGX_HASH_WILDCARD_KEY). */
  add(key: string, value: V, wildcard: boolean): AddResult {
    const lower = key.toLowerCase();
    if (wildcard) {
      const stars = lower.split('*').length - 1;
      if (stars > 1 || lower.includes('..') || lower.includes('\0')) return 'invalid';
      if (lower.length > 1 && lower[0] === '.') return this.addHead(lower.slice(1), value, true);
      if (lower.length > 2 && lower.startsWith('*.')) return this.addHead(lower.slice(2), value, false);
      if (lower.length > 2 && lower.endsWith('.*')) {
        const name = lower.slice(0, -2);
        if (this.tail.has(name)) return 'conflict';
        this.tail.set(name, value);
        return 'ok';
      }
      if (stars > 0) return 'invalid';
    }
    if (this.exactNames.has(lower)) return 'conflict';
    this.exactNames.add(lower);
    this.exact.set(lower, value);
    return 'ok';
  }

  private addHead(name: string, value: V, bare: boolean): AddResult {
    if (bare) {
      if (this.exactNames.has(name)) return 'conflict';
      this.exactNames.add(name);
    }
    if (this.head.has(name)) return 'conflict';
    this.head.set(name, { value, bare });
    return 'ok';
  }

  /** The value for `name`, or undefined when no key matches. */
  find(name: string): V | undefined {
    const lower = name.toLowerCase();
    const exact = this.exact.get(lower);
    if (exact !== undefined) return exact;
    if (this.head.size > 0) {
      const self = this.head.get(lower);
      if (self?.bare) return self.value;
      // Suffixes after each dot, longest (most specific) first.
      for (let dot = lower.indexOf('.'); dot >= 0; dot = lower.indexOf('.', dot + 1)) {
        const found = this.head.get(lower.slice(dot + 1));
        if (found !== undefined) return found.value;
      }
    }
    if (this.tail.size > 0) {
      // Prefixes before each dot, longest first.
      for (let dot = lower.lastIndexOf('.'); dot > 0; dot = lower.lastIndexOf('.', dot - 1)) {
        const found = this.tail.get(lower.slice(0, dot));
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
}
