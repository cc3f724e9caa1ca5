// The configuration most zone_sync tests share (a synced keyval, limit_req and sticky zone, the
// API, a zone_sync server found through DNS) and the session backends sticky learn needs.
import { type Backend, type Handler, httpBackend } from './backend.ts';
import type { ClusterNode, NodeEnv } from './cluster.ts';

export interface StandardConfOptions {
  /** The sticky upstream's servers (127.0.0.1 ports); none: no upstream. */
  readonly backends?: readonly number[];
  /** The synced limit_req zone's rate (default 20r/s). */
  readonly rate?: string;
  /** `zone_sync_server` lines instead of the cluster name with `resolve`. */
  readonly servers?: readonly string[];
  /** More directives in the zone_sync server. */
  readonly stream?: string;
  /** zone_sync_timeout (default 2s: a dead peer is noticed quickly). */
  readonly timeout?: string;
  /** Size of the synced keyval zone (default 1m). */
  readonly kvSize?: string;
  /** More directives in the http block. */
  readonly http?: string;
  /** More directives in the http server. */
  readonly server?: string;
}

/** The stream side: the resolver and a zone_sync server, with short intervals for tests. */
export function standardStream(n: NodeEnv, o: StandardConfOptions = {}): string {
  const servers = o.servers ?? [`${n.name}:${n.syncPort} resolve`];
  return `
stream {
  resolver ${n.dns} valid=1s;
  server {
    listen ${n.syncPort};
    zone_sync;
    ${servers.map((s) => `zone_sync_server ${s};`).join('\n    ')}
    zone_sync_interval 100ms;
    zone_sync_connect_retry_interval 200ms;
    zone_sync_timeout ${o.timeout ?? '2s'};
    ${o.stream ?? ''}
  }
}`;
}

/**
 * The http side: a synced keyval zone `kv` (variable at `/kv?k=`, `set` writes at `/set?k=&v=`),
 * a synced limit_req zone `rl` keyed by `$arg_k` (`/rl?k=`: 200 or 429), a sticky learn zone `st`
 * (`/app/`, when backends are given) and the API at `/api/`.
 */
export function standardHttp(n: NodeEnv, o: StandardConfOptions = {}): string {
  const backends = o.backends ?? [];
  const upstream = backends.length
    ? `upstream b {
    ${backends.map((p) => `server 127.0.0.1:${p};`).join('\n    ')}
    sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=st:1m sync;
  }`
    : '';
  return `
http {
  access_log off;
  ${o.http ?? ''}
  keyval_zone zone=kv:${o.kvSize ?? '1m'} timeout=1h sync;
  keyval $arg_k $kv zone=kv;
  limit_req_zone $arg_k zone=rl:1m rate=${o.rate ?? '20r/s'} sync;
  ${upstream}
  server {
    listen ${n.httpPort};
    root html;
    location /api/ { api write=on; }
    location = /kv { return 200 "$kv"; }
    location = /set { set $kv $arg_v; return 204; }
    location = /rl { limit_req zone=rl; limit_req_status 429; }
    ${backends.length ? 'location /app/ { proxy_pass http://b; }' : ''}
    ${o.server ?? ''}
  }
}`;
}

export function standardConf(n: NodeEnv, o: StandardConfOptions = {}): string {
  return `events {}\n${standardHttp(n, o)}\n${standardStream(n, o)}`;
}

/** Files standardHttp serves. */
export const standardFiles = (): Record<string, string> => ({ 'html/rl': 'ok' });

// ---- Backends for sticky learn ----

/** A backend answering its name; `X-Want-Sid: v` makes it set `sid=v` (the session to learn). */
export function sessionBackend(name: string): Promise<Backend> {
  const handler: Handler = (req, res) => {
    const want = req.rawHeaders.find(([h]) => h.toLowerCase() === 'x-want-sid')?.[1];
    if (want !== undefined) res.setHeader('Set-Cookie', `sid=${want}; Path=/`);
    res.end(name);
  };
  return httpBackend(name, handler);
}

/** The backend that answered `/app/` on `node`, with session cookie `sid` or creating session `want`. */
export async function servedBy(node: ClusterNode, opts: { sid?: string; want?: string }): Promise<string> {
  const headers: Record<string, string> = {};
  if (opts.sid !== undefined) headers.Cookie = `sid=${opts.sid}`;
  if (opts.want !== undefined) headers['X-Want-Sid'] = opts.want;
  const res = await node.request('/app/', { headers });
  if (res.status !== 200) throw new Error(`/app/ on ${node.address}: ${res.statusLine} ${res.text}`);
  return res.text;
}
