// ngx_stream_zone_sync_module: the stream server with `zone_sync` serves peers' connections, and
// the process keeps one ZoneSyncNode (its identity, connections and counters) across reloads. A
// cycle going live hands the node its synced zones; when its zone_sync directives are as before,
// the peer connections stay up and only the catalogue changes, otherwise they are closed and the
// membership starts over with the new settings (same instance id, counters kept).
import os from 'node:os';
import { registerApiEndpoint } from '../../api/router.ts';
import { zoneSyncEndpoint } from '../../api/zone_sync_endpoints.ts';
import { find } from '../../config/tree.ts';
import type { ConfBlock } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import { nodeHlc } from '../../core/cycle_zones.ts';
import type { ErrorLog } from '../../core/error_log.ts';
import type { Module } from '../../core/module.ts';
import type { Zone } from '../../zones/zone.ts';
import type { StreamBuildContext, StreamServer } from '../types.ts';
import { buildZoneSyncConf, type ZoneSyncConf, zoneSyncDirectives } from './conf.ts';
import { addressText } from './dialer.ts';
import { Membership } from './membership.ts';
import { ZoneSyncNode } from './node.ts';

/** What a built cycle holds for zone_sync until it goes live (or is dropped). */
interface CycleZoneSync {
  readonly conf: ZoneSyncConf;
  readonly zones: Iterable<Zone>;
  readonly log: ErrorLog;
}

interface Running {
  readonly node: ZoneSyncNode;
  readonly membership: Membership;
  readonly conf: ZoneSyncConf;
}

const cycles = new WeakMap<ConfBlock, CycleZoneSync>();
let running: Running | null = null;

registerApiEndpoint(zoneSyncEndpoint(() => running));

function mainOf(block: ConfBlock): ConfBlock {
  let b = block;
  while (b.parent !== null) b = b.parent;
  return b;
}

/** How this node names itself to peers: its listen address (the host name for a wildcard). */
function nodeNameOf(conf: ZoneSyncConf): string {
  const l = conf.listens[0];
  return l === undefined ? os.hostname() : addressText(l.host ?? os.hostname(), l.port);
}

function server(srv: StreamServer, cx: StreamBuildContext): void {
  const conf = buildZoneSyncConf(srv, cx);
  if (conf === null) return;
  const main = mainOf(srv.block);
  if (cycles.has(main)) invalid('"zone_sync" directive is duplicate', find(srv.block, 'zone_sync'));
  cycles.set(main, { conf, zones: cx.zones.resolve(), log: cx.log });
  srv.handler = (socket, session) => {
    if (running === null) {
      session.log('error', 'zone_sync is not running, connection closed');
      socket.destroy();
      return;
    }
    running.node.attach(socket, {
      outbound: false,
      address: `${session.remoteAddress}:${session.remotePort}`,
    });
  };
}

function start(cycle: CycleZoneSync, previous: ZoneSyncNode | null): Running {
  const log = cycle.log;
  const node = new ZoneSyncNode(
    {
      instanceId: previous?.instanceId,
      nodeId: nodeHlc().nodeId,
      nodeName: nodeNameOf(cycle.conf),
      timeoutMs: cycle.conf.timeoutMs,
      intervalMs: cycle.conf.intervalMs,
      maxFrame: cycle.conf.maxFrame,
    },
    (level, message) => log.log(level, message),
  );
  if (previous !== null) Object.assign(node.counters, previous.counters);
  node.setZones(cycle.zones);
  const membership = new Membership(node, cycle.conf);
  membership.start();
  return { node, membership, conf: cycle.conf };
}

function stop(reason: string): void {
  running?.membership.stop(reason);
  running?.node.shutdown(reason);
}

/** A cycle went live: keep, restart or stop zone_sync to match it. */
function live(main: ConfBlock): void {
  const cycle = cycles.get(main);
  cycles.delete(main);
  if (cycle === undefined) {
    stop('zone_sync removed from the configuration');
    running = null;
    return;
  }
  if (running !== null && running.conf.fingerprint === cycle.conf.fingerprint) {
    const { node, membership } = running;
    node.log = (level, message) => cycle.log.log(level, message);
    membership.update(cycle.conf);
    node.setZones(cycle.zones);
    running = { node, membership, conf: cycle.conf };
    return;
  }
  const previous = running?.node ?? null;
  stop('zone_sync configuration changed');
  running = start(cycle, previous);
}

export const zoneSyncModule: Module = {
  name: 'stream_zone_sync',
  directives: zoneSyncDirectives,
  stream: { server },
  lifecycle: {
    live,
    release(main) {
      cycles.delete(main);
    },
    exit() {
      stop('shutdown');
      running = null;
    },
  },
};
