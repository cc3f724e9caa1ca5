// One coarse sweep for all connection deadlines instead of a timer per request: a connection
// joins the set once; setting or clearing its deadline is a field write.

const SWEEP_INTERVAL = 50;

interface Expiring {
  /** 0: no deadline. */
  deadline: number;
  expire(): void;
}

class DeadlineSet {
  private readonly items = new Set<Expiring>();
  private sweeper: NodeJS.Timeout | null = null;

  add(item: Expiring): void {
    this.items.add(item);
    if (this.sweeper === null) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL);
      this.sweeper.unref();
    }
  }

  delete(item: Expiring): void {
    this.items.delete(item);
  }

  private sweep(): void {
    const now = Date.now();
    for (const item of this.items) {
      if (item.deadline !== 0 && item.deadline <= now) {
        item.deadline = 0;
        item.expire();
      }
    }
    if (this.items.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}

export const deadlines = new DeadlineSet();
