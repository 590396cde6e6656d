import { closeSync, openSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { fileError } from "../home/files.js";

// Node has no flock(2) in core. The Python implementation holds flock(LOCK_EX) on
// profiles/<p>/lock around each write, so we take the very same lock through fs-ext
// (a small native addon). flock is released by the kernel when a process dies, so a
// crashed holder never blocks the others.

type FlockFn = (fd: number, flags: "ex" | "un" | "exnb", cb: (err: NodeJS.ErrnoException | null) => void) => void;
let flockImpl: FlockFn | undefined;
function flock(): FlockFn {
  if (!flockImpl) {
    const require = createRequire(import.meta.url);
    flockImpl = (require("fs-ext") as { flock: FlockFn }).flock;
  }
  return flockImpl;
}

const call = (fd: number, flags: "ex" | "un" | "exnb") =>
  new Promise<void>((resolve, reject) => flock()(fd, flags, (err) => (err ? reject(err) : resolve())));

// flock waits run on libuv's small thread pool: queue waiters for one path inside
// this process so at most one thread per lock file is ever blocked.
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
      await call(fd, "ex");
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
    await call(fd, "exnb");
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
