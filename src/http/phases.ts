// nginx's phase engine: server rewrite, find config, rewrite, post rewrite, preaccess, access,
// try_files, content; then error_page/finalization and the log phase once the response is out.
// Handlers run synchronously until one returns a promise; only then does the runner await.
import type { Request } from './request.ts';
import { closesConnection, specialPage, wireStatus } from './special_response.ts';
import { DECLINED, DONE, OK, type PhaseHandler, type PhaseResult } from './types.ts';

type Stage =
  | 'server_rewrite'
  | 'find_config'
  | 'rewrite'
  | 'post_rewrite'
  | 'preaccess'
  | 'access'
  | 'try_files'
  | 'content';

function next(stage: Stage): Stage | null {
  switch (stage) {
    case 'server_rewrite':
      return 'find_config';
    case 'find_config':
      return 'rewrite';
    case 'rewrite':
      return 'post_rewrite';
    case 'post_rewrite':
      return 'preaccess';
    case 'preaccess':
      return 'access';
    case 'access':
      return 'try_files';
    case 'try_files':
      return 'content';
    case 'content':
      return null;
  }
}

function handlersOf(r: Request, stage: Stage): PhaseHandler[] {
  const loc = r.location;
  switch (stage) {
    case 'server_rewrite':
      return r.server.serverRewrite;
    case 'content':
      return loc.contentHandler ? [loc.contentHandler] : loc.handlers.content;
    case 'find_config':
    case 'post_rewrite':
      return [];
    default:
      return loc.handlers[stage];
  }
}

/** Start processing a request; errors anywhere end in a 500, never in a crash. */
export function runRequest(r: Request): void {
  r.onEnd = runLog;
  try {
    resume(r, 'server_rewrite');
  } catch (err) {
    fail(r, err);
  }
}

