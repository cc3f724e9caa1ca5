// What the cluster runner reads from a configuration, parsed with the project's parser and the
// modules' directive tables (as `-t` parses it): the names `zone_sync_server ... resolve` looks up
// (the embedded responder answers them), the resolver they are asked of (where the responder
// listens), the shared zones and their `sync` flag (a roll-out may not change it), the pid file, and
// the HTTP locations with the port they are served on (the API for `status`, the walkthrough).
import { isIP } from 'node:net';
import { find, findAll, inherited } from '../config/tree.ts';
import type { ConfBlock } from '../config/types.ts';
import { parseCycleConfig, pidPathOf } from '../core/cycle.ts';
import type { ListenOptions } from '../http/modules/core.ts';
import type { KeyvalZoneConf } from '../http/modules/keyval_store.ts';
import type { LimitReqZoneConf } from '../http/modules/limit_req_conf.ts';
import type { StickyConf } from '../http/modules/sticky_conf.ts';
import type { ResolverConf } from '../stream/core_module.ts';

/** A shared memory zone as its directive declares it. */
export interface ZoneSummary {
  readonly name: string;
  /** The declaring directive: `keyval_zone`, `limit_req_zone`, `sticky` (learn), `stream keyval_zone`. */
  readonly directive: string;
  readonly sync: boolean;
  readonly file: string;
  readonly line: number;
}

/** An HTTP location and the address its server listens on (a null host: port-only or `*`). */
export interface LocationSummary {
  readonly host: string | null;
  readonly port: number;
  /** The location's URI as written (`/api/`; `= /x` is `/x`). */
  readonly path: string;
  readonly block: ConfBlock;
}

export interface ClusterConfig {
  /** Names some `zone_sync_server` resolves (`internal.nginxaas.nginx.com`), lowercased. */
  readonly names: string[];
  /** The resolver of the first server that resolves one; null when none does. */
  readonly resolver: { readonly host: string; readonly port: number; readonly validMs?: number } | null;
  readonly zones: ZoneSummary[];
  readonly locations: LocationSummary[];
  /** The `http` block, for what the walkthrough looks up. */
  readonly http: ConfBlock | null;
  /** The pid file for a given prefix. */
  pidPath(prefix: string): string;
}

/** Parse `confFile` as `-t` would with `prefix`; throws the parser's ConfigError. */
export function scanConfig(confFile: string, prefix: string): ClusterConfig {
  const { main } = parseCycleConfig({ confFile, prefix });
  const http = find(main, 'http')?.block;
  const stream = find(main, 'stream')?.block;
  const names: string[] = [];
  let resolver: ClusterConfig['resolver'] = null;
  for (const server of stream ? blocksOf(stream, 'server') : []) {
    for (const e of findAll(server, 'zone_sync_server')) {
      if (!e.args.includes('resolve')) continue;
      const host = hostOf(e.args[0]).toLowerCase();
      if (isIP(host) !== 0 || names.includes(host)) continue;
      names.push(host);
      const conf = inherited(server, 'resolver').at(-1)?.value as ResolverConf | undefined;
      if (resolver === null && conf !== undefined) resolver = { ...conf.servers[0], validMs: conf.valid };
    }
  }
  return {
    names,
    resolver,
    zones: [
      ...(http ? zonesOf(http) : []),
      ...(stream ? findAll(stream, 'keyval_zone') : []).map((e) => {
        const conf = e.value as KeyvalZoneConf;
        return {
          name: conf.name,
          directive: `stream ${e.name}`,
          sync: conf.sync,
          file: e.file,
          line: e.line,
        };
      }),
    ],
    locations: http ? locationsOf(http) : [],
    http: http ?? null,
    pidPath: (p) => pidPathOf(main, p),
  };
}

/** `name:port`, `[v6]:port` or `name` → the host part. */
function hostOf(address: string): string {
  const bracketed = /^\[([^\]]*)\]/.exec(address);
  if (bracketed) return bracketed[1];
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

function blocksOf(block: ConfBlock, name: string): ConfBlock[] {
  return findAll(block, name).flatMap((e) => (e.block ? [e.block] : []));
}

function zonesOf(http: ConfBlock): ZoneSummary[] {
  const zones: ZoneSummary[] = [];
  const add = (directive: string, z: { name: string; sync: boolean }, file: string, line: number) =>
    zones.push({ name: z.name, directive, sync: z.sync, file, line });
  for (const e of findAll(http, 'keyval_zone')) add(e.name, e.value as KeyvalZoneConf, e.file, e.line);
  for (const e of findAll(http, 'limit_req_zone')) add(e.name, e.value as LimitReqZoneConf, e.file, e.line);
  for (const upstream of blocksOf(http, 'upstream')) {
    const e = find(upstream, 'sticky');
    const conf = e?.value as StickyConf | undefined;
    if (e && conf?.mode === 'learn')
      add(e.name, { name: conf.learn.zone, sync: conf.learn.sync }, e.file, e.line);
  }
  return zones;
}

function locationsOf(http: ConfBlock): LocationSummary[] {
  const out: LocationSummary[] = [];
  for (const server of blocksOf(http, 'server')) {
    const listen = find(server, 'listen')?.value as ListenOptions | undefined;
    const at = { host: listen?.host ?? null, port: listen?.port ?? 80 };
    const walk = (block: ConfBlock) => {
      for (const e of findAll(block, 'location')) {
        if (!e.block) continue;
        out.push({ ...at, path: e.args[e.args.length - 1], block: e.block });
        walk(e.block);
      }
    };
    walk(server);
  }
  return out;
}

/**
 * The zones whose `sync` flag `next` changes from `running` (same name, same directive): NGINX Plus
 * refuses that change, and a roll-out would leave the cluster with nodes of both kinds.
 */
export function syncChanges(running: readonly ZoneSummary[], next: readonly ZoneSummary[]): string[] {
  const messages: string[] = [];
  for (const z of next) {
    const old = running.find((o) => o.name === z.name && o.directive === z.directive);
    if (old === undefined || old.sync === z.sync) continue;
    messages.push(
      `the "sync" parameter cannot be ${z.sync ? 'added to' : 'removed from'} the existing zone "${z.name}" ` +
        `in ${z.file}:${z.line}; remove the directive, reload, then add it back with the new parameters`,
    );
  }
  return messages;
}
