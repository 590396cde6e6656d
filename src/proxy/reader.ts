import type { Duplex, Writable } from "node:stream";
import { ChunkedBody, MessageError, type Framing } from "./http1.js";

// Reading HTTP/1.1 messages off a socket: heads are taken whole, bodies are handed on in the
// pieces they arrive in (never gathered, unless asked to), and bytes past the end of a message
// stay queued for the next one. The socket is paused while too much is queued.

const HIGH_WATER = 256 * 1024;
const BLANK_LINE = Buffer.from("\r\n\r\n");
/** How much may wait in a writer's buffer before relaying pauses for it to drain. */
const WRITE_WINDOW = 256 * 1024;

export class SocketReader {
  private queue: Buffer[] = [];
  private queued = 0;
  private finished = false;
  private wake: (() => void) | undefined;
  /** Bytes received since the pool handed the connection out (a reused one that dies unanswered can be retried). */
  received = 0;

  constructor(readonly socket: Duplex) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("error", this.onEnd);
  }

  private onData = (chunk: Buffer): void => {
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.received += chunk.length;
    if (this.queued >= HIGH_WATER) this.socket.pause();
    this.notify();
  };

  private onEnd = (): void => {
    this.finished = true;
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  get idle(): boolean {
    return this.queued === 0 && !this.finished;
  }

  /** Takes up to `max` of the queued bytes (some must be queued). */
  private takeQueued(max: number): Buffer {
    const first = this.queue[0]!;
    let out: Buffer;
    if (first.length <= max) {
      this.queue.shift();
      out = first;
    } else {
      out = first.subarray(0, max);
      this.queue[0] = first.subarray(max);
    }
    this.queued -= out.length;
    if (this.queued < HIGH_WATER && this.socket.isPaused()) this.socket.resume();
    return out;
  }

  /**
   * Up to `max` bytes: at once when some are queued, else a promise of them; undefined at the
   * end of the stream. (Callers await only the promise: most pieces are already here.)
   */
  private next(max: number): Buffer | undefined | Promise<Buffer | undefined> {
    if (this.queued > 0) return this.takeQueued(max);
    if (this.finished) return undefined;
    if (this.socket.isPaused()) this.socket.resume();
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => (this.queued > 0 ? this.takeQueued(max) : undefined));
  }

  /** Puts bytes back in front (the part of a piece that belongs to the next message). */
  private unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.queue.unshift(bytes);
    this.queued += bytes.length;
  }

  /**
   * The next head, up to and including its blank line; undefined when the stream ends before any
   * byte of it. Empty lines before a head are skipped (RFC 9112 2.2).
   */
  async head(limit: number, tooLarge: number): Promise<Buffer | undefined> {
    let buffered: Buffer = Buffer.alloc(0);
    for (;;) {
      const end = buffered.indexOf(BLANK_LINE);
      if (end >= 0) {
        this.unshift(buffered.subarray(end + 4));
        return buffered.subarray(0, end + 4);
      }
      if (buffered.length > limit) throw new MessageError(tooLarge, "header section too large");
      const got = this.next(Infinity);
      const piece = got instanceof Promise ? await got : got;
      if (!piece) {
        if (buffered.length === 0) return undefined;
        throw new MessageError(400, "the connection ended inside a header section");
      }
      buffered = buffered.length === 0 ? piece : Buffer.concat([buffered, piece]);
      let blank = 0;
      while (blank < buffered.length && (buffered[blank] === 13 || buffered[blank] === 10)) blank++;
      if (blank > 0) buffered = buffered.subarray(blank);
    }
  }

  /**
   * Hands a body on to `to` as it arrives, in its own framing (chunked stays chunked), minding
   * backpressure. `head` goes first: with the body's first piece when that is already here (one
   * write), else at once (a stream's head must not wait for its first event). Resolves true when
   * the whole body was passed on, false when the stream ended before it was complete (for
   * "close" framing, the end is the body's end: true).
   */
  async relay(framing: Framing, to: Writable | undefined, head?: Buffer): Promise<boolean> {
    let first = head;
    if (first && (this.queued === 0 || framing.kind === "none")) {
      to?.write(first);
      first = undefined;
    }
    /** Writes a piece; a promise only when `to` wants the writer to wait. */
    const send = (piece: Buffer): Promise<void> | undefined => {
      if (first) {
        piece = Buffer.concat([first, piece]);
        first = undefined;
      }
      if (!to) return undefined;
      to.write(piece);
      // wait only when a good deal is pending: a socket's own mark (16 KiB) is one TLS record
      return to.writableLength > WRITE_WINDOW && !to.destroyed ? drained(to) : undefined;
    };
    const finish = (complete: boolean): boolean => {
      if (first) to?.write(first);
      return complete;
    };
    if (framing.kind === "none") return true;
    if (framing.kind === "length") {
      let left = framing.length;
      while (left > 0) {
        const got = this.next(left);
        const piece = got instanceof Promise ? await got : got;
        if (!piece) return finish(false);
        left -= piece.length;
        const full = send(piece);
        if (full) await full;
      }
      return true;
    }
    if (framing.kind === "close") {
      for (let piece = await this.next(Infinity); piece; piece = await this.next(Infinity)) await send(piece);
      return finish(true);
    }
    const chunked = new ChunkedBody();
    while (!chunked.done) {
      const piece = await this.next(Infinity);
      if (!piece) return finish(false);
      const used = chunked.feed(piece);
      this.unshift(piece.subarray(used));
      await send(used === piece.length ? piece : piece.subarray(0, used));
    }
    return true;
  }

  /** A whole body, decoded; undefined when it is larger than `limit`. */
  async collect(framing: Framing, limit: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let size = 0;
    const add = (data: Buffer): void => {
      size += data.length;
      if (size <= limit) parts.push(data);
    };
    if (framing.kind === "chunked") {
      const chunked = new ChunkedBody();
      while (!chunked.done && size <= limit) {
        const piece = await this.next(Infinity);
        if (!piece) throw new MessageError(400, "the connection ended inside a body");
        const used = chunked.feed(piece, add);
        this.unshift(piece.subarray(used));
      }
    } else if (framing.kind === "length") {
      if (framing.length > limit) return undefined;
      const sink = { write: (piece: Buffer) => (add(piece), true) } as unknown as Writable;
      if (!(await this.relay(framing, sink))) throw new MessageError(400, "the connection ended inside a body");
    }
    return size > limit ? undefined : Buffer.concat(parts);
  }

  /** Stops reading; returns what was queued (the socket is then the caller's). */
  detach(): Buffer {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
    this.socket.off("error", this.onEnd);
    const rest = Buffer.concat(this.queue);
    this.queue = [];
    this.queued = 0;
    return rest;
  }
}

/** Resolves when `stream` can take more, or is gone. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
