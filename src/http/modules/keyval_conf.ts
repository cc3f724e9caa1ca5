// The arguments of `keyval_zone` and `keyval`. NGINX Plus's own messages are not public; these follow
// the wording of nginx's other zone directives (ngx_http_limit_req_module.c: `invalid zone size`,
// `zone "x" is too small`, `"x" must have "zone" parameter`, `invalid parameter`).
import { type ConfEntry, invalid, type ParseContext } from '../../config/types.ts';
import { ngxSize, ngxTime } from '../../config/values.ts';
import type { MatchType } from '../../zones/keyval_index.ts';
import type { KeyvalZoneConf } from './keyval_store.ts';

/** Eight 4k pages, nginx's floor for slab zones (limit_req, sticky). */
const MIN_ZONE_SIZE = 8 * 4096;
const TYPES: readonly MatchType[] = ['string', 'ip', 'prefix'];

/** A `keyval` directive: its key (a complex value, compiled later), variable and zone. */
export interface KeyvalVariableConf {
  readonly key: string;
  /** Without `$`. */
  readonly variable: string;
  readonly zone: string;
}

export function parseKeyvalZone(e: ConfEntry, cx: ParseContext): KeyvalZoneConf {
  let name = '';
  let size = 0;
  let state: string | null = null;
  let timeout: number | null = null;
  let type: MatchType | null = null;
  let sync = false;
  const once = (seen: boolean, param: string) => {
    if (seen) invalid(`duplicate "${param}" parameter`, e);
  };
  for (const p of e.args) {
    if (p.startsWith('zone=')) {
      once(size !== 0, 'zone');
      const colon = p.indexOf(':');
      if (colon < 0) invalid(`invalid zone size "${p}"`, e);
      name = p.slice(5, colon);
      if (name === '') invalid(`invalid zone name "${p}"`, e);
      size = ngxSize(p.slice(colon + 1)) ?? invalid(`invalid zone size "${p}"`, e);
      if (size < MIN_ZONE_SIZE) invalid(`zone "${name}" is too small`, e);
    } else if (p.startsWith('state=')) {
      once(state !== null, 'state');
      if (p.length === 6) invalid(`invalid state file "${p}"`, e);
      state = cx.resolvePath(p.slice(6));
    } else if (p.startsWith('timeout=')) {
      once(timeout !== null, 'timeout');
      timeout = ngxTime(p.slice(8), false);
      if (timeout === null || timeout === 0) invalid(`invalid timeout "${p}"`, e);
    } else if (p.startsWith('type=')) {
      once(type !== null, 'type');
      const value = p.slice(5) as MatchType;
      if (!TYPES.includes(value)) invalid(`invalid type "${p}"`, e);
      type = value;
    } else if (p === 'sync') {
      sync = true;
    } else {
      invalid(`invalid parameter "${p}"`, e);
    }
  }
  if (size === 0) invalid('"keyval_zone" must have "zone" parameter', e);
  // zone_sync removes nothing: expiry is how pairs leave every node (NGINX Plus documents this).
  if (sync && timeout === null) invalid('"keyval_zone" with "sync" must have "timeout" parameter', e);
  return { name, size, state, timeout: timeout ?? 0, type: type ?? 'string', sync };
}

export function parseKeyval(e: ConfEntry): KeyvalVariableConf {
  const [key, variable, zone] = e.args;
  if (!variable.startsWith('$') || variable.length === 1) invalid(`invalid variable name "${variable}"`, e);
  if (!zone.startsWith('zone=')) invalid(`invalid parameter "${zone}"`, e);
  if (zone.length === 5) invalid(`invalid zone name "${zone}"`, e);
  return { key, variable: variable.slice(1), zone: zone.slice(5) };
}
