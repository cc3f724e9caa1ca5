// nginx's error log: `2026/11/27 06:43:14 [error] 1234#0: *5 message, client: ..., server: ...`.
// Levels filter as in nginx: a log at `warn` writes warn and everything more severe.
import { closeSync, openSync, writeSync } from 'node:fs';

export const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const;
export type Level = (typeof LEVELS)[number];

/** `2026/11/27 06:43:14` in local time, as nginx's ngx_cached_err_log_time. */
export function errorLogTime(d = new Date()): string {
  const p = (n: number) => (n < 10 ? '0' + n : String(n));
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface ErrorLogTarget {
  /** A path, or 'stderr'. */
  readonly path: string;
  readonly level: Level;
}

export class ErrorLog {
  private targets: { fd: number; level: number; path: string }[] = [];
  constructor(targets: readonly ErrorLogTarget[] = [{ path: 'stderr', level: 'error' }]) {
    this.open(targets);
  }

  private open(targets: readonly ErrorLogTarget[]): void {
    this.targets = targets.map((t) => ({
      path: t.path,
      level: LEVELS.indexOf(t.level),
      fd: t.path === 'stderr' ? 2 : openSync(t.path, 'a'),
    }));
  }

  /** Reopen files (SIGUSR1), e.g. after logrotate moved them. */
  reopen(): void {
    const targets = this.targets.map((t) => ({ path: t.path, level: LEVELS[t.level] }));
    this.close();
    this.open(targets);
  }

  close(): void {
    for (const t of this.targets) if (t.fd !== 2) closeSync(t.fd);
    this.targets = [];
  }

  enabled(level: Level): boolean {
    const n = LEVELS.indexOf(level);
    return this.targets.some((t) => n <= t.level);
  }

  /** Write one line; `conn` is the connection number nginx prints as `*N`. */
  log(level: Level, message: string, conn?: number): void {
    const n = LEVELS.indexOf(level);
    let line: string | undefined;
    for (const t of this.targets) {
      if (n > t.level) continue;
      line ??= `${errorLogTime()} [${level}] ${process.pid}#0: ${conn === undefined ? '' : `*${conn} `}${message}\n`;
      try {
        writeSync(t.fd, line);
      } catch {
        // A full disk or a closed stderr must not take the gateway down.
      }
    }
  }
}
