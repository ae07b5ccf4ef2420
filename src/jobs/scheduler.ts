// An in-process timer for the scheduled jobs: runs `run` now and then every `intervalMs`, never two
// runs at once (the next is timed from the start of the previous and waits for its end). `stop`
// cancels the next run and waits for the one in progress. A run that throws is reported to
// `onError` and the schedule goes on.
export interface Scheduler {
  start(): void;
  /** Resolves once no run is in progress and none will start. */
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  intervalMs: number;
  run: () => Promise<unknown>;
  onError: (error: unknown) => void;
}

export function createScheduler({ intervalMs, run, onError }: SchedulerOptions): Scheduler {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;

  const schedule = (delayMs: number) => {
    // The timer alone never keeps the process alive: the server (or whoever started it) does.
    timer = setTimeout(() => {
      timer = undefined;
      current = tick();
    }, delayMs);
    timer.unref();
  };

  const tick = async () => {
    const startedAt = Date.now();
    try {
      await run();
    } catch (error) {
      onError(error);
    }
    current = undefined;
    if (running) schedule(Math.max(0, intervalMs - (Date.now() - startedAt)));
  };

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}
