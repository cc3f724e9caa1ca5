// A small stand-in for the HTTP build and phase runner, enough to run the rewrite and map modules
// on fake requests: prefix locations only, server_rewrite, find_config, rewrite and post_rewrite.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseConfig } from '../../../src/config/parser.ts';
import type { ConfBlock, DirectiveSpec } from '../../../src/config/types.ts';
import { CycleZones } from '../../../src/core/cycle_zones.ts';
import { ErrorLog } from '../../../src/core/error_log.ts';
import { mapModule } from '../../../src/http/modules/map.ts';
import { rewriteModule } from '../../../src/http/modules/rewrite.ts';
import type {
  BuildContext,
  HttpRequest,
  LocationConf,
  PhaseHandler,
  ServerConf,
} from '../../../src/http/types.ts';
import { DECLINED, DONE, OK } from '../../../src/http/types.ts';
import { httpCoreVariables } from '../../../src/variables/http_core.ts';
import { VariableRegistry } from '../../../src/variables/registry.ts';

const BLOCKS: DirectiveSpec[] = [
  { name: 'http', contexts: ['main'], args: [0], block: 'http' },
  { name: 'server', contexts: ['http'], args: [0], block: 'server', multiple: true },
  { name: 'location', contexts: ['server', 'location'], args: [1], block: 'location', multiple: true },
  // Something for an `if` block to carry besides rewrite directives.
  { name: 'marker', contexts: ['location', 'if_location'], args: [1] },
];

export const DIRECTIVES = [...BLOCKS, ...rewriteModule.directives, ...mapModule.directives];

export interface FakeRequest extends HttpRequest {
  sent: { status: number; body: string } | null;
  logs: string[];
}

export interface Fixture {
  readonly prefix: string;
  readonly cx: BuildContext;
  readonly locations: Map<string, LocationConf>;
  /** A request for `target` (path and query), in the server's implicit location. */
  request(target: string, headers?: Record<string, string>): FakeRequest;
  /** Run the rewrite phases as the core does; the result of the last handler, and the request. */
  run(target: string, headers?: Record<string, string>): { result: number; r: FakeRequest };
}

function locationConf(block: ConfBlock, name: string, server: ServerConf): LocationConf {
  const ifs = new Map<ConfBlock, LocationConf>();
  for (const e of block.entries)
    if (e.name === 'if' && e.block) ifs.set(e.block, locationConf(e.block, 'if', server));
  const handlers = {
    server_rewrite: [],
    rewrite: [],
    preaccess: [],
    access: [],
    try_files: [],
    content: [],
    log: [],
  };
  return { block, name, server, handlers, headerFilters: [], contentHandler: null, conf: new Map(), ifs };
}

/** Parse `conf` (an `http { server { ... } }` text) in a temp prefix holding `files`, and build it. */
export function buildFixture(conf: string, files: Record<string, string> = {}): Fixture {
  const prefix = `${mkdtempSync(join(tmpdir(), 'zonesync-rewrite-'))}/`;
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(prefix + rel), { recursive: true });
    writeFileSync(prefix + rel, text);
  }
  writeFileSync(`${prefix}nginx.conf`, conf.replaceAll('{{PREFIX}}', prefix));
  const { main } = parseConfig({ file: 'nginx.conf', prefix, directives: DIRECTIVES });
  const http = main.entries.find((e) => e.name === 'http')!.block!;
  const variables = new VariableRegistry();
  for (const def of httpCoreVariables) variables.add(def);
  const log = new ErrorLog([]);
  const cx: BuildContext = {
    variables,
    log,
    zones: new CycleZones(undefined, log),
    prefix,
    resolvePath: (p) => p,
  };
  const modules = [mapModule, rewriteModule];
  for (const m of modules) m.http!.init!(http, cx);

  const serverBlock = http.entries.find((e) => e.name === 'server')!.block!;
  const server = {
    block: serverBlock,
    serverName: 'localhost',
    serverRewrite: [],
    conf: new Map(),
  } as unknown as ServerConf;
  const implicit = locationConf(serverBlock, '', server);
  (server as { ifs: Map<ConfBlock, LocationConf> }).ifs = implicit.ifs;
  const locations = new Map<string, LocationConf>();
  const addLocations = (block: ConfBlock) => {
    for (const e of block.entries) {
      if (e.name !== 'location' || !e.block) continue;
      const loc = locationConf(e.block, e.args[0], server);
      locations.set(e.args[0], loc);
      addLocations(e.block);
    }
  };
  addLocations(serverBlock);
  for (const loc of [
    implicit,
    ...locations.values(),
    ...[...locations.values()].flatMap((l) => [...l.ifs.values()]),
  ]) {
    for (const m of modules)
      for (const h of m.http?.location?.(loc, cx) ?? []) loc.handlers[h.phase].push(h.handler);
  }
  for (const m of modules)
    for (const h of m.http?.server?.(server, cx) ?? []) server.serverRewrite.push(h.handler);

  const request = (target: string, headers: Record<string, string> = {}): FakeRequest => {
    const q = target.indexOf('?');
    const names = Object.keys(headers).map((n) => n.toLowerCase());
    const values = Object.values(headers);
    const r = {
      parsed: {
        target,
        path: q < 0 ? target : target.slice(0, q),
        query: q < 0 ? '' : target.slice(q + 1),
        host: headers.Host ?? 'localhost',
        names,
        values,
        requestLine: `GET ${target} HTTP/1.1`,
      },
      conn: { id: 1, remoteAddress: '127.0.0.1', tls: false, localPort: 80 },
      method: 'GET',
      uri: decodeURIComponent(q < 0 ? target : target.slice(0, q)),
      args: q < 0 ? '' : target.slice(q + 1),
      server,
      location: implicit,
      captures: null,
      vars: new Map<string, string>(),
      ctx: new Map<string, unknown>(),
      internal: false,
      uriChanged: false,
      status: 0,
      headersOut: [] as string[],
      sent: null as FakeRequest['sent'],
      logs: [] as string[],
      header: (name: string) => {
        const i = names.indexOf(name);
        return i < 0 ? undefined : values[i];
      },
      headerOut(name: string) {
        const h = this.headersOut;
        for (let i = 0; i < h.length; i += 2) if (h[i].toLowerCase() === name) return h[i + 1];
        return undefined;
      },
      send(status: number, body: string | Buffer) {
        this.sent = { status, body: String(body) };
        return DONE;
      },
      logError(level: string, message: string) {
        this.logs.push(`[${level}] ${message}`);
      },
    };
    return r as unknown as FakeRequest;
  };

  const runPhase = (list: PhaseHandler[], r: FakeRequest): number => {
    for (const h of list) {
      const res = h(r) as number;
      if (res !== DECLINED) return res;
    }
    return DECLINED;
  };
  const findLocation = (uri: string): LocationConf => {
    let best: LocationConf = implicit;
    for (const [name, loc] of locations)
      if (uri.startsWith(name) && name.length > best.name.length) best = loc;
    return best;
  };

  return {
    prefix,
    cx,
    locations,
    request,
    run(target, headers) {
      const r = request(target, headers);
      let result = runPhase(server.serverRewrite, r);
      if (result !== DECLINED && result !== OK) return { result, r };
      for (let left = 10; ; left--) {
        r.location = findLocation(r.uri);
        r.uriChanged = false;
        result = runPhase(r.location.handlers.rewrite, r);
        if (result !== DECLINED && result !== OK) return { result, r };
        if (!r.uriChanged) return { result, r };
        if (left === 0) return { result: 500, r };
      }
    },
  };
}
