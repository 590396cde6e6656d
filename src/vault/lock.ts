import { closeSync, openSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { fileError } from "../home/files.js";

// Node has no flock(2) in core. The Python implementation holds flock(LOCK_EX) on
// profiles/<p>/lock around each write, so we take the very same lock through fs-ext
// (a small native addon). flock is released by the kernel when a process dies, so a
// crashed holder never blocks the others.

type FlockSyncFn = (fd: number, flags: "exnb") => void;
let flockImpl: FlockSyncFn | undefined;
function flockSync(): FlockSyncFn {
  if (!flockImpl) {
    const require = createRequire(import.meta.url);
    flockImpl = (require("fs-ext") as { flockSync: FlockSyncFn }).flockSync;
  }
  return flockImpl;
}

/** Takes the lock if nobody holds it; false when somebody does. */
function tryLock(fd: number): boolean {
  try {
    flockSync()(fd, "exnb");
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EAGAIN" || (err as NodeJS.ErrnoException).code === "EWOULDBLOCK") return false;
    throw err;
  }
}

/** The longest pause between two tries of a held lock. */
const MAX_POLL_MS = 25;

/**
 * Waits for the lock by trying it again after short pauses. A blocking flock would wait on one of
 * libuv's four pool threads: two processes each waiting on locks the other holds could take every
 * thread, and then neither could take the free lock that would let it finish (a deadlock seen
 * with agents refreshing several connections at once).
 */
async function lock(fd: number): Promise<void> {
  for (let pause = 1; !tryLock(fd); pause = Math.min(pause * 2, MAX_POLL_MS)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

// waiters for one path inside this process queue here, so that only one of them tries the lock
const queues = new Map<string, Promise<unknown>>();

/** Runs fn while holding an exclusive flock on path (created 0600 if missing). */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(async () => {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    } catch (err) {
      throw fileError(err, "write", path, "the lock file");
    }
    try {
      await lock(fd);
      return await fn();
    } finally {
      closeSync(fd); // closing the descriptor releases the flock
    }
  });
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}

/** Tries the lock without waiting; true when nobody holds it (used by doctor). */
export async function isLockFree(path: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch {
    return true;
  }
  try {
    return tryLock(fd);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
