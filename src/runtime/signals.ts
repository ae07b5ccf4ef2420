// What starts a shutdown: the first SIGTERM or SIGINT (or, in a cluster worker, the primary's
// shutdown message) begins a graceful one; any further signal ends the process at once. The
// primary's message is not counted as a signal: on Ctrl-C a worker receives both the terminal's
// SIGINT and the primary's message, and that must not count as a second request.
export const SHUTDOWN_MESSAGE = 'ctms:shutdown';

export interface ShutdownHandlers {
  graceful(reason: string): void;
  immediate(signal: NodeJS.Signals): void;
}

export function onShutdownRequests(handlers: ShutdownHandlers): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) handlers.graceful(signal);
    else handlers.immediate(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('message', (message: unknown) => {
    if ((message as { type?: unknown } | null)?.type === SHUTDOWN_MESSAGE) handlers.graceful('primary');
  });
}
