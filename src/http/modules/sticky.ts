// The `sticky` directive of `upstream` blocks (ngx_http_upstream_sticky_module): session affinity
// by cookie, by route, or learned from the upstream's responses into a shared zone. The directive
// switches its group to the sticky balancer (sticky_balancer.ts) when the upstream module builds
// the group; this module's init then compiles the variables and declares the learn zones, whose
// Zone it takes on first use, after the cycle has built them.
import { find } from '../../config/tree.ts';
import { type ConfEntry, ConfigError, invalid } from '../../config/types.ts';
import type { Module } from '../../core/module.ts';
import type { VariableGetter, VariableRegistry } from '../../variables/registry.ts';
import type { BuildContext } from '../types.ts';
import { registerBalancer } from '../upstream/balancer.ts';
import { RoundRobin } from '../upstream/round_robin.ts';
import { upstreamsOf } from '../upstream/upstream.ts';
import { StickyBalancer, type StickyParts } from './sticky_balancer.ts';
import { type LearnConf, parseSticky, type StickyConf } from './sticky_conf.ts';
import { StickyCookie } from './sticky_cookie.ts';
import { StickySessions, stickyZoneType } from './sticky_sessions.ts';

registerBalancer('sticky', (group) => new StickyBalancer(new RoundRobin(group)));

/** `$name` resolved now, or nginx's `unknown "name" variable`. */
function getterOf(variables: VariableRegistry, name: string): VariableGetter {
  const get = variables.getter(name);
  if (get === undefined) throw new ConfigError(`unknown "${name.toLowerCase()}" variable`);
  return get;
}

/** Declare the learn zone of `upstream` and hand out its sessions once the zone is built. */
function learnParts(learn: LearnConf, upstream: string, entry: ConfEntry, cx: BuildContext) {
  cx.zones.declare({
    name: learn.zone,
    type: stickyZoneType,
    size: learn.size,
    sync: learn.sync,
    params: upstream,
    file: entry.file,
    line: entry.line,
  });
  let sessions: StickySessions | null = null;
  return {
    sessions: () => {
      sessions ??= new StickySessions(cx.zones.get(learn.zone), learn.timeout);
      return sessions;
    },
    create: learn.create.map((name) => getterOf(cx.variables, name)),
    atHeader: learn.header,
  };
}

function partsOf(conf: StickyConf, upstream: string, entry: ConfEntry, cx: BuildContext): StickyParts {
  const lookup = conf.lookup.map((name) => getterOf(cx.variables, name));
  if (conf.mode === 'learn') return { lookup, learn: learnParts(conf.learn, upstream, entry, cx) };
  if (conf.mode === 'cookie') {
    return { lookup, cookie: new StickyCookie(conf.cookie, (text) => cx.variables.compile(text, entry)) };
  }
  return { lookup };
}

export const stickyModule: Module = {
  name: 'http_upstream_sticky',
  directives: [{ name: 'sticky', contexts: ['upstream'], args: '2+', parse: parseSticky }],
  http: {
    init(http, cx) {
      const registry = upstreamsOf(http);
      /** Learn zones by name: the upstream using each, and its size. */
      const zones = new Map<string, { upstream: string; size: number }>();
      for (const e of http.entries) {
        const entry = e.name === 'upstream' && e.block ? find(e.block, 'sticky') : undefined;
        if (entry === undefined) continue;
        const balancer = registry.named(e.args[0])?.balancer;
        if (!(balancer instanceof StickyBalancer)) continue;
        const conf = entry.value as StickyConf;
        if (conf.mode === 'learn') {
          const used = zones.get(conf.learn.zone);
          // Another size is the zone registry's conflict error; the same size is a second user.
          if (used !== undefined && used.size === conf.learn.size) {
            invalid(`sticky zone "${conf.learn.zone}" is already used in upstream "${used.upstream}"`, entry);
          }
          zones.set(conf.learn.zone, { upstream: e.args[0], size: conf.learn.size });
        }
        balancer.prepare(partsOf(conf, e.args[0], entry, cx));
      }
    },
  },
};
