// Test nodes for the zone_sync connection tests: a ZoneSyncNode with its own HLC and zones, joined
// to another over a real loopback TCP connection (one side dials, the other accepts).
import net from 'node:net';
import { Hlc } from '../../../src/core/clock.ts';
import { ZoneSyncNode } from '../../../src/stream/zone_sync/node.ts';
import type { PeerConnection } from '../../../src/stream/zone_sync/peer_connection.ts';
import { lastWriterWins, Zone, type ZoneType } from '../../../src/zones/zone.ts';

export const keyvalType: ZoneType = {
  name: 'keyval',
  logName: 'keyval zone',
  merge: lastWriterWins,
  onFull: (zone) => zone.store.expire(zone.now()) > 0,
};

export const stickyType: ZoneType = { ...keyvalType, name: 'sticky', logName: 'sticky session zone' };

export interface TestNode {
  readonly node: ZoneSyncNode;
  readonly zones: Map<string, Zone>;
  readonly logs: string[];
  /** A zone by name (it exists). */
  zone(name: string): Zone;
}

export function makeNode(
  nodeId: number,
  zones: readonly { name: string; type?: ZoneType; size?: number }[],
  options: { instanceId?: bigint; timeoutMs?: number; intervalMs?: number } = {},
): TestNode {
  const hlc = new Hlc(nodeId);
  const logs: string[] = [];
  const built = new Map<string, Zone>();
  for (const z of zones) {
    const zone = new Zone({
      name: z.name,
      type: z.type ?? keyvalType,
      size: z.size ?? 256 * 1024,
      sync: true,
      hlc,
    });
    built.set(z.name, zone);
  }
  const node = new ZoneSyncNode(
    {
      nodeId,
      nodeName: `node-${nodeId}`,
      timeoutMs: options.timeoutMs ?? 5000,
      intervalMs: options.intervalMs ?? 1000,
      instanceId: options.instanceId,
    },
    (level, message) => logs.push(`[${level}] ${message}`),
  );
  node.setZones(built.values());
  return { node, zones: built, logs, zone: (name) => built.get(name) as Zone };
}

/** A listening socket whose connections `accepter` serves. */
export async function listen(accepter: TestNode): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    accepter.node.attach(socket, {
      outbound: false,
      address: `${socket.remoteAddress}:${socket.remotePort}`,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** `dialer` connects to `port`; resolves with its side of the connection once TCP is up. */
export function dial(dialer: TestNode, port: number, address = `127.0.0.1:${port}`): Promise<PeerConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => resolve(dialer.node.attach(socket, { outbound: true, address })));
  });
}

/** Two nodes joined by one connection; `close()` ends everything. */
export async function pair(a: TestNode, b: TestNode): Promise<{ close(): Promise<void> }> {
  const { server, port } = await listen(b);
  await dial(a, port);
  return {
    async close() {
      a.node.shutdown('test over');
      b.node.shutdown('test over');
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** Both nodes online with each other and caught up. */
export function synced(...nodes: TestNode[]): () => boolean {
  return () => nodes.every((n) => n.node.nodesOnline === nodes.length - 1 && n.node.ready);
}
