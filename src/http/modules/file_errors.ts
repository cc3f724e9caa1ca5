// File-system failures as nginx reports them: ` (2: No such file or directory)` after the message,
// and the status each errno maps to (ngx_http_static_handler's switch).
import { constants } from 'node:os';

// glibc's strerror() texts, which nginx prints; Node's messages differ ("no such file or directory, open ...").
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  EMLINK: 'Too many links',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
};

/** The errno code of a Node fs error (`ENOENT` ...), or '' for anything else. */
export function errnoCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** ` (2: No such file or directory)`: the suffix nginx's ngx_log_error adds for an errno. */
export function errnoSuffix(err: unknown): string {
  const code = errnoCode(err);
  const n = (constants.errno as Record<string, number>)[code];
  if (n === undefined) return ` (${(err as Error)?.message ?? String(err)})`;
  return ` (${n}: ${STRERROR[code] ?? code})`;
}

/** A missing file or path component: 404 (and logged only while log_not_found is on). */
export function isNotFound(code: string): boolean {
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}

/** Access refused, or a symlink nginx's openat() checks refuse: 403. */
export function isForbidden(code: string): boolean {
  return code === 'EACCES' || code === 'EMLINK' || code === 'ELOOP';
}