function fail(r: Request, err: unknown): void {
  r.logError('crit', `unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  if (!r.res.headersSent) finalize(r, 500);
  else r.res.destroy();
}

/** Run stages from `stage` until a handler answers, redirects, fails, or waits on a promise. */
function resume(r: Request, stage: Stage | null): void {
  while (stage !== null) {
    if (stage === 'find_config') {
      const status = findConfig(r);
      if (status !== OK) return finalize(r, status);
    } else if (stage === 'post_rewrite') {
      if (r.uriChanged) {
        r.uriChanged = false;
        if (--r.uriChangesLeft === 0) return cycleError(r);
        stage = 'find_config';
        continue;
      }
    } else {
      const list = handlersOf(r, stage);
      for (let i = 0; i < list.length; i++) {
        const res = list[i](r);
        if (typeof res !== 'number') {
          res.then(
            (v) => afterHandler(r, stage as Stage, i, v),
            (err) => fail(r, err),
          );
          return;
        }
        if (res === DECLINED) continue;
        if (res !== OK) return afterResult(r, res);
        break;
      }
      if (stage === 'content' && !r.res.headersSent && r.restart === null) return finalize(r, 404);
    }
    stage = next(stage);
  }
}

/** A handler's promise settled: finish its phase, then go on. */
function afterHandler(r: Request, stage: Stage, index: number, res: PhaseResult): void {
  try {
    if (res === DECLINED) {
      const list = handlersOf(r, stage);
      for (let i = index + 1; i < list.length; i++) {
        const v = list[i](r);
        if (typeof v !== 'number') {
          v.then(
            (x) => afterHandler(r, stage, i, x),
            (err) => fail(r, err),
          );
          return;
        }
        if (v === DECLINED) continue;
        if (v !== OK) return afterResult(r, v);
        break;
      }
      if (stage === 'content') return finalize(r, 404);
    } else if (res !== OK) return afterResult(r, res);
    resume(r, next(stage));
  } catch (err) {
    fail(r, err);
  }
}

/**
 * The result of a content handler that returned DONE at once and carried on with callbacks (the
 * proxy, sparing a promise per request): taken as if the handler's promise had settled with `res`.
 */
export function contentSettled(r: Request, res: PhaseResult): void {
  afterHandler(r, 'content', 0, res);
}

/** DONE or a status: follow a redirect if one was asked for, else finalize. */
function afterResult(r: Request, res: PhaseResult): void {
  if (r.restart !== null) {
    const where = r.restart;
    r.restart = null;
    if (--r.uriChangesLeft === 0) return cycleError(r);
    return resume(r, where === 'server_rewrite' ? 'server_rewrite' : 'rewrite');
  }
  if (res !== DONE) finalize(r, res);
}

function cycleError(r: Request): void {
  r.logError('error', `rewrite or internal redirection cycle while processing "${r.uri}"`);
  r.forcedStatus = null;
  r.errorPageUsed = true;
  finalize(r, 500);
}

function findConfig(r: Request): number {
  const m = r.server.locations.match(r.uri);
  if (m === null) r.location = r.server.implicit;
  else {
    r.location = m.value;
    if (m.captures !== null) r.captures = m.captures;
    if (m.groups) for (const [k, v] of Object.entries(m.groups)) r.vars.set(k, v);
  }
  r.uriChanged = false;
  if (m?.redirect) {
    r.headersOut.push('Location', `${r.uri}/${r.args === '' ? '' : `?${r.args}`}`);
    return 301;
  }
  const core = coreOf(r);
  const length = r.parsed.contentLength;
  if (core.clientMaxBodySize > 0 && length > core.clientMaxBodySize) {
    r.logError('error', `client intended to send too large body: ${length} bytes`);
    return 413;
  }
  return OK;
}

function coreOf(r: Request) {
  return r.location.conf.get('http_core') as import('./request.ts').LocationCore;
}

/** Answer `status`: through error_page when one applies, else nginx's default page. */
export function finalize(r: Request, status: number): void {
  if (r.res.headersSent) return;
  const core = coreOf(r);
  const page = status >= 300 && !r.errorPageUsed ? core.errorPages.get(status) : undefined;
  if (page !== undefined) {
    r.errorPageUsed = true;
    r.forcedStatus = page.override === null ? status : page.override === 0 ? null : page.override;
    if (page.uri.startsWith('@')) {
      afterResult(r, r.namedRedirect(page.uri));
      return;
    }
    const uri = page.target.evaluate(r);
    if (/^https?:\/\//.test(uri)) {
      const code =
        r.forcedStatus !== null && r.forcedStatus >= 301 && r.forcedStatus <= 308 ? r.forcedStatus : 302;
      r.forcedStatus = null;
      r.headersOut.length = 0;
      r.headersOut.push('Location', uri);
      return sendSpecial(r, code);
    }
    if (r.method !== 'HEAD') r.method = 'GET';
    afterResult(r, r.internalRedirect(uri));
    return;
  }
  sendSpecial(r, status);
}

function sendSpecial(r: Request, status: number): void {
  if (closesConnection(status)) r.res.closeAfter();
  if (status === 444) return r.res.destroy();
  const core = coreOf(r);
  const ua = r.header('user-agent');
  const padding = core.msiePadding && ua !== undefined && /MSIE |Chrome\//.test(ua);
  const body = specialPage(status, core.serverTokens, padding);
  const keep: string[] = [];
  const h = r.headersOut;
  // A default page keeps only headers that describe where to go (Location) or were added by modules.
  for (let i = 0; i < h.length; i += 2) if (h[i].toLowerCase() !== 'content-type') keep.push(h[i], h[i + 1]);
  h.length = 0;
  for (const x of keep) h.push(x);
  if (body === null) r.send(wireStatus(status), '', status === 204 || status === 304 ? undefined : undefined);
  else r.send(wireStatus(status), body, 'text/html');
}

function runLog(r: Request): void {
  for (const h of r.location.handlers.log) {
    try {
      const res = h(r);
      if (typeof res !== 'number')
        res.catch((err) => r.logError('alert', `log handler failed: ${String(err)}`));
    } catch (err) {
      r.logError('alert', `log handler failed: ${String(err)}`);
    }
  }
}
