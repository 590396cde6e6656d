import type { Duplex, Writable } from "node:stream";
import { ChunkedBody, MessageError, type Framing } from "./http1.js";

// Reading HTTP/1.1 messages off a socket: heads are taken whole, bodies are handed on in the
// pieces they arrive in (never gathered, unless asked to), and bytes past the end of a message
// stay queued for the next one. What is already here is handled at once, without a promise
// (most heads and small bodies arrive in one piece); a body still arriving is piped from the
// socket's own events straight to its writer, which pauses the socket while it is full.

const HIGH_WATER = 256 * 1024;
const BLANK_LINE = Buffer.from("\r\n\r\n");
/** How much may wait in a writer's buffer before relaying pauses for it to drain. */
const WRITE_WINDOW = 256 * 1024;

/**
 * Just past the blank line that ends the head at the start of `piece`, or -1 when it is not within
 * `limit` bytes. (A scan here costs less than a call into Buffer.indexOf for a head of a few hundred bytes.)
 */
function headEnd(piece: Buffer, limit: number): number {
  const n = Math.min(piece.length, limit + 4);
  for (let i = 3; i < n; i++) if (piece[i] === 10 && piece[i - 1] === 13 && piece[i - 2] === 10 && piece[i - 3] === 13) return i + 1;
  return -1;
}

/** True when so much waits in `to`'s buffer that relaying should pause (a socket's own mark, 16 KiB, is one TLS record). */
export function isFull(to: Writable): boolean {
  return to.writableLength > WRITE_WINDOW && !to.destroyed;
}

/** Calls `fn` once a full `to` has drained or closed; returns what stops waiting (its listeners taken off). */
function whenRoom(to: Writable, fn: () => void): () => void {
  const done = (): void => {
    stop();
    fn();
  };
  const stop = (): void => {
    to.off("drain", done);
    to.off("close", done);
  };
  to.on("drain", done);
  to.on("close", done);
  return stop;
}

/** Resolves once a full `to` has drained or closed. */
export function room(to: Writable): Promise<void> {
  return new Promise<void>((resolve) => void whenRoom(to, resolve));
}

/** `a` then `b` in one buffer: a view of both when they lie side by side (a head and the body that came with it), else a copy. */
function joined(a: Buffer, b: Buffer): Buffer {
  if (a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset) return Buffer.from(a.buffer, a.byteOffset, a.length + b.length);
  return Buffer.concat([a, b]);
}

/** Where a body is being piped while its bytes arrive. */
interface Pipe {
  /** Takes one arriving piece. */
  take(piece: Buffer): void;
  /** The stream ended first. */
  ended(): void;
}

/** How much of each piece belongs to a body, in its own framing. */
class BodyCursor {
  private left: number;
  private readonly chunked: ChunkedBody | undefined;

  constructor(readonly framing: Framing) {
    this.left = framing.kind === "length" ? framing.length : 0;
    this.chunked = framing.kind === "chunked" ? new ChunkedBody() : undefined;
  }

  get done(): boolean {
    if (this.chunked) return this.chunked.done;
    return this.framing.kind !== "close" && this.left === 0;
  }

  /** How many of the piece's bytes are the body's; throws MessageError on a malformed chunked body. */
  take(piece: Buffer): number {
    if (this.chunked) return this.chunked.feed(piece);
    if (this.framing.kind === "close") return piece.length;
    const n = Math.min(this.left, piece.length);
    this.left -= n;
    return n;
  }
}

export class SocketReader {
  private queue: Buffer[] = [];
  private queued = 0;
  private finished = false;
  private wake: (() => void) | undefined;
  private pipe: Pipe | undefined;
  /** Bytes received since the pool handed the connection out (a reused one that dies unanswered can be retried). */
  received = 0;

