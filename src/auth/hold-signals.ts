// A refresh that rotates its refresh token is, for a moment, the only holder of the grant: the
// provider has already retired the old token, and the new one exists only in this process until
// it is stored. A signal that would end the process then (Ctrl-C, a kill, a closed terminal) would
// leave the connection needing a new login. So, while a refresh is in flight, such a signal is held
// and raised again once it is stored, but only where nobody else handles it (the program's own
// handlers decide for themselves; `authsome run` forwards them to its child).

/** The signals that end a process on a person's behalf: Ctrl-C, a kill, a closed terminal. */
export const ENDING_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

let holders = 0;
let held: NodeJS.Signals | undefined;
const installed = new Map<NodeJS.Signals, () => void>();

/** Holds ending signals until the returned release is called (nested holds release with the last). */
export function holdSignals(): () => void {
  if (holders++ === 0) {
    for (const signal of ENDING_SIGNALS) {
      if (process.listenerCount(signal) > 0) continue;
      // a second signal is not held: the person insists (a token endpoint that hangs would otherwise keep them waiting)
      const hold = (): void => {
        if (held === undefined) held = signal;
        else letGo(signal);
      };
      process.on(signal, hold);
      installed.set(signal, hold);
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders > 0) return;
    const signal = held;
    held = undefined;
    letGo(signal);
  };
}

/** Takes the holding handlers off and raises `signal`, which with no handler left ends the process as it would have. */
function letGo(signal: NodeJS.Signals | undefined): void {
  for (const [s, hold] of installed) process.removeListener(s, hold);
  installed.clear();
  if (signal) process.kill(process.pid, signal);
}
