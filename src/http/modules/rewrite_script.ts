// The rewrite module's script: a block's `set`, `if`, `return`, `rewrite` and `break` compiled once
// into steps run in configuration order, with the outcomes of nginx's script engine codes.
import type { ConfBlock, ConfEntry } from '../../config/types.ts';
import type { BuildContext, HttpRequest, LocationConf, PhaseResult } from '../types.ts';
import { DECLINED } from '../types.ts';
import { compileCaptureRegex, execCaptureRegex } from './regex_captures.ts';
import { compileCondition } from './rewrite_condition.ts';
import { compileReplacement, redirectTarget, rewriteUri } from './rewrite_replacement.ts';

/** `return`'s parsed arguments: the status and the text or URL (null when absent). */
export interface ReturnArgs {
  readonly status: number;
  readonly text: string | null;
}

/** `rewrite`'s parsed arguments. */
export interface RewriteArgs {
  readonly pattern: string;
  readonly replacement: string;
  readonly flag: 'last' | 'break' | 'redirect' | 'permanent' | null;
}

/**
 * One compiled directive: undefined goes on with the next one; a number ends the script and is the
 * phase handler's result (DECLINED after `break`/`last`, DONE or a status after `return`...).
 */
export type Step = (r: HttpRequest, log: boolean) => PhaseResult | undefined;

export interface ScriptScope {
  readonly variables: BuildContext['variables'];
  /** The LocationConfs of the block's `if`s to switch to; null at server level (nginx does not switch). */
  readonly ifs: ReadonlyMap<ConfBlock, LocationConf> | null;
  /** Location level: a rewrite asks the core to look the location up again (r.uriChanged). */
  readonly location: boolean;
}

/** Run steps until one ends the script. */
export function runSteps(steps: readonly Step[], r: HttpRequest, log: boolean): PhaseResult | undefined {
  for (let i = 0; i < steps.length; i++) {
    const res = steps[i](r, log);
    if (res !== undefined) return res;
  }
  return undefined;
}

/** The rewrite directives of `block` (and of its `if` blocks) as steps, in configuration order. */
export function compileScript(block: ConfBlock, scope: ScriptScope): Step[] {
  const steps: Step[] = [];
  for (const e of block.entries) {
    switch (e.name) {
      case 'set':
        steps.push(compileSet(e, scope));
        break;
      case 'return':
        steps.push(compileReturn(e, scope));
        break;
      case 'rewrite':
        steps.push(compileRewrite(e, scope));
        break;
      case 'break':
        steps.push(breakStep);
        break;
      case 'if':
        steps.push(compileIf(e, scope));
        break;
    }
  }
  return steps;
}

function compileSet(e: ConfEntry, scope: ScriptScope): Step {
  const set = scope.variables.setter(e.args[0].slice(1), e);
  const value = scope.variables.compile(e.args[1], e);
  return (r) => {
    set(r, value.evaluate(r));
    return undefined;
  };
}

/** ngx_http_script_break_code: stop, and a URI already rewritten stays in this location. */
function breakStep(r: HttpRequest): PhaseResult {
  r.uriChanged = false;
  return DECLINED;
}

function compileIf(e: ConfEntry, scope: ScriptScope): Step {
  const condition = compileCondition(e.args, e, scope.variables);
  const body = compileScript(e.block!, scope);
  const target = scope.ifs?.get(e.block!);
  return (r, log) => {
    if (!condition(r, log)) return undefined;
    if (target !== undefined) r.location = target;
    return runSteps(body, r, log);
  };
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** ngx_http_clear_location, then the new Location (the core makes a relative one absolute). */
export function setLocation(r: HttpRequest, value: string): void {
  const h = r.headersOut;
  for (let i = h.length - 2; i >= 0; i -= 2) if (h[i].toLowerCase() === 'location') h.splice(i, 2);
  h.push('Location', value);
}

/** ngx_http_send_response: redirects carry the text as Location, other codes as the body. */
function respond(r: HttpRequest, status: number, text: string): PhaseResult {
  if (REDIRECT_STATUSES.has(status)) {
    setLocation(r, text);
    return status;
  }
  return r.send(status, text);
}

function compileReturn(e: ConfEntry, scope: ScriptScope): Step {
  const { status, text } = e.value as ReturnArgs;
  const value = text === null ? null : scope.variables.compile(text, e);
  // An error code without text is finalized by the core (error_page or nginx's page).
  if (status >= 400 && (value === null || value.constant === '')) return () => status;
  // nginx sets the status before evaluating the text, so `$status` in it is the new code.
  return (r) => {
    r.status = status;
    return respond(r, status, value === null ? '' : value.evaluate(r));
  };
}

function compileRewrite(e: ConfEntry, scope: ScriptScope): Step {
  const { pattern, replacement, flag } = e.value as RewriteArgs;
  const rx = compileCaptureRegex(pattern, false, e, scope.variables);
  const rep = compileReplacement(replacement, e, scope.variables);
  const status = flag === 'permanent' ? 301 : flag === 'redirect' || rep.redirect ? 302 : 0;
  const last = flag !== null || rep.redirect;
  return (r, log) => {
    const line = r.uri;
    if (!execCaptureRegex(r, rx, line)) {
      if (log) r.logError('notice', `"${pattern}" does not match "${line}"`);
      r.captures = null;
      return undefined;
    }
    if (log) r.logError('notice', `"${pattern}" matches "${line}"`);
    r.internal = true;
    if (status !== 0) {
      const location = redirectTarget(r, rep);
      if (log) r.logError('notice', `rewritten redirect: "${location}"`);
      setLocation(r, location);
      return status;
    }
    if (flag === 'break') r.uriChanged = false;
    else if (scope.location) r.uriChanged = true;
    const uri = rewriteUri(r, rep);
    if (log) r.logError('notice', `rewritten data: "${uri}", args: "${r.args}"`);
    if (uri === '') {
      r.logError('error', 'the rewritten URI has a zero length');
      return 500;
    }
    r.uri = uri;
    return last ? DECLINED : undefined;
  };
}
