import type { Duplex } from "node:stream";
import type { SocketReader } from "./reader.js";

// A request head must arrive whole within a time limit once it has begun (a connection's first
// head: once the connection is open), so that no local process can hold the proxy's connections
// with heads that never end. Kept-alive connections wait for their next request freely. One sweep
// every quarter of the limit does the watching: nothing is timed per request.

/** How long a begun request head may take to arrive (Node's own server allows 60 s). */
export const HEAD_TIMEOUT_MS = 60_000;

interface Waiting {
  socket: Duplex;
  /** When the head began (performance.now()); undefined while nothing of it has arrived. */
  since: number | undefined;
}

export class HeadDeadlines {
  private readonly waiting = new Map<SocketReader, Waiting>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly limitMs: number = HEAD_TIMEOUT_MS) {
    this.timer = setInterval(() => this.sweep(), Math.max(25, limitMs / 4));
    this.timer.unref();
  }

  /** `reader` waits for a head; `first`: the connection's first, whose time runs from now. */
  watch(reader: SocketReader, socket: Duplex, first: boolean): void {
    this.waiting.set(reader, { socket, since: first || reader.pending > 0 ? performance.now() : undefined });
  }

  unwatch(reader: SocketReader): void {
    this.waiting.delete(reader);
  }

  private sweep(): void {
    const now = performance.now();
    for (const [reader, w] of this.waiting) {
      // a head that began since the last sweep starts its time now (within a quarter of the limit)
      if (w.since === undefined) {
        if (reader.pending > 0) w.since = now;
      } else if (now - w.since > this.limitMs) {
        this.waiting.delete(reader);
        w.socket.destroy();
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.waiting.clear();
  }
}
