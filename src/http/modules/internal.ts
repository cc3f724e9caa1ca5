// `internal`: a location only internal redirects (error_page, index, try_files, rewrite) may reach;
// a client asking for it directly gets 404, before anything else of the location runs.
import { find } from '../../config/tree.ts';
import type { Module } from '../../core/module.ts';
import { DECLINED } from '../types.ts';

export const internalModule: Module = {
  name: 'http_internal',
  directives: [{ name: 'internal', contexts: ['location'], args: [0], parse: () => true }],
  http: {
    location(loc) {
      // Not inherited: nested locations and `if` blocks have their own flag, as in nginx.
      if (loc.block.context !== 'location' || find(loc.block, 'internal') === undefined) return [];
      return [{ phase: 'rewrite', handler: (r) => (r.internal ? DECLINED : 404) }];
    },
  },
};
