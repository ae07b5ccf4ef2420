// A counting semaphore with a bounded, abortable wait: at most `max` holders at once, the others
// served first come, first served.

export interface SlotWait {
  /** How long to wait while every slot is held (by default, as long as it takes). */
  waitMs?: number;
  /** Stops waiting (the caller's client has gone). */
  signal?: AbortSignal;
}

/** The wait for a slot ended without one: it timed out, or was called off. */
export class SlotWaitEnded extends Error {
  constructor(readonly reason: 'timeout' | 'aborted') {
    super(reason === 'timeout' ? 'no slot became free in time' : 'the wait for a slot was called off');
    this.name = 'SlotWaitEnded';
  }
}

export class Slots {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  /** Nobody holds a slot or waits for one. */
  get idle(): boolean {
    return this.held === 0 && this.waiting.length === 0;
  }

  /** Resolves once a slot is the caller's; rejects with SlotWaitEnded when the wait ends first. */
  acquire({ waitMs = Infinity, signal }: SlotWait = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(new SlotWaitEnded('aborted'));
    if (this.held < this.max) {
      this.held += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const stopWaiting = (reason: 'timeout' | 'aborted') => {
        const index = this.waiting.indexOf(grant);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        settle();
        reject(new SlotWaitEnded(reason));
      };
      const onAbort = () => stopWaiting('aborted');
      const timer = Number.isFinite(waitMs) ? setTimeout(() => stopWaiting('timeout'), waitMs) : undefined;
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      function grant() {
        settle();
        resolve();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Hands the slot to the next waiter, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held -= 1;
  }
}
