// A refresh that rotates its refresh token is, for a moment, the only holder of the grant: the
// provider has already retired the old token, and the new one exists only in this process until
// it is stored. A signal that would end the process then (Ctrl-C, a kill, a closed terminal) would
// leave the connection needing a new login. So, while a refresh is in flight, such a signal is held
// and raised again once it is stored, but only where nobody else handles it (the program's own
// handlers decide for themselves; `authsome run` forwards them to its child).

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

let holders = 0;
let held: NodeJS.Signals | undefined;
const installed = new Map<NodeJS.Signals, () => void>();

/** Holds ending signals until the returned release is called (nested holds release with the last). */
export function holdSignals(): () => void {
  if (holders++ === 0) {
    for (const signal of SIGNALS) {
      if (process.listenerCount(signal) > 0) continue;
      const hold = (): void => void (held ??= signal);
      process.on(signal, hold);
      installed.set(signal, hold);
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders > 0) return;
    for (const [signal, hold] of installed) process.removeListener(signal, hold);
    installed.clear();
    const signal = held;
    held = undefined;
    if (signal) process.kill(process.pid, signal); // with no handler left, it ends the process as it would have
  };
}
