// A zone_sync cluster of real bin/zonesync processes on loopback: N nodes (3 by default) on
// 127.0.0.{base..base+N-1}, all with the same port numbers (`--listen-address` binds each node's
// port-only `listen`s to its address), and the embedded DNS responder answering the cluster name
// with the member addresses, as NGINXaaS's resolver does for `internal.nginxaas.nginx.com`.
// Every process and the responder are stopped by `stop()` (and killed at exit by instance.ts).
import net from 'node:net';
import { type DnsResponder, startDnsResponder } from './dns.ts';
import {
  canConnect,
  freePort,
  httpRequest,
  type Instance,
  type RequestInit,
  type Response,
  startZonesync,
  waitFor,
} from './instance.ts';

export * from './cluster_conf.ts';

/** What a node's configuration is made from. */
export interface NodeEnv {
  readonly index: number;
  /** 127.0.0.x: where the node listens (its `--listen-address`). */
  readonly address: string;
  /** The HTTP port (API, keyval variable, limit_req and sticky locations). */
  readonly httpPort: number;
  /** The zone_sync port, the same on every node. */
  readonly syncPort: number;
  /** The responder's `host:port`, for the `resolver` directive. */
  readonly dns: string;
  /** The cluster's DNS name. */
  readonly name: string;
}

export interface ClusterOptions {
  /** Last octet of the first node's address; give every test file its own range. */
  readonly base: number;
  /** Nodes started at once (default 3). */
  readonly size?: number;
  /** Addresses checked free up front, for addNode() (default size + 2). */
  readonly maxSize?: number;
  readonly conf: (n: NodeEnv) => string;
  readonly files?: (n: NodeEnv) => Record<string, string | Buffer>;
  /** The cluster name (default `cluster.test`). */
  readonly name?: string;
  /** A fixed zone_sync port (the seed configurations' 9000); default: one free on every address. */
  readonly syncPort?: number;
  /** A fixed responder port (the seed configurations' 49153); default: the kernel's pick. */
  readonly dnsPort?: number;
  /** Wait until every node counts every other one (default true). */
  readonly waitMeshed?: boolean;
}

/** `GET /api/9/stream/zone_sync`, NGINX Plus's fields (zonesync's additions are not typed here). */
export interface ZoneSyncStatus {
  readonly status: {
    readonly nodes_online: number;
    readonly msgs_in: number;
    readonly msgs_out: number;
    readonly bytes_in: number;
    readonly bytes_out: number;
  };
  readonly zones: Record<string, { readonly records_pending: number; readonly records_total: number }>;
  readonly [extra: string]: unknown;
}

export interface ClusterNode {
  readonly index: number;
  readonly address: string;
  readonly inst: Instance;
  request(path: string, init?: RequestInit): Promise<Response>;
  /** A request to `/api/9` + `path`; a JSON object body is serialized. */
  api(path: string, init?: Omit<RequestInit, 'body'> & { body?: unknown }): Promise<Response>;
  /** GET `/api/9` + `path`, parsed; throws unless 200. */
  json<T = unknown>(path: string): Promise<T>;
  syncStatus(): Promise<ZoneSyncStatus>;
  /** zonesync's readiness (`zonesync.ready`): every connected peer's snapshots are in. */
  ready(): Promise<boolean>;
  /** The keyval zone's pairs (`GET /api/9/http/keyvals/{zone}`). */
  keyvals(zone?: string): Promise<Record<string, string>>;
  /** Add or change one pair (POST, or PATCH when it exists); `null` deletes it. */
  setKeyval(key: string, value: string | null, zone?: string): Promise<void>;
  errorLog(): string;
}

