// `zonesync cluster status`: each node's process state, then what its API says of zone_sync (NGINX
// Plus's `GET /api/9/stream/zone_sync`): the peers it has a connection to, and per zone the records
// it holds and those not yet sent to every peer. The API is the configuration's `api` location, on
// its server's port at the node's address; without one, only the process states are shown.
import http from 'node:http';
import { find } from '../config/tree.ts';
import type { ClusterConfig } from './config_scan.ts';
import type { ClusterNode } from './node.ts';

interface ZoneSyncStatus {
  readonly status: { readonly nodes_online: number };
  readonly zones: Record<string, { readonly records_pending: number; readonly records_total: number }>;
}

/** The API's base URL on `address` (`http://127.0.0.2:8090/api`), or null without an API. */
export function apiBase(config: ClusterConfig, address: string): string | null {
  const api = config.locations.find((l) => find(l.block, 'api') !== undefined);
  if (api === undefined) return null;
  return `http://${api.host ?? address}:${api.port}${api.path.replace(/\/$/, '')}`;
}

/** GET `url` as JSON, or throw with what went wrong. */
export function getJson<T>(url: string, timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${res.statusCode} ${body.slice(0, 200)}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** The status lines of `nodes`; `members` are the addresses DNS answers now. */
export async function statusLines(
  config: ClusterConfig,
  nodes: readonly ClusterNode[],
  members: readonly string[],
): Promise<string[]> {
  const reports = await Promise.all(
    nodes.map(async (node) => {
      const lines = [
        `node ${node.index}  ${node.address}  ${node.state}${node.pid ? `  pid ${node.pid}` : ''}` +
          `  up ${duration(node.uptimeMs)}  restarts ${node.restarts}` +
          (members.includes(node.address) ? '' : '  (not in DNS)'),
      ];
      const base = apiBase(config, node.address);
      if (base === null || node.state !== 'running') return lines;
      const expected = members.filter((a) => a !== node.address).length;
      try {
        const s = await getJson<ZoneSyncStatus>(`${base}/9/stream/zone_sync`);
        const online = s.status.nodes_online;
        const peers = members.filter((a) => a !== node.address).join(' ') || 'none';
        lines.push(`  peers: ${online} of ${expected} online (DNS: ${peers})`);
        for (const [zone, z] of Object.entries(s.zones)) {
          const ready = z.records_pending === 0 && online === expected;
          lines.push(
            `  zone ${zone}: ${z.records_total} records, ${z.records_pending} pending` +
              (ready ? ', in sync' : ', catching up'),
          );
        }
      } catch (e) {
        lines.push(`  ${base}/9/stream/zone_sync: ${(e as Error).message}`);
      }
      return lines;
    }),
  );
  return reports.flat();
}
