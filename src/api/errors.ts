// NGINX Plus API errors: a status, a text and a code, sent as Plus sends them:
// {"error":{"status":405,"text":"method disabled","code":"MethodDisabled"},"request_id":"...","href":"..."}
// Codes are the ones ngx_http_api_module's reference lists; the texts are lowercase as in real
// Plus output ("method disabled"), where the reference gives no exact text.

export const API_DOC_HREF = 'https://nginx.org/en/docs/http/ngx_http_api_module.html';

/** Thrown (or returned) by API handlers; the dispatcher turns it into the error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, text: string) {
    super(text);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The version segment is not one this build serves (`/api/10/`, `/api/x/`). */
export const unknownVersion = (): ApiError => new ApiError(404, 'UnknownVersion', 'unknown version');

/** No endpoint at this path in this version. */
export const pathNotFound = (): ApiError => new ApiError(404, 'PathNotFound', 'path not found');

/** The endpoint exists but has no such method. */
export const methodNotSupported = (): ApiError =>
  new ApiError(405, 'MethodNotSupported', 'method not supported');

/** A write method on an `api` without `write=on`. */
export const methodDisabled = (): ApiError => new ApiError(405, 'MethodDisabled', 'method disabled');

/** The request body is not JSON at all (the reference's "415 - JSON error"). */
export const jsonError = (detail: string): ApiError =>
  new ApiError(415, 'JsonError', `json error: ${detail}`);

/** The body did not fit client_body_buffer_size (the reference gives no code for 413). */
export const bodyTooLarge = (): ApiError =>
  new ApiError(413, 'RequestEntityTooLarge', 'request entity too large');

/** Reading the body failed (a bad chunk, a timeout). */
export const bodyReadError = (status: number): ApiError =>
  new ApiError(status, 'BodyReadError', 'reading request body failed');

/** The JSON text of an error response. */
export function errorBody(err: ApiError, requestId: string): string {
  return JSON.stringify({
    error: { status: err.status, text: err.message, code: err.code },
    request_id: requestId,
    href: API_DOC_HREF,
  });
}
