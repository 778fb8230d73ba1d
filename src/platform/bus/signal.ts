/**
 * An interruptible sleep: wait(ms) resolves after ms or at the next wake(), whichever comes first.
 * A wake() while nobody waits makes the next wait return at once, so a nudge is never lost.
 */
export class Waker {
  private pending = false;
  private release: (() => void) | null = null;

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.release = null;
        resolve();
      };
      this.release = done;
      timer = setTimeout(done, ms);
    });
  }

  wake(): void {
    if (this.release) this.release();
    else this.pending = true;
  }
}

/** Work in progress that stop() must wait for. */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  /** Runs fn and remembers it until it settles. fn is expected to handle its own errors. */
  track<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn();
    this.running.add(p);
    p.finally(() => this.running.delete(p)).catch(() => {});
    return p;
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}

/** Runs tasks one after another, in the order they were queued. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run(fn: () => Promise<void>): Promise<void> {
    const next = this.tail.then(fn);
    this.tail = next.catch(() => {});
    return next;
  }
}
