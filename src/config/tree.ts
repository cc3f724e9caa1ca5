// Reading the parsed tree. nginx's merge rule for almost every directive is "inherited from the
// enclosing level if and only if the current level has none", which `inherited` implements.
import type { ConfBlock, ConfEntry } from './types.ts';

/** The first entry named `name` directly in `block`. */
export function find(block: ConfBlock, name: string): ConfEntry | undefined {
  for (const e of block.entries) if (e.name === name) return e;
  return undefined;
}

/** All entries named `name` directly in `block`, in file order. */
export function findAll(block: ConfBlock, name: string): ConfEntry[] {
  return block.entries.filter((e) => e.name === name);
}

/** The entries named `name` at the nearest level (this block, then its parents) that has any. */
export function inherited(block: ConfBlock, name: string): ConfEntry[] {
  for (let b: ConfBlock | null = block; b; b = b.parent) {
    const found = findAll(b, name);
    if (found.length > 0) return found;
  }
  return [];
}

/** The value of the nearest `name` directive, or `fallback` when none is set at any level. */
export function inheritedValue<T>(block: ConfBlock, name: string, fallback: T): T {
  const found = inherited(block, name);
  return found.length > 0 ? (found[found.length - 1].value as T) : fallback;
}

/** The nearest enclosing block (this one included) of one of the given contexts. */
export function enclosing(block: ConfBlock, ...contexts: ConfBlock['context'][]): ConfBlock | undefined {
  for (let b: ConfBlock | null = block; b; b = b.parent) if (contexts.includes(b.context)) return b;
  return undefined;
}
