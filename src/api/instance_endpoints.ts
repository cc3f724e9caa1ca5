// The running instance in NGINX Plus's shapes: `GET /nginx` and `/processes`. One process is both
// nginx's master and its worker here, so `pid` and `ppid` are the same (the pid file's, which a
// client compares `ppid` with), and no child process is ever respawned.
import { PROGRAM, VERSION } from '../core/version.ts';
import type { ApiEndpoint } from './router.ts';

/** Configurations that went live, the first load included (so a fresh start reports 1). */
let generation = 0;
let loadedAt = Date.now();

/** A cycle went live: the start, or a reload that succeeded. */
export function cycleWentLive(now = Date.now()): void {
  generation++;
  loadedAt = now;
}

export const nginxEndpoint: ApiEndpoint = {
  path: ['nginx'],
  methods: {
    GET: (req) => ({
      status: 200,
      body: {
        version: VERSION,
        build: PROGRAM,
        address: req.http.conn.localAddress,
        generation,
        load_timestamp: new Date(loadedAt).toISOString(),
        timestamp: new Date().toISOString(),
        pid: process.pid,
        ppid: process.pid,
      },
    }),
  },
};

export const processesEndpoint: ApiEndpoint = {
  path: ['processes'],
  methods: {
    GET: () => ({ status: 200, body: { respawned: 0 } }),
    // Resets the counter, which never moves here.
    DELETE: () => ({ status: 204 }),
  },
};
