// The NGINX Plus-compatible API's path tables. Modules register their endpoints here (keyvals,
// limit_reqs, zone_sync ...); the `api` module's dispatcher resolves `/{version}/a/b/{param}`
// against them. A path that holds no endpoint but has children lists them, as `/api/9/` and
// `/api/9/http/` do in Plus.
import type { HttpRequest } from '../http/types.ts';
import { pathNotFound, unknownVersion } from './errors.ts';
import type { ReplyShape } from './fields.ts';
import { nginxEndpoint, processesEndpoint } from './instance_endpoints.ts';
import { upstreamEndpoint, upstreamsEndpoint } from './upstream_endpoints.ts';

/** The versions served (`GET /api/` lists them); 9 is the current one. */
export const API_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

export type ApiMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Methods refused with MethodDisabled unless `api write=on`. */
export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PATCH', 'DELETE']);

/** What an endpoint handler gets. */
export interface ApiRequest {
  readonly version: number;
  /** HEAD comes as GET. */
  readonly method: ApiMethod;
  /** Values of the `{name}` segments of the endpoint's path. */
  readonly params: Readonly<Record<string, string>>;
  /** A query argument, percent-decoded (`?key=...`); undefined when absent. */
  arg(name: string): string | undefined;
  /** The body as JSON; throws ApiError (413 too large, 415 JsonError, BodyReadError). */
  json(): Promise<unknown>;
  readonly http: HttpRequest;
}

/** A handler's answer: `body` is sent as JSON; none (204, 201 ...) sends an empty body. */
export interface ApiReply {
  readonly status: number;
  readonly body?: unknown;
}

/** Handlers answer or throw ApiError (KeyvalNotFound and the like) for the error body. */
export type ApiHandler = (req: ApiRequest) => ApiReply | Promise<ApiReply>;

export interface ApiEndpoint {
  /** Segments under `/api/{version}/`; `{name}` is a parameter: `['http', 'keyvals', '{zone}']`. */
  readonly path: readonly string[];
  /** The first API version that has it (`/http/limit_reqs/` is 6); default 1. */
  readonly since?: number;
  /** How `?fields=` applies to its GET reply; default one object. */
  readonly shape?: ReplyShape;
  /**
   * Whether the endpoint exists in the live configuration (`/stream/zone_sync` only with a zone_sync
   * server): when not, it is left out of its parent's list and its path is not found. Default yes.
   */
  readonly present?: () => boolean;
  readonly methods: Partial<Record<ApiMethod, ApiHandler>>;
}

interface RouteNode {
  readonly children: Map<string, RouteNode>;
  param: { readonly name: string; readonly node: RouteNode } | null;
  endpoint: ApiEndpoint | null;
}

const newNode = (): RouteNode => ({ children: new Map(), param: null, endpoint: null });

const root = newNode();

/** Add an endpoint; a second one at the same path, or a differently named parameter, is a bug. */
export function registerApiEndpoint(endpoint: ApiEndpoint): void {
  let node = root;
  for (const segment of endpoint.path) {
    const param = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (param === undefined) {
      let child = node.children.get(segment);
      if (child === undefined) {
        child = newNode();
        node.children.set(segment, child);
      }
      node = child;
    } else {
      if (node.param !== null && node.param.name !== param)
        throw new Error(`API path /${endpoint.path.join('/')}: parameter {${node.param.name}} already here`);
      node.param ??= { name: param, node: newNode() };
      node = node.param.node;
    }
  }
  if (node.endpoint !== null) throw new Error(`API path /${endpoint.path.join('/')} registered twice`);
  node.endpoint = endpoint;
}

registerApiEndpoint(nginxEndpoint);
registerApiEndpoint(processesEndpoint);
registerApiEndpoint(upstreamsEndpoint);
registerApiEndpoint(upstreamEndpoint);

export type Route =
  | { readonly kind: 'versions' }
  | { readonly kind: 'list'; readonly names: string[] }
  | { readonly kind: 'endpoint'; readonly endpoint: ApiEndpoint; readonly params: Record<string, string> };

function servedIn(endpoint: ApiEndpoint | null, version: number): boolean {
  return endpoint !== null && (endpoint.since ?? 1) <= version && (endpoint.present?.() ?? true);
}

/** Whether anything under `node` is served in `version`. */
function reachable(node: RouteNode, version: number): boolean {
  if (servedIn(node.endpoint, version)) return true;
  if (node.param !== null && reachable(node.param.node, version)) return true;
  for (const child of node.children.values()) if (reachable(child, version)) return true;
  return false;
}

/** The version a segment names, or null (`9` yes; `09`, `10`, `x` no). */
export function parseVersion(segment: string): number | null {
  if (!/^[1-9][0-9]*$/.test(segment)) return null;
  const v = Number(segment);
  return API_VERSIONS.includes(v) ? v : null;
}

/**
 * Resolve the path segments below the `api` location (empty ones already dropped): the version
 * list, a list of child names, or an endpoint with its parameters. Throws UnknownVersion or
 * PathNotFound.
 */
export function resolveRoute(segments: readonly string[]): { route: Route; version: number } {
  if (segments.length === 0) return { route: { kind: 'versions' }, version: 0 };
  const version = parseVersion(segments[0]);
  if (version === null) throw unknownVersion();
  let node = root;
  const params: Record<string, string> = {};
  for (const segment of segments.slice(1)) {
    const child = node.children.get(segment);
    if (child !== undefined && reachable(child, version)) node = child;
    else if (node.param !== null) {
      params[node.param.name] = segment;
      node = node.param.node;
    } else throw pathNotFound();
  }
  if (servedIn(node.endpoint, version))
    return { route: { kind: 'endpoint', endpoint: node.endpoint as ApiEndpoint, params }, version };
  const names = [...node.children].filter(([, child]) => reachable(child, version)).map(([name]) => name);
  if (names.length === 0) throw pathNotFound();
  return { route: { kind: 'list', names }, version };
}
