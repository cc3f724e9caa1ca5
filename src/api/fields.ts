// `?fields=a,b`: which fields of the requested objects are output, as NGINX Plus's API does. On a
// collection (`/http/keyvals/`, `/http/limit_reqs/`) the names apply to every member, and an empty
// value leaves only the members' names: `{"zone1":{},"zone2":{}}`. Only top-level fields are named.

/** How an endpoint's reply is shaped, for `fields`: one object, or named (or listed) objects. */
export type ReplyShape = 'object' | 'collection';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(value: unknown, names: ReadonlySet<string>): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (names.has(k)) out[k] = v;
  return out;
}

/** The names of a `fields` argument (already percent-decoded); empty names are dropped. */
export function parseFields(text: string): Set<string> {
  return new Set(text.split(',').filter((name) => name !== ''));
}

/** `value` reduced to `names`, applied to the object itself or to each member of a collection. */
export function filterFields(value: unknown, names: ReadonlySet<string>, shape: ReplyShape): unknown {
  if (shape === 'object') return pick(value, names);
  if (Array.isArray(value)) return value.map((member) => pick(member, names));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, member] of Object.entries(value)) out[k] = pick(member, names);
  return out;
}
