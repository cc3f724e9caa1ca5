// `/api/{v}/http/limit_reqs/` (API 6+): each limit_req_zone's counters, as NGINX Plus reports
// them, and DELETE to reset one zone's. The zones are those of the cycle serving the API request.
import { enclosing } from '../config/tree.ts';
import type { ConfBlock } from '../config/types.ts';
import { cycleZonesOf, type LimitReqZone, resetCounters } from '../http/modules/limit_req_zone.ts';
import type { HttpRequest } from '../http/types.ts';
import { ApiError } from './errors.ts';
import type { ApiEndpoint, ApiRequest } from './router.ts';

const SINCE = 6;

function zonesOf(r: HttpRequest): ReadonlyMap<string, LimitReqZone> {
  return cycleZonesOf(enclosing(r.server.block, 'http') as ConfBlock);
}

function zoneOf(req: ApiRequest): LimitReqZone {
  const zone = zonesOf(req.http).get(req.params.zone);
  if (zone === undefined) throw new ApiError(404, 'LimitReqNotFound', 'limit_req not found');
  return zone;
}

export const limitReqsEndpoint: ApiEndpoint = {
  path: ['http', 'limit_reqs'],
  since: SINCE,
  shape: 'collection',
  methods: {
    GET: (req) => {
      const body: Record<string, unknown> = {};
      for (const [name, zone] of zonesOf(req.http)) body[name] = { ...zone.counters };
      return { status: 200, body };
    },
  },
};

export const limitReqEndpoint: ApiEndpoint = {
  path: ['http', 'limit_reqs', '{zone}'],
  since: SINCE,
  methods: {
    GET: (req) => ({ status: 200, body: { ...zoneOf(req).counters } }),
    DELETE: (req) => {
      resetCounters(zoneOf(req).counters);
      return { status: 204 };
    },
  },
};
