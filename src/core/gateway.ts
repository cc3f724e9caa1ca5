// The running gateway: the live cycle, its listeners, the pid file and the signals nginx answers.
// One process serves; a reload swaps cycles in place (see cycle.ts) and keeps the old on failure.
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/types.ts';
import { HttpListeners } from '../http/server.ts';
import { modules } from '../modules.ts';
import { StreamListeners } from '../stream/listeners.ts';
import { retire } from '../zones/registry.ts';
import { type Cycle, type CycleOptions, loadCycle } from './cycle.ts';

export class Gateway {
  private cycle: Cycle;
  private readonly listeners: HttpListeners;
  private readonly streamListeners: StreamListeners;
  private stopping = false;
  private live = false;
  private reloadQueued = false;

  private constructor(cycle: Cycle) {
    this.cycle = cycle;
    this.listeners = new HttpListeners(cycle.log);
    this.streamListeners = new StreamListeners(cycle.log);
  }

  /** Bind what `cycle` needs beyond what is bound (HTTP, then stream); throws nginx's bind() error. */
  private async bind(cycle: Cycle): Promise<void> {
    if (cycle.http) await this.listeners.bind(cycle.http);
    if (cycle.stream) await this.streamListeners.bind(cycle.stream);
  }

  /** New connections go to `cycle`; listeners it no longer needs close. */
  private activate(cycle: Cycle): void {
    if (cycle.http) this.listeners.activate(cycle.http, cycle.log);
    this.streamListeners.activate(cycle.stream, cycle.log);
  }

  /** Load, bind and go live; throws ConfigError or a bind() Error for the CLI to print. */
  static async start(options: CycleOptions): Promise<Gateway> {
    const cycle = loadCycle(options);
    const gw = new Gateway(cycle);
    // Signals are ours before any port accepts: a SIGHUP that arrives while binding must not kill
    // the process (the default action); it is queued and runs once the cycle is live.
    gw.installSignals();
    try {
      await gw.bind(cycle);
    } catch (err) {
      cycle.log.close();
      throw err;
    }
    gw.activate(cycle);
    for (const m of modules) m.lifecycle?.live?.(cycle.main);
    gw.writePid();
    gw.live = true;
    cycle.log.log('notice', `zonesync started, pid ${process.pid}`);
    if (gw.reloadQueued) void gw.reload();
    return gw;
  }

  private writePid(): void {
    mkdirSync(path.dirname(this.cycle.pidPath), { recursive: true });
    writeFileSync(this.cycle.pidPath, `${process.pid}\n`);
  }

  private installSignals(): void {
    process.on('SIGHUP', () => void this.reload());
    process.on('SIGTERM', () => void this.stop(false));
    process.on('SIGINT', () => void this.stop(false));
    process.on('SIGQUIT', () => void this.stop(true));
    process.on('SIGUSR1', () => this.reopen());
    // nginx uses these for binary upgrade; a single process has nothing to do with them.
    process.on('SIGUSR2', () => {});
    process.on('SIGWINCH', () => {});
  }

  /** SIGHUP: build the new cycle beside the old; on any failure keep serving the old one. */
  async reload(): Promise<boolean> {
    if (!this.live) {
      this.reloadQueued = true;
      return false;
    }
    const old = this.cycle;
    old.log.log('notice', 'signal 1 (SIGHUP) received from a user, reconfiguring');
    let next: Cycle;
    try {
      next = loadCycle(old.options, old);
    } catch (err) {
      old.log.log('emerg', err instanceof ConfigError ? err.text : (err as Error).message);
      return false;
    }
    try {
      await this.bind(next);
    } catch (err) {
      releaseCycle(next);
      next.log.close();
      old.log.log('emerg', (err as Error).message);
      return false;
    }
    this.activate(next);
    this.cycle = next;
    for (const m of modules) m.lifecycle?.live?.(next.main);
    if (next.pidPath !== old.pidPath) this.writePid();
    next.log.log('notice', 'reconfiguring done');
    // In-flight requests hold their own references to the old cycle's objects; its log files close
    // once they have had time to finish.
    setTimeout(() => {
      retire(old.zones, next.zones);
      releaseCycle(old);
      old.log.close();
    }, 60_000).unref();
    return true;
  }

  reopen(): void {
    this.cycle.log.log('notice', 'signal 10 (SIGUSR1) received from a user, reopening logs');
    this.cycle.log.reopen();
    for (const m of modules) m.lifecycle?.reopen?.();
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.cycle.log.log('notice', graceful ? 'gracefully shutting down' : 'exiting');
    await Promise.all([this.listeners.close(graceful), this.streamListeners.close(graceful)]);
    try {
      unlinkSync(this.cycle.pidPath);
    } catch {
      // Already gone: nothing to clean.
    }
    for (const m of modules) m.lifecycle?.exit?.();
    this.cycle.log.log('notice', 'exit');
    this.cycle.log.close();
    process.exit(0);
  }
}

function releaseCycle(cycle: Cycle): void {
  for (const m of modules) m.lifecycle?.release?.(cycle.main);
}
