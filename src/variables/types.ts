// A variable is a name (or a prefix such as `arg_`) and a getter over the request, as in nginx's
// ngx_http_variable_t. Getters return undefined for "not found", which `if ($x)` and `map` tell apart.
import type { HttpRequest } from '../http/types.ts';

export interface VariableDef {
  /** `uri`, or for prefix variables the prefix itself (`arg_`, `http_`, `cookie_`, `sent_http_`). */
  readonly name: string;
  readonly prefix?: boolean;
  /** `name` is the full variable name without `$` (for prefix variables, the suffix follows the prefix). */
  get(r: HttpRequest, name: string): string | undefined;
  /** For variables `set` may change (`$args`, `$limit_rate`). */
  set?(r: HttpRequest, value: string): void;
}

/** A compiled `"text $with ${vars}"`: evaluated per request without re-parsing. */
export interface ComplexValue {
  readonly text: string;
  /** The value when the text has no variables, else null. */
  readonly constant: string | null;
  evaluate(r: HttpRequest): string;
}
