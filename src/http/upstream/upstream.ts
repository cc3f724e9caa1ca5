// ngx_http_upstream_module's `upstream name { server ...; }` blocks with the keepalive module's
// directives, and the per-cycle registry of groups that proxy_pass looks names up in (implicit
// groups for `proxy_pass http://host:port` are added there, one per host and port, as
// ngx_http_upstream_add shares them).
import { find } from '../../config/tree.ts';
import type { ConfBlock, ConfEntry, Context } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import {
  ignoredDirective,
  ngxAtoi,
  ngxTime,
  parseAddress,
  parseNumber,
  timeDirective,
} from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { UpstreamPool } from '../engine/upstream_pool.ts';
import { balancerFactoryFor, type Peer, type UpstreamGroup } from './balancer.ts';
import { peerName, resolveHostSync } from './resolve.ts';
import { RoundRobin } from './round_robin.ts';
import { upstreamVariables } from './variables.ts';

const U: Context[] = ['upstream'];

/** A `server` line of an upstream block, resolved. */
interface ServerLine {
  readonly server: string;
  readonly addresses: string[];
  readonly port: number;
  readonly weight: number;
  readonly maxFails: number;
  readonly failTimeout: number;
  readonly backup: boolean;
  readonly down: boolean;
  readonly route: string;
}

/** Resolve `host` or fail with nginx's `host not found in upstream "x"`. */
export function resolveUpstreamHost(host: string, shown: string, entry: ConfEntry): string[] {
  return resolveHostSync(host) ?? invalid(`host not found in upstream "${shown}"`, entry);
}

function parseServer(e: ConfEntry): ServerLine {
  const addr = parseAddress(e.args[0], 'server', 80);
  if (addr.unix !== undefined || addr.host === null) invalid(`invalid host in upstream "${e.args[0]}"`, e);
  let weight = 1;
  let maxFails = 1;
  let failTimeout = 10_000;
  let backup = false;
  let down = false;
  let route = '';
  for (const p of e.args.slice(1)) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq + 1);
    const value = p.slice(eq + 1);
    if (key === 'weight=') {
      const n = ngxAtoi(value);
      if (n === null || n === 0) invalid(`invalid parameter "${p}"`, e);
      weight = n;
    } else if (key === 'max_fails=') {
      maxFails = ngxAtoi(value) ?? invalid(`invalid parameter "${p}"`, e);
    } else if (key === 'fail_timeout=') {
      const s = ngxTime(value, true);
      if (s === null) invalid(`invalid parameter "${p}"`, e);
      failTimeout = s * 1000;
    } else if (key === 'max_conns=') {
      if (ngxAtoi(value) === null) invalid(`invalid parameter "${p}"`, e);
    } else if (key === 'route=') {
      route = value;
    } else if (p === 'backup') backup = true;
    else if (p === 'down') down = true;
    else invalid(`invalid parameter "${p}"`, e);
  }
  const addresses = resolveUpstreamHost(addr.host as string, e.args[0], e);
  return {
    server: e.args[0],
    addresses,
    port: addr.port,
    weight,
    maxFails,
    failTimeout,
    backup,
    down,
    route,
  };
}

function parseKeepalive(e: ConfEntry): number {
  const n = ngxAtoi(e.args[0]);
  if (n === null || n === 0) invalid(`invalid value "${e.args[0]}" in "${e.name}" directive`, e);
  return n;
}

function parseUpstream(e: ConfEntry): string {
  const block = e.block as ConfBlock;
  if (!block.entries.some((x) => x.name === 'server')) invalid('no servers are inside upstream', e);
  return e.args[0];
}

export function newPeer(
  address: string,
  port: number,
  server: string,
  index: number,
  line?: ServerLine,
): Peer {
  const weight = line?.weight ?? 1;
  return {
    name: peerName(address, port),
    host: address,
    port,
    server,
    weight,
    maxFails: line?.maxFails ?? 1,
    failTimeout: line?.failTimeout ?? 10_000,
    backup: line?.backup ?? false,
    down: line?.down ?? false,
    route: line?.route ?? '',
    index,
    fails: 0,
    accessed: 0,
    checked: 0,
    conns: 0,
    currentWeight: 0,
    effectiveWeight: weight,
  };
}

interface GroupOptions {
  readonly name: string;
  readonly explicit: boolean;
  readonly entry: ConfEntry | null;
  readonly keepalive: number;
  readonly keepaliveRequests: number;
  readonly keepaliveTimeout: number;
}

