// `/http/keyvals/` and `/stream/keyvals/` of the NGINX Plus API (ngx_http_api_module): read, add,
// change, delete pairs. Statuses, codes and texts as Plus's reference and real output give them
// (`key "a" already exists`, KeyvalKeyExists). Values in a body may be strings, numbers or booleans
// (Plus stores `{"a":1}` as "1"), or `{"value": ..., "expire": ms}` (API v5+) in zones with a timeout.
//
// A full zone is not in Plus's reference (keyval has no out-of-memory code in any API version); we
// answer 507 KeyvalZoneFull, as no pair is ever dropped to make room, and a POST of several pairs
// that does not fit adds none of them.
import type { KeyvalStore } from '../http/modules/keyval_store.ts';
import { validKey } from '../http/modules/keyval_store.ts';
import { ApiError } from './errors.ts';
import type { ApiEndpoint, ApiRequest } from './router.ts';

/** The keyval zones the API sees now (the live cycle's). */
export type KeyvalZones = () => ReadonlyMap<string, KeyvalStore>;

const formatError = (text: string) => new ApiError(400, 'KeyvalFormatError', text);
const keyNotFound = (key: string) => new ApiError(404, 'KeyvalKeyNotFound', `key "${key}" not found`);
const zoneFull = (zone: string) => new ApiError(507, 'KeyvalZoneFull', `keyval zone "${zone}" is full`);

/** A pair from a POST or PATCH body: a new value (or null: delete), an expiry, or both. */
interface Change {
  readonly key: string;
  readonly value: string | null | undefined;
  readonly expire: number | undefined;
}

function zoneOf(zones: KeyvalZones, req: ApiRequest): KeyvalStore {
  const store = zones().get(req.params.zone);
  if (store === undefined) throw new ApiError(404, 'KeyvalNotFound', 'keyval not found');
  return store;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Check a body's pairs against the zone: key format, value shape, `expire` only with a timeout. */
async function readChanges(req: ApiRequest, store: KeyvalStore, allowDelete: boolean): Promise<Change[]> {
  const body = await req.json();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw formatError('invalid JSON');
  const changes: Change[] = [];
  for (const [key, raw] of Object.entries(body)) {
    if (!validKey(store.conf.type, key)) throw formatError('invalid key format');
    if (raw === null && allowDelete) {
      changes.push({ key, value: null, expire: undefined });
      continue;
    }
    const value = scalar(raw);
    if (value !== undefined) {
      changes.push({ key, value, expire: undefined });
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || req.version < 5) {
      throw formatError('invalid value');
    }
    const { value: inner, expire } = raw as { value?: unknown; expire?: unknown };
    const text = inner === undefined ? undefined : scalar(inner);
    if ((inner !== undefined && text === undefined) || (text === undefined && !allowDelete)) {
      throw formatError('invalid value');
    }
    if (expire !== undefined) {
      if (store.conf.timeout === 0) throw formatError('keyval timeout is not enabled');
      if (!Number.isSafeInteger(expire) || (expire as number) <= 0) throw formatError('invalid expire value');
    }
    if (text === undefined && expire === undefined) throw formatError('invalid value');
    changes.push({ key, value: text, expire: expire as number | undefined });
  }
  if (changes.length === 0) throw formatError('key required');
  return changes;
}

async function add(zones: KeyvalZones, req: ApiRequest) {
  const store = zoneOf(zones, req);
  const changes = await readChanges(req, store, false);
  // Several pairs only into an empty zone (Plus's rule: a bulk load, not a merge).
  if (changes.length > 1 && !store.isEmpty()) throw formatError('only one key can be added');
  for (const { key } of changes) {
    if (store.get(key) !== undefined)
      throw new ApiError(409, 'KeyvalKeyExists', `key "${key}" already exists`);
  }
  const added: string[] = [];
  for (const { key, value, expire } of changes) {
    if (store.set(key, value as string, expire) === 'full') {
      for (const k of added) store.delete(k);
      throw zoneFull(store.name);
    }
    added.push(key);
  }
  return { status: 201 };
}

async function change(zones: KeyvalZones, req: ApiRequest) {
  const store = zoneOf(zones, req);
  const changes = await readChanges(req, store, true);
  if (changes.length > 1) throw formatError('only one key can be updated');
  const { key, value, expire } = changes[0];
  if (store.get(key) === undefined) throw keyNotFound(key);
  if (value === null) store.delete(key);
  else if (
    (value === undefined ? store.setExpiry(key, expire as number) : store.set(key, value, expire)) === 'full'
  )
    throw zoneFull(store.name);
  return { status: 204 };
}

function read(zones: KeyvalZones, req: ApiRequest) {
  const store = zoneOf(zones, req);
  const key = req.arg('key');
  if (key === undefined) return { status: 200, body: Object.fromEntries(store.entries()) };
  const value = store.get(key);
  if (value === undefined) throw keyNotFound(key);
  return { status: 200, body: { [key]: value } };
}

/** The two endpoints of one section (`http` or `stream`) over its zones. */
export function keyvalEndpoints(section: 'http' | 'stream', zones: KeyvalZones): ApiEndpoint[] {
  const since = section === 'stream' ? 2 : 1;
  return [
    {
      path: [section, 'keyvals'],
      since,
      shape: 'collection',
      methods: {
        GET: () => {
          const body: Record<string, Record<string, string>> = {};
          for (const [name, store] of zones()) body[name] = Object.fromEntries(store.entries());
          return { status: 200, body };
        },
      },
    },
    {
      path: [section, 'keyvals', '{zone}'],
      since,
      methods: {
        GET: (req) => read(zones, req),
        POST: (req) => add(zones, req),
        PATCH: (req) => change(zones, req),
        DELETE: (req) => {
          zoneOf(zones, req).clear();
          return { status: 204 };
        },
      },
    },
  ];
}