export interface Cluster {
  readonly dns: DnsResponder;
  readonly name: string;
  readonly syncPort: number;
  readonly httpPort: number;
  /** The running nodes by index (a stopped node's slot is undefined). */
  readonly nodes: (ClusterNode | undefined)[];
  node(i: number): ClusterNode;
  /** The running nodes. */
  live(): ClusterNode[];
  /** The addresses the cluster name resolves to now. */
  members(): string[];
  /** Start the next node and add it to DNS (unless `dns: false`); resolves once it listens. */
  addNode(options?: { dns?: boolean }): Promise<ClusterNode>;
  removeFromDns(i: number): void;
  addToDns(i: number): void;
  /** Stop node i and start it again on the same address: a new instance with empty zones. */
  restart(i: number): Promise<ClusterNode>;
  stopNode(i: number): Promise<void>;
  /** Wait until each of `nodes` (default: live) counts `online` peers (default: its DNS peers). */
  waitMeshed(opts?: { nodes?: ClusterNode[]; online?: number; ms?: number }): Promise<void>;
  /** Wait until every live node holds the same pairs in `zone`; returns them. */
  waitKeyvalsConverged(zone?: string, ms?: number): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export const addressOf = (base: number, i: number): string => `127.0.0.${base + i}`;

async function portFreeOn(host: string, port: number): Promise<boolean> {
  const s = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, host, () => resolve(true));
  });
  if (ok) await new Promise((r) => s.close(r));
  return ok;
}

/** A port free on every one of `hosts`. */
export async function commonFreePort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort(hosts[0]);
    let free = true;
    for (const h of hosts) free &&= await portFreeOn(h, port);
    if (free) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

