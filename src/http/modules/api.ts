// ngx_http_api_module: `api [write=on|off];` turns a location into the NGINX Plus-compatible REST
// API (src/api/). The path below the location's prefix is resolved against the registered
// endpoints; errors answer with Plus's JSON error body. Write methods need `write=on`.
import {
  ApiError,
  bodyReadError,
  bodyTooLarge,
  errorBody,
  jsonError,
  methodDisabled,
  methodNotSupported,
} from '../../api/errors.ts';
import { filterFields, parseFields } from '../../api/fields.ts';
import { cycleWentLive } from '../../api/instance_endpoints.ts';
import {
  API_VERSIONS,
  type ApiMethod,
  type ApiReply,
  type ApiRequest,
  resolveRoute,
  WRITE_METHODS,
} from '../../api/router.ts';
import { find, inherited } from '../../config/tree.ts';
import { type ConfEntry, invalid } from '../../config/types.ts';
import { ngxSize } from '../../config/values.ts';
import type { Module } from '../../core/module.ts';
import { queryArgument } from '../../variables/http_core.ts';
import type { VariableGetter } from '../../variables/registry.ts';
import type { HttpError } from '../engine/types.ts';
import type { HttpRequest, LocationConf, PhaseResult } from '../types.ts';

const MODULE = 'http_api';

/** client_body_buffer_size's default on 64-bit platforms (two pages): the API's body limit. */
const DEFAULT_BODY_BUFFER = 16 * 1024;

export interface ApiConf {
  readonly write: boolean;
  /** The location's prefix, stripped before the path is resolved ('' for regex locations). */
  readonly prefix: string;
  /** Bodies larger than client_body_buffer_size get 413, as Plus documents. */
  readonly bodyLimit: number;
  readonly requestId: VariableGetter;
}

function parseApi(entry: ConfEntry): boolean {
  const arg = entry.args[0];
  if (arg === undefined) return false;
  if (!arg.startsWith('write=')) invalid(`invalid parameter "${arg}"`);
  const value = arg.slice('write='.length);
  if (value === 'on') return true;
  if (value === 'off') return false;
  return invalid(`invalid value "${value}" in "api" directive, it must be "on" or "off"`);
}

function locationPrefix(loc: LocationConf): string {
  const owner = loc.block.owner?.value as { modifier: string; pattern: string } | undefined;
  if (owner === undefined) return '';
  return owner.modifier === '' || owner.modifier === '^~' || owner.modifier === '=' ? owner.pattern : '';
}

function bodyLimitOf(loc: LocationConf): number {
  const entry = inherited(loc.block, 'client_body_buffer_size')[0];
  return (entry && ngxSize(entry.args[0])) || DEFAULT_BODY_BUFFER;
}

function sendJson(r: HttpRequest, status: number, value: unknown): PhaseResult {
  // Buffers go out as bytes; strings would be written as latin1, and keyval values may be any text.
  return r.send(status, Buffer.from(JSON.stringify(value)), 'application/json');
}

function sendError(r: HttpRequest, conf: ApiConf, err: ApiError): PhaseResult {
  return r.send(err.status, Buffer.from(errorBody(err, conf.requestId(r) ?? '')), 'application/json');
}

function decodedArg(r: HttpRequest, name: string): string | undefined {
  const raw = queryArgument(r.args, name);
  if (raw === undefined) return undefined;
  // As ngx_unescape_uri: `+` stays a `+`; a malformed escape leaves the text as sent.
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function readJson(r: HttpRequest, limit: number): Promise<unknown> {
  let body: Buffer;
  try {
    body = await r.body.readAll(limit);
  } catch (err) {
    const status = (err as HttpError).status ?? 500;
    if (status === 413) {
      r.logError('error', (err as Error).message);
      throw bodyTooLarge();
    }
    throw bodyReadError(status === 408 ? 408 : 400);
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw jsonError((err as Error).message);
  }
}

/** Answer one API request (the content handler of an `api` location). */
export async function dispatchApi(r: HttpRequest, conf: ApiConf): Promise<PhaseResult> {
  try {
    const rest = r.uri.startsWith(conf.prefix) ? r.uri.slice(conf.prefix.length) : r.uri;
    const { route, version } = resolveRoute(rest.split('/').filter((s) => s !== ''));
    const method = r.method === 'HEAD' ? 'GET' : r.method;
    if (route.kind !== 'endpoint') {
      if (method !== 'GET') throw methodNotSupported();
      return sendJson(r, 200, route.kind === 'versions' ? API_VERSIONS : route.names);
    }
    const handler = route.endpoint.methods[method as ApiMethod];
    if (handler === undefined) throw methodNotSupported();
    if (WRITE_METHODS.has(method) && !conf.write) throw methodDisabled();
    const req: ApiRequest = {
      version,
      method: method as ApiMethod,
      params: route.params,
      arg: (name) => decodedArg(r, name),
      json: () => readJson(r, conf.bodyLimit),
      http: r,
    };
    const reply: ApiReply = await handler(req);
    if (reply.body === undefined) return r.send(reply.status, '');
    const fields = method === 'GET' ? req.arg('fields') : undefined;
    const body =
      fields === undefined
        ? reply.body
        : filterFields(reply.body, parseFields(fields), route.endpoint.shape ?? 'object');
    return sendJson(r, reply.status, body);
  } catch (err) {
    if (err instanceof ApiError) return sendError(r, conf, err);
    throw err;
  }
}

export const apiModule: Module = {
  name: MODULE,
  directives: [{ name: 'api', contexts: ['location'], args: [0, 1], parse: parseApi }],
  http: {
    location(loc, cx) {
      // Only the location that says `api` answers; nested locations and `if` blocks do not inherit it.
      if (loc.block.context !== 'location') return undefined;
      const entry = find(loc.block, 'api');
      if (entry === undefined) return undefined;
      const requestId = cx.variables.getter('request_id');
      if (requestId === undefined) throw new Error('$request_id is not registered');
      const conf: ApiConf = {
        write: entry.value as boolean,
        prefix: locationPrefix(loc),
        bodyLimit: bodyLimitOf(loc),
        requestId,
      };
      loc.contentHandler = (r) => dispatchApi(r, conf);
      return undefined;
    },
  },
  lifecycle: { live: () => cycleWentLive() },
};
