// The `types { type ext ...; }` table and the Content-Type of a URI (ngx_http_set_content_type):
// the extension after the URI's last dot, lowercased, looked up; default_type otherwise.
import type { ConfBlock, ConfEntry } from '../../config/types.ts';

export type TypesTable = ReadonlyMap<string, string>;

/** nginx's compiled-in table, in force when no level has a `types` block. */
export const DEFAULT_TYPES: TypesTable = new Map([
  ['html', 'text/html'],
  ['gif', 'image/gif'],
  ['jpg', 'image/jpeg'],
]);

/** One table from `types` blocks of one level, in order; a later extension replaces an earlier one. */
export function typesTable(entries: readonly ConfEntry[]): TypesTable {
  const table = new Map<string, string>();
  for (const block of entries) {
    for (const line of block.block?.entries ?? []) {
      for (const ext of line.args) table.set(ext.toLowerCase(), line.name);
    }
  }
  return table;
}

const tables = new WeakMap<ConfEntry, TypesTable>();

/** The table in force for a block: the nearest level with `types`, else nginx's default. */
export function typesFor(block: ConfBlock): TypesTable {
  for (let b: ConfBlock | null = block; b; b = b.parent) {
    const entries = b.entries.filter((e) => e.name === 'types');
    if (entries.length === 0) continue;
    let table = tables.get(entries[0]);
    if (table === undefined) {
      table = typesTable(entries);
      tables.set(entries[0], table);
    }
    return table;
  }
  return DEFAULT_TYPES;
}

/** ngx_http_set_exten: what follows the last `.` of the last path segment, unless the dot starts it. */
export function extensionOf(uri: string): string {
  for (let i = uri.length - 1; i > 1; i--) {
    const c = uri.charCodeAt(i);
    if (c === 0x2e /* . */ && uri.charCodeAt(i - 1) !== 0x2f /* / */) return uri.slice(i + 1);
    if (c === 0x2f) return '';
  }
  return '';
}

export function contentTypeFor(uri: string, table: TypesTable, defaultType: string): string {
  const ext = extensionOf(uri);
  if (ext === '') return defaultType;
  // the same extension again and again: a compare, not a fresh string's hash and a Map lookup
  if (ext === lastExt && table === lastTable) return lastType ?? defaultType;
  const type = table.get(ext.toLowerCase());
  lastExt = ext;
  lastTable = table;
  lastType = type;
  return type ?? defaultType;
}

let lastExt = '';
let lastTable: TypesTable | null = null;
let lastType: string | undefined;