  constructor(readonly socket: Duplex) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("error", this.onEnd);
  }

  private onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    if (this.pipe) return this.pipe.take(chunk);
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= HIGH_WATER) this.socket.pause();
    this.notify();
  };

  private onEnd = (): void => {
    if (this.finished) return;
    this.finished = true;
    this.pipe?.ended();
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** How many bytes are queued (part of a head, while one is awaited). */
  get pending(): number {
    return this.queued;
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

  /** Resolves when more bytes are queued or the stream has ended. */
  private more(): Promise<void> {
    if (this.socket.isPaused()) this.socket.resume();
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Puts bytes back in front (the part of a piece that belongs to the next message). */
  private unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.queue.unshift(bytes);
    this.queued += bytes.length;
  }

  /**
   * The next head, up to and including its blank line; undefined when the stream ends before any
   * byte of it. At once when the first queued piece holds it whole, else a promise of it.
   */
  head(limit: number, tooLarge: number): Buffer | undefined | Promise<Buffer | undefined> {
    const first = this.queue[0];
    if (first && first[0] !== 13 && first[0] !== 10) {
      const end = headEnd(first, limit);
      if (end >= 0) return this.takeQueued(end);
    }
    // nothing here yet: wait for the next piece, which most often holds a whole head
    if (!first && !this.finished) return this.more().then(() => this.head(limit, tooLarge));
    return this.gatherHead(limit, tooLarge);
  }

  /** A head that spans pieces or is still to come. Empty lines before a head are skipped (RFC 9112 2.2). */
  private async gatherHead(limit: number, tooLarge: number): Promise<Buffer | undefined> {
    let buffered: Buffer = Buffer.alloc(0);
    for (;;) {
      const end = buffered.indexOf(BLANK_LINE);
      // the same bound as headEnd's: up to `limit` bytes before the blank line
      if (end > limit || (end < 0 && buffered.length > limit + 3)) throw new MessageError(tooLarge, "header section too large");
      if (end >= 0) {
        this.unshift(buffered.subarray(end + 4));
        return buffered.subarray(0, end + 4);
      }
      if (this.queued === 0) {
        if (this.finished) {
          if (buffered.length === 0) return undefined;
          throw new MessageError(400, "the connection ended inside a header section");
        }
        await this.more();
        continue;
      }
      const piece = this.takeQueued(Infinity);
      buffered = buffered.length === 0 ? piece : Buffer.concat([buffered, piece]);
      let blank = 0;
      while (blank < buffered.length && (buffered[blank] === 13 || buffered[blank] === 10)) blank++;
      if (blank > 0) buffered = buffered.subarray(blank);
    }
  }

  /**
   * Hands a body on to `to` (or drops it, without `to`) in its own framing (chunked stays
   * chunked), minding backpressure. `head` goes first: with the body's first piece when that is
   * already here (one write), else at once (a stream's head must not wait for its first event).
   * True when the whole body was passed on, false when the stream ended before it was complete
   * (for "close" framing, the end is the body's end: true). At once when the body is all here.
   */
  relay(framing: Framing, to: Writable | undefined, head?: Buffer): boolean | Promise<boolean> {
    const cursor = new BodyCursor(framing);
    let first = head;
    /** Writes a piece (after the head, the first time); true when `to` is full. */
    const send = (piece: Buffer): boolean => {
      if (first) {
        piece = joined(first, piece);
        first = undefined;
      }
      if (!to || piece.length === 0) return false;
      to.write(piece);
      return isFull(to);
    };
    // what is already queued
    let full = false;
    try {
      while (!cursor.done && this.queued > 0) {
        const piece = this.takeQueued(Infinity);
        const used = cursor.take(piece);
        this.unshift(piece.subarray(used));
        full = send(used === piece.length ? piece : piece.subarray(0, used));
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (first) {
      to?.write(first);
      first = undefined;
    }
    if (cursor.done) return true;
    if (this.finished) return framing.kind === "close";
    return this.pipeBody(cursor, send, to, full);
  }

  /** The rest of a body, piped from the socket's events as it arrives (once `to` has room, when `full`). */
  private pipeBody(cursor: BodyCursor, send: (piece: Buffer) => boolean, to: Writable | undefined, full: boolean): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      /** Set while waiting for `to` to have room. */
      let stopWaiting: (() => void) | undefined;
      const finish = (complete: boolean): void => {
        this.pipe = undefined;
        stopWaiting?.(); // the stream may end while `to` is full
        resolve(complete);
      };
      const resume = (): void => {
        stopWaiting = undefined;
        if (this.pipe) this.socket.resume();
      };
      this.pipe = {
        take: (piece) => {
          let used: number;
          try {
            used = cursor.take(piece);
          } catch (err) {
            this.pipe = undefined;
            return reject(err);
          }
          const nowFull = send(used === piece.length ? piece : piece.subarray(0, used));
          if (cursor.done) {
            this.pipe = undefined;
            this.unshift(piece.subarray(used));
            if (this.queued >= HIGH_WATER) this.socket.pause();
            return finish(true);
          }
          if (nowFull) waitForRoom();
        },
        ended: () => finish(cursor.framing.kind === "close"),
      };
      const waitForRoom = (): void => {
        this.socket.pause();
        stopWaiting = whenRoom(to!, resume);
      };
      if (full) waitForRoom();
      else if (this.socket.isPaused()) this.socket.resume();
    });
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
        if (this.queued === 0) {
          if (this.finished) throw new MessageError(400, "the connection ended inside a body");
          await this.more();
          continue;
        }
        const piece = this.takeQueued(Infinity);
        const used = chunked.feed(piece, add);
        this.unshift(piece.subarray(used));
      }
    } else if (framing.kind === "length") {
      if (framing.length > limit) return undefined;
      const sink = { write: (piece: Buffer) => (add(piece), true), writableLength: 0 } as unknown as Writable;
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