async function startNode(env: NodeEnv, opts: ClusterOptions): Promise<ClusterNode> {
  const inst = await startZonesync({
    conf: opts.conf(env),
    files: opts.files?.(env),
    listenAddress: env.address,
    waitPort: false,
  });
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(env.httpPort, env.address))) {
    if (inst.proc.exitCode !== null) {
      throw new Error(
        `node ${env.index} (${env.address}) exited with ${inst.proc.exitCode}: ${inst.stderr()}`,
      );
    }
    if (Date.now() > deadline) {
      await inst.stop();
      throw new Error(`node ${env.index} did not listen on ${env.address}:${env.httpPort}: ${inst.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  // The instance's own {{PORT}} is unused: every node serves HTTP on the cluster's httpPort.
  const request = (path: string, init?: RequestInit) => httpRequest(env.httpPort, path, init, env.address);
  const api: ClusterNode['api'] = (path, init = {}) => {
    const { body, ...rest } = init;
    return request(`/api/9${path}`, {
      ...rest,
      body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    });
  };
  const json = async <T>(path: string): Promise<T> => {
    const res = await api(path);
    if (res.status !== 200) throw new Error(`GET /api/9${path} on ${env.address}: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as T;
  };
  return {
    index: env.index,
    address: env.address,
    inst,
    request,
    api,
    json,
    syncStatus: () => json<ZoneSyncStatus>('/stream/zone_sync'),
    ready: async () =>
      (await json<{ zonesync?: { ready?: boolean } }>('/stream/zone_sync')).zonesync?.ready === true,
    keyvals: (zone = 'kv') => json<Record<string, string>>(`/http/keyvals/${zone}`),
    async setKeyval(key, value, zone = 'kv') {
      const path = `/http/keyvals/${zone}`;
      if (value !== null) {
        const res = await api(path, { method: 'POST', body: { [key]: value } });
        if (res.status === 201) return;
        if (res.status !== 409) throw new Error(`POST ${path} ${key}: ${res.status} ${res.text}`);
      }
      const res = await api(path, { method: 'PATCH', body: { [key]: value } });
      if (res.status !== 204) throw new Error(`PATCH ${path} ${key}: ${res.status} ${res.text}`);
    },
    errorLog: () => inst.errorLog(),
  };
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const size = opts.size ?? 3;
  const maxSize = Math.max(opts.maxSize ?? size + 2, size);
  const name = opts.name ?? 'cluster.test';
  const all = Array.from({ length: maxSize }, (_, i) => addressOf(opts.base, i));
  const syncPort = opts.syncPort ?? (await commonFreePort(all));
  let httpPort = await commonFreePort(all);
  while (httpPort === syncPort) httpPort = await commonFreePort(all);
  const dns = await startDnsResponder({ port: opts.dnsPort ?? 0, ttl: 1 });
  const nodes: (ClusterNode | undefined)[] = [];
  const inDns = new Set<number>();
  const envOf = (index: number): NodeEnv => ({
    index,
    address: addressOf(opts.base, index),
    httpPort,
    syncPort,
    dns: dns.address,
    name,
  });
  const publish = () =>
    dns.setRecords(
      name,
      [...inDns].sort((a, b) => a - b).map((i) => addressOf(opts.base, i)),
    );
  const node = (i: number) => {
    const n = nodes[i];
    if (n === undefined) throw new Error(`node ${i} is not running`);
    return n;
  };
  const live = () => nodes.filter((n): n is ClusterNode => n !== undefined);

  const cluster: Cluster = {
    dns,
    name,
    syncPort,
    httpPort,
    nodes,
    node,
    live,
    members: () => [...inDns].map((i) => addressOf(opts.base, i)),
    async addNode(options) {
      const index = nodes.length;
      if (index >= maxSize) throw new Error(`maxSize ${maxSize} reached`);
      if (options?.dns !== false) {
        inDns.add(index);
        publish();
      }
      nodes[index] = await startNode(envOf(index), opts);
      return node(index);
    },
    removeFromDns(i) {
      inDns.delete(i);
      publish();
    },
    addToDns(i) {
      inDns.add(i);
      publish();
    },
    async restart(i) {
      await cluster.stopNode(i);
      nodes[i] = await startNode(envOf(i), opts);
      return node(i);
    },
    async stopNode(i) {
      const n = nodes[i];
      nodes[i] = undefined;
      await n?.inst.stop();
    },
    async waitMeshed({ nodes: which, online, ms = 20_000 } = {}) {
      const targets = which ?? live();
      let last = '';
      await waitFor(
        async () => {
          const counts = await Promise.all(
            targets.map(async (n) => {
              const want = online ?? [...inDns].filter((i) => i !== n.index && nodes[i] !== undefined).length;
              const got = (await n.syncStatus()).status.nodes_online;
              return { n, want, got };
            }),
          );
          last = counts.map(({ n, want, got }) => `${n.address}: ${got}/${want}`).join(', ');
          return counts.every(({ want, got }) => got === want);
        },
        ms,
        `a meshed cluster (nodes_online ${last})`,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${last}\n${logTails(targets)}`);
      });
    },
    async waitKeyvalsConverged(zone = 'kv', ms = 15_000) {
      let views: Record<string, string>[] = [];
      await waitFor(
        async () => {
          views = await Promise.all(live().map((n) => n.keyvals(zone)));
          const first = JSON.stringify(sorted(views[0]));
          return views.every((v) => JSON.stringify(sorted(v)) === first);
        },
        ms,
        `keyval zone "${zone}" to converge`,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(views)}`);
      });
      return views[0];
    },
    async stop() {
      await Promise.all(live().map((n) => n.inst.stop()));
      nodes.length = 0;
      await dns.close();
    },
  };
  try {
    for (let i = 0; i < size; i++) inDns.add(i);
    publish();
    for (let i = 0; i < size; i++) nodes[i] = await startNode(envOf(i), opts);
    if (opts.waitMeshed !== false) await cluster.waitMeshed();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Wait until no node has logged a zone_sync connection event for `quietMs`. Nodes that start
 * together dial each other at once; the duplicate the protocol resolves (docs/protocol.md §5) may
 * replace a connection after waitMeshed has seen the mesh, and the survivor's snapshot carries
 * everything, peers' records too. Tests that need each link to stay put (partitions) start here.
 */
export async function waitMeshQuiet(cluster: Cluster, quietMs = 1000, ms = 15_000): Promise<void> {
  const events = () =>
    cluster
      .live()
      .map((n) => n.errorLog().match(/zone_sync: (peer .* connected|duplicate connection)/g)?.length ?? 0)
      .join(',');
  let last = events();
  let since = Date.now();
  await waitFor(
    async () => {
      const now = events();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    ms,
    'zone_sync connections to settle',
  );
}

/** The last lines of each node's error log, for a failure message. */
export function logTails(nodes: readonly ClusterNode[], lines = 15): string {
  return nodes
    .map(
      (n) => `--- ${n.address} error.log ---\n${n.errorLog().trimEnd().split('\n').slice(-lines).join('\n')}`,
    )
    .join('\n');
}
