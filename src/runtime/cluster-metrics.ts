// Metrics of a whole cluster process group, over the IPC channel between the primary and its workers.
// The primary asks every listening worker for its registry (as JSON), adds its own, and sums them
// with prom-client's AggregatorRegistry (histograms and counters add up; event-loop lag averages). A
// worker that does not answer in time is left out of that scrape rather than failing it. A worker
// serving /metrics on the main port asks the primary for that sum, so a scrape of any worker — or of
// the primary's METRICS_PORT — shows the whole group.
import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const COLLECT = 'ctms:metrics:collect';
const SNAPSHOT = 'ctms:metrics:snapshot';
const REQUEST = 'ctms:metrics:request';
const RESULT = 'ctms:metrics:result';
/** How long the primary waits for the workers' snapshots, and a worker for the primary's sum. */
const COLLECT_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 1_000;

type Snapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
interface Message {
  type?: unknown;
  id?: unknown;
  snapshot?: Snapshot;
  text?: string;
  error?: string;
}

const isMessage = (message: unknown): message is Message => typeof message === 'object' && message !== null;

/** In a worker: answers the primary's collection requests with this registry's values. */
export function answerMetricsCollection(registry: Registry): void {
  process.on('message', (message: unknown) => {
    if (!isMessage(message) || message.type !== COLLECT) return;
    registry.getMetricsAsJSON().then(
      (snapshot) => process.send?.({ type: SNAPSHOT, id: message.id, snapshot }),
      (error: unknown) => process.send?.({ type: SNAPSHOT, id: message.id, snapshot: [], error: String(error) }),
    );
  });
}

/** In a worker: the whole group's metrics text, from the primary. */
export function requestGroupMetrics(): Promise<string> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('the primary did not answer the metrics request')), REQUEST_TIMEOUT_MS);
    const onMessage = (message: unknown) => {
      if (!isMessage(message) || message.type !== RESULT || message.id !== id) return;
      finish(message.error === undefined ? null : new Error(message.error), message.text);
    };
    const finish = (error: Error | null, text = '') => {
      clearTimeout(timer);
      process.off('message', onMessage);
      if (error) reject(error);
      else resolve(text);
    };
    process.on('message', onMessage);
    if (!process.send?.({ type: REQUEST, id })) finish(new Error('no IPC channel to the primary'));
  });
}

/** In the primary: collects and sums the metrics of these workers and of the primary's own registry. */
export class GroupMetrics {
  private readonly pending = new Map<string, (snapshot: Snapshot) => void>();

  constructor(
    private readonly workers: () => Worker[],
    private readonly own: Registry,
  ) {}

  /** To be called with every message a worker sends. */
  handle(worker: Worker, message: unknown): void {
    if (!isMessage(message)) return;
    if (message.type === SNAPSHOT && typeof message.id === 'string') {
      this.pending.get(`${worker.id}:${message.id}`)?.(message.snapshot ?? []);
    } else if (message.type === REQUEST) {
      this.collect().then(
        (text) => worker.isConnected() && worker.send({ type: RESULT, id: message.id, text }),
        (error: unknown) => worker.isConnected() && worker.send({ type: RESULT, id: message.id, error: String(error) }),
      );
    }
  }

  get contentType(): string {
    return this.own.contentType;
  }

  async collect(): Promise<string> {
    const id = randomUUID();
    const snapshots = await Promise.all(this.workers().filter((w) => w.isConnected()).map((w) => this.snapshotOf(w, id)));
    const all = [...snapshots.filter((s): s is Snapshot => s !== null), await this.own.getMetricsAsJSON()];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  private snapshotOf(worker: Worker, id: string): Promise<Snapshot | null> {
    const key = `${worker.id}:${id}`;
    return new Promise((resolve) => {
      const done = (snapshot: Snapshot | null) => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(snapshot);
      };
      const timer = setTimeout(() => done(null), COLLECT_TIMEOUT_MS);
      this.pending.set(key, done);
      try {
        worker.send({ type: COLLECT, id });
      } catch {
        done(null);
      }
    });
  }
}