function makeGroup(options: GroupOptions, lines: readonly ServerLine[]): UpstreamGroup {
  const peers: Peer[] = [];
  const backups: Peer[] = [];
  for (const line of lines) {
    const list = line.backup ? backups : peers;
    for (const a of line.addresses) list.push(newPeer(a, line.port, line.server, list.length, line));
  }
  return { ...options, peers, backups, balancer: new RoundRobin({ peers, backups }) };
}

function buildGroup(entry: ConfEntry): UpstreamGroup {
  const block = entry.block as ConfBlock;
  const lines = block.entries.filter((e) => e.name === 'server').map((e) => e.value as ServerLine);
  if (lines.every((l) => l.backup)) invalid(`no servers in upstream "${entry.args[0]}"`, entry);
  const group = makeGroup(
    {
      name: entry.args[0],
      explicit: true,
      entry,
      keepalive: (find(block, 'keepalive')?.value as number | undefined) ?? 0,
      keepaliveRequests: (find(block, 'keepalive_requests')?.value as number | undefined) ?? 1000,
      keepaliveTimeout: (find(block, 'keepalive_timeout')?.value as number | undefined) ?? 60_000,
    },
    lines,
  );
  const custom = balancerFactoryFor(block.entries);
  if (custom !== null) group.balancer = custom.factory(group, custom.entry);
  return group;
}

/** The upstream groups of one `http` block: named ones, and implicit ones by `host:port`. */
export class UpstreamRegistry {
  private readonly byName = new Map<string, UpstreamGroup>();
  private readonly implicit = new Map<string, UpstreamGroup>();

  add(group: UpstreamGroup): void {
    this.byName.set(group.name.toLowerCase(), group);
  }

  /** The `upstream` blocks, in configuration order. */
  explicitGroups(): IterableIterator<UpstreamGroup> {
    return this.byName.values();
  }

  /** The `upstream` block called `name` (case-insensitive, as nginx compares hosts). */
  named(name: string): UpstreamGroup | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The implicit group for `host:port` (shown as `host:port` in errors), created on first use. */
  implicitGroup(host: string, port: number, addresses: string[]): UpstreamGroup {
    const key = `${host.toLowerCase()}:${port}`;
    let group = this.implicit.get(key);
    if (group === undefined) {
      const options = {
        name: host,
        explicit: false,
        entry: null,
        keepalive: 0,
        keepaliveRequests: 1000,
        keepaliveTimeout: 60_000,
      };
      const line: ServerLine = {
        server: host,
        addresses,
        port,
        weight: 1,
        maxFails: 1,
        failTimeout: 10_000,
        backup: false,
        down: false,
        route: '',
      };
      group = makeGroup(options, [line]);
      this.implicit.set(key, group);
    }
    return group;
  }
}

const keepaliveCaches = new WeakMap<UpstreamGroup, UpstreamPool>();

/** The keep-alive cache of `group` (one per `upstream` block, as nginx's), or null without `keepalive`. */
export function keepaliveCacheOf(group: UpstreamGroup): UpstreamPool | null {
  if (group.keepalive === 0) return null;
  let pool = keepaliveCaches.get(group);
  if (pool === undefined) {
    pool = new UpstreamPool(group.keepalive, group.keepaliveRequests, group.keepaliveTimeout);
    keepaliveCaches.set(group, pool);
  }
  return pool;
}

const registries = new WeakMap<ConfBlock, UpstreamRegistry>();

/** The registry of the `http` block enclosing `block` (created empty if the module did not run). */
export function upstreamsOf(http: ConfBlock): UpstreamRegistry {
  let reg = registries.get(http);
  if (reg === undefined) {
    reg = new UpstreamRegistry();
    registries.set(http, reg);
  }
  return reg;
}

export const upstreamModule: Module = {
  name: 'http_upstream',
  variables: upstreamVariables,
  directives: [
    {
      name: 'upstream',
      contexts: ['http'],
      args: [1],
      block: 'upstream',
      multiple: true,
      parse: parseUpstream,
    },
    { name: 'server', contexts: U, args: '1+', multiple: true, parse: parseServer },
    { name: 'keepalive', contexts: U, args: [1], parse: parseKeepalive },
    { name: 'keepalive_requests', contexts: U, args: [1], parse: (e) => parseNumber(e.args[0], e.name) },
    timeDirective('keepalive_timeout', U),
    ignoredDirective('zone', U, [1, 2]),
  ],
  http: {
    init(http) {
      const reg = upstreamsOf(http);
      for (const e of http.entries) {
        if (e.name !== 'upstream' || !e.block) continue;
        if (reg.named(e.args[0]) !== undefined) invalid(`duplicate upstream "${e.args[0]}"`, e);
        reg.add(buildGroup(e));
      }
    },
  },
};
