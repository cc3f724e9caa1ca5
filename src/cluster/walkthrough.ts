// The short tour the runner prints on start: curl commands that show the synced state at work,
// found in the configuration itself so they stay true when it changes: a location limited by a
// synced limit_req zone, a synced keyval zone written through the API, and a location proxied to an
// upstream whose `sticky learn` zone is synced. A part the configuration lacks is left out.
import { find, findAll } from '../config/tree.ts';
import type { LimitReqConf } from '../http/modules/limit_req_conf.ts';
import type { StickyConf } from '../http/modules/sticky_conf.ts';
import type { ClusterConfig, LocationSummary } from './config_scan.ts';
import { apiBase } from './status.ts';

function url(l: LocationSummary, address: string, uri = l.path): string {
  return `http://${l.host ?? address}:${l.port}${uri}`;
}

function synced(config: ClusterConfig, directive: string): string[] {
  return config.zones.filter((z) => z.directive === directive && z.sync).map((z) => z.name);
}

function rateLimit(config: ClusterConfig, addresses: readonly string[]): string[] {
  const zones = synced(config, 'limit_req_zone');
  const loc = config.locations.find((l) =>
    findAll(l.block, 'limit_req').some((e) => zones.includes((e.value as LimitReqConf).zone)),
  );
  if (loc === undefined) return [];
  const urls = addresses.map((a) => url(loc, a)).join(' ');
  return [
    '# One rate limit for the whole cluster: requests to every node count against it, so the',
    '# 429s start as early as if all of them went to one node.',
    `for i in 1 2 3 4; do for u in ${urls}; do curl -s -o /dev/null -w '%{http_code} ' $u; done; done; echo`,
  ];
}

function keyval(config: ClusterConfig, addresses: readonly string[]): string[] {
  const zone = synced(config, 'keyval_zone')[0];
  const first = apiBase(config, addresses[0]);
  if (zone === undefined || first === null || config.http === null) return [];
  const last = addresses[addresses.length - 1];
  // The key a `keyval` directive of the zone looks up, when it is written as plain text.
  const entry = findAll(config.http, 'keyval').find(
    (e) => e.args[2] === `zone=${zone}` && !e.args[0].includes('$'),
  );
  const key = entry?.args[0] ?? 'example';
  const root = config.locations.find((l) => l.path === '/');
  return [
    `# A key written on node 1 is seen by node ${addresses.length}: set "${key}" in the synced zone "${zone}",`,
    root ? '# see the answer change there, then delete it.' : '# then delete it.',
    `curl -s -X POST -d '{"${key}":"on"}' ${first}/9/http/keyvals/${zone}`,
    `curl -s ${apiBase(config, last)}/9/http/keyvals/${zone}; echo`,
    ...(root ? [`curl -s ${url(root, last)}`] : []),
    `curl -s -X PATCH -d '{"${key}":null}' ${first}/9/http/keyvals/${zone}`,
  ];
}

/** The upstream a location proxies to (`proxy_pass http://app/x` → `app`). */
function proxied(l: LocationSummary): string | undefined {
  return find(l.block, 'proxy_pass')
    ?.args[0].replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '');
}

function sticky(config: ClusterConfig, addresses: readonly string[]): string[] {
  const zones = synced(config, 'sticky');
  const learned = new Map<string, StickyConf>();
  for (const e of config.http ? findAll(config.http, 'upstream') : []) {
    const conf = (e.block && find(e.block, 'sticky'))?.value as StickyConf | undefined;
    if (conf?.mode === 'learn' && zones.includes(conf.learn.zone)) learned.set(e.args[0], conf);
  }
  const loc = config.locations.find((l) => learned.has(proxied(l) ?? ''));
  if (loc === undefined) return [];
  const lookup = learned.get(proxied(loc) ?? '')?.lookup ?? [];
  const cookie = lookup.find((v) => v.startsWith('cookie_'))?.slice('cookie_'.length) ?? 'session';
  const loop = addresses.map((a) => url(loc, a)).join(' ');
  return [
    `# A session learned on node 1 sticks to its backend through every node: take the "${cookie}"`,
    '# cookie node 1 hands out, then send it to all of them.',
    `c=$(curl -s -o /dev/null -D - ${url(loc, addresses[0])} | grep -io '${cookie}=[^;]*')`,
    `for u in ${loop}; do curl -s -b "$c" $u; done`,
  ];
}

/** The walkthrough for a cluster of nodes at `addresses`; empty when nothing in it is synced. */
export function walkthrough(config: ClusterConfig, addresses: readonly string[]): string[] {
  const parts = [rateLimit, keyval, sticky]
    .map((part) => part(config, addresses))
    .filter((p) => p.length > 0);
  if (parts.length === 0) return [];
  return ['Try it:', ...parts.flatMap((p) => ['', ...p.map((line) => `  ${line}`)])];
}
