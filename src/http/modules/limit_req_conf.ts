// The directives of ngx_http_limit_req_module as nginx parses them (ngx_http_limit_req_zone,
// ngx_http_limit_req), with its error texts. `sync` is NGINX Plus's fourth `limit_req_zone` argument.
import type { ConfEntry, ParseContext } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import { ngxAtoi, ngxSize, parseNumber } from '../../config/values.ts';
import { parseRate } from './limit_req_algorithm.ts';

/** nginx's least zone size: eight pages of 4k. */
export const MIN_ZONE_SIZE = 8 * 4096;

/** `limit_req_zone key zone=name:size rate=rate [sync]`. */
export interface LimitReqZoneConf {
  /** The key as written (`$binary_remote_addr`): compiled at init, compared on reload. */
  readonly key: string;
  readonly name: string;
  readonly size: number;
  /** Requests per 1000 s (see parseRate); nginx's default is 1r/s. */
  readonly rate: number;
  readonly sync: boolean;
}

/** `limit_req zone=name [burst=N] [nodelay | delay=N]`, numbers as written. */
export interface LimitReqConf {
  readonly zone: string;
  readonly burst: number;
  readonly delay: number | 'nodelay';
}

export function parseLimitReqZone(entry: ConfEntry): LimitReqZoneConf {
  let name = '';
  let size = 0;
  let rate = 1000;
  let sync = false;
  for (const arg of entry.args.slice(1)) {
    if (arg.startsWith('zone=')) {
      const colon = arg.indexOf(':');
      const parsed = colon < 0 ? null : ngxSize(arg.slice(colon + 1));
      if (parsed === null) invalid(`invalid zone size "${arg}"`, entry);
      if (parsed < MIN_ZONE_SIZE) invalid(`zone "${arg}" is too small`, entry);
      name = arg.slice(5, colon);
      size = parsed;
    } else if (arg.startsWith('rate=')) {
      rate = parseRate(arg.slice(5)) ?? invalid(`invalid rate "${arg}"`, entry);
    } else if (arg === 'sync') {
      sync = true;
    } else {
      invalid(`invalid parameter "${arg}"`, entry);
    }
  }
  if (name === '') invalid(`"${entry.name}" must have "zone" parameter`, entry);
  return { key: entry.args[0], name, size, rate, sync };
}

/** A positive integer after `prefix`, or nginx's `invalid <what> value "arg"`. */
function positive(arg: string, prefix: string, what: string, entry: ConfEntry): number {
  const n = ngxAtoi(arg.slice(prefix.length));
  return n !== null && n > 0 ? n : invalid(`invalid ${what} value "${arg}"`, entry);
}

export function parseLimitReq(entry: ConfEntry, cx: ParseContext): LimitReqConf {
  let zone = '';
  let burst = 0;
  // The later of `nodelay` and `delay=` wins, as in nginx.
  let delay: number | 'nodelay' = 0;
  for (const arg of entry.args) {
    if (arg.startsWith('zone=')) zone = arg.slice(5);
    else if (arg.startsWith('burst=')) burst = positive(arg, 'burst=', 'burst', entry);
    else if (arg.startsWith('delay=')) delay = positive(arg, 'delay=', 'delay', entry);
    else if (arg === 'nodelay') delay = 'nodelay';
    else invalid(`invalid parameter "${arg}"`, entry);
  }
  if (zone === '') invalid(`"${entry.name}" must have "zone" parameter`, entry);
  for (const e of cx.block.entries) {
    if (e === entry) break;
    if (e.name === entry.name && (e.value as LimitReqConf).zone === zone)
      invalid(`"${entry.name}" directive is duplicate`, entry);
  }
  return { zone, burst, delay };
}

/** `limit_req_status code`: ngx_conf_set_num_slot with nginx's 400..599 bounds. */
export function parseLimitReqStatus(entry: ConfEntry): number {
  const n = parseNumber(entry.args[0], entry.name);
  return n >= 400 && n <= 599 ? n : invalid('value must be between 400 and 599', entry);
}
