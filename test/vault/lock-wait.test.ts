// Waiting for locks another process holds must not stop this process from taking a free one.
// A blocking flock would wait on one of libuv's four pool threads; with four such waits, the free
// lock (and every other file operation) would never get a thread, and two agents refreshing
// several connections in opposite orders deadlocked that way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SYSTEM_PYTHON, tempDir } from "../helpers.js";
import { withFileLock } from "../../src/vault/lock.js";

// holds flock on every path given, until its stdin closes
const HOLDER = `
import fcntl, sys
files = [open(p, "a") for p in sys.argv[1:]]
for f in files:
    fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
`;

test("six locks held elsewhere are waited for, while a free lock and file reads go ahead; the waits end when the holder lets go", async () => {
  const dir = tempDir();
  const held = Array.from({ length: 6 }, (_, i) => join(dir, `held-${i}.lock`));
  const holder = spawn(SYSTEM_PYTHON, ["-c", HOLDER, ...held], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
  try {
    const order: string[] = [];
    const waits = held.map((path, i) => withFileLock(path, () => void order.push(`held-${i}`)));
    const timeout = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve("starved"), ms).unref());
    assert.equal(await Promise.race([withFileLock(join(dir, "free.lock"), () => "took the free lock"), timeout(5000)]), "took the free lock");
    assert.equal(await Promise.race([readFile(join(dir, "held-0.lock"), "utf8").then(() => "read a file"), timeout(5000)]), "read a file");
    assert.deepEqual(order, [], "no held lock was taken while its holder had it");
    holder.stdin.end();
    await Promise.all(waits);
    assert.equal(order.length, 6, "every wait ended once the holder let go");
  } finally {
    holder.kill();
  }
});
