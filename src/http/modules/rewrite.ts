// nginx's ngx_http_rewrite_module. Each server and location block's `set`, `if`, `return`,
// `rewrite` and `break` become one script (an `if` block's directives are part of its parent's
// script, as nginx compiles them into the same code array): server-level scripts run in
// server_rewrite, location-level ones in rewrite. A true location-level `if` switches r.location
// to the if-block's LocationConf, so the later phases use its configuration.
import { inheritedValue } from '../../config/tree.ts';
import type { ConfBlock, ConfEntry, Context } from '../../config/types.ts';
import { invalid } from '../../config/types.ts';
import { flagDirective, ngxAtoi } from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { compileRegex } from '../../core/regex.ts';
import type { BuildContext, HandlerEntry, HttpRequest, Phase } from '../types.ts';
import { DECLINED } from '../types.ts';
import { isRedirectTarget } from './rewrite_replacement.ts';
import {
  compileScript,
  type ReturnArgs,
  type RewriteArgs,
  runSteps,
  type ScriptScope,
} from './rewrite_script.ts';

const SCRIPT: Context[] = ['server', 'if_server', 'location', 'if_location'];
const FLAGS: Context[] = ['http', ...SCRIPT];
const REWRITE_FLAGS = ['last', 'break', 'redirect', 'permanent'] as const;

function parseRewrite(e: ConfEntry): RewriteArgs {
  const [pattern, replacement, flag] = e.args;
  if (replacement === '') invalid('empty replacement', e);
  // Compiled again at build time, where named groups become variables; this reports errors early.
  compileRegex(pattern, false, e);
  if (flag !== undefined && !(REWRITE_FLAGS as readonly string[]).includes(flag)) {
    invalid(`invalid parameter "${flag}"`, e);
  }
  return { pattern, replacement, flag: (flag ?? null) as RewriteArgs['flag'] };
}

function parseReturn(e: ConfEntry): ReturnArgs {
  const [code, text] = e.args;
  const status = ngxAtoi(code);
  if (status === null) {
    // `return URL`: a 302 when the only argument looks like an absolute URL.
    if (text === undefined && isRedirectTarget(code)) return { status: 302, text: code };
    invalid(`invalid return code "${code}"`, e);
  }
  if (status > 999) invalid(`invalid return code "${code}"`, e);
  return { status, text: text ?? null };
}

function parseSet(e: ConfEntry): string {
  if (!e.args[0].startsWith('$')) invalid(`invalid variable name "${e.args[0]}"`, e);
  return e.args[0].slice(1);
}

/** Every block under `block` (servers, locations, ifs), for finding all `set`s. */
function* blocksUnder(block: ConfBlock): Generator<ConfBlock> {
  yield block;
  for (const e of block.entries) if (e.block && e.name !== 'map') yield* blocksUnder(e.block);
}

/**
 * Give every `set` variable nobody defines a getter before any script compiles, so a variable may
 * be used before (or in another block than) its `set`: unset, it is empty, and read with
 * uninitialized_variable_warn on it logs nginx's warning.
 */
function declareSetVariables(http: ConfBlock, cx: BuildContext): void {
  for (const block of blocksUnder(http)) {
    for (const e of block.entries) {
      if (e.name !== 'set') continue;
      const key = (e.value as string).toLowerCase();
      if (key === '' || cx.variables.has(key)) continue;
      cx.variables.add({
        name: key,
        get(r: HttpRequest) {
          const value = r.vars.get(key);
          if (value !== undefined) return value;
          if (inheritedValue(r.location.block, 'uninitialized_variable_warn', true)) {
            r.logError('warn', `using uninitialized "${key}" variable`);
          }
          return '';
        },
        set(r: HttpRequest, value: string) {
          r.vars.set(key, value);
        },
      });
    }
  }
}

function scriptHandler(block: ConfBlock, scope: ScriptScope, phase: Phase): HandlerEntry[] | undefined {
  const steps = compileScript(block, scope);
  if (steps.length === 0) return undefined;
  const log = inheritedValue(block, 'rewrite_log', false);
  return [{ phase, handler: (r) => runSteps(steps, r, log) ?? DECLINED }];
}

export const rewriteModule: Module = {
  name: 'http_rewrite',
  directives: [
    { name: 'rewrite', contexts: SCRIPT, args: [2, 3], multiple: true, parse: parseRewrite },
    { name: 'return', contexts: SCRIPT, args: [1, 2], multiple: true, parse: parseReturn },
    { name: 'break', contexts: SCRIPT, args: [0], multiple: true },
    {
      name: 'if',
      contexts: ['server', 'location'],
      args: '1+',
      multiple: true,
      block: (parent) => (parent === 'server' ? 'if_server' : 'if_location'),
    },
    { name: 'set', contexts: SCRIPT, args: [2], multiple: true, parse: parseSet },
    flagDirective('rewrite_log', FLAGS),
    flagDirective('uninitialized_variable_warn', FLAGS),
  ],
  http: {
    init(http, cx) {
      declareSetVariables(http, cx);
    },
    server(srv, cx) {
      return scriptHandler(
        srv.block,
        { variables: cx.variables, ifs: null, location: false },
        'server_rewrite',
      );
    },
    location(loc, cx) {
      // The server's implicit location and the `if` blocks have no script of their own.
      if (loc.block.context !== 'location') return undefined;
      return scriptHandler(loc.block, { variables: cx.variables, ifs: loc.ifs, location: true }, 'rewrite');
    },
  },
};
