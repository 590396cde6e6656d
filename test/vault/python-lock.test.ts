import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_PYTHON, cliAsync, fixtureHome, tempDir } from "../helpers.js";

// The Python implementation holds flock(LOCK_EX) on profiles/<p>/lock around each write.
// While it does, a write from here must wait: both sides use the same kernel lock.
const HOLDER = `
import fcntl, sys, time
lock, released = sys.argv[1], sys.argv[2]
with open(lock, "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(1.5)
    with open(released, "w") as out:
        out.write(str(time.time()))
    fcntl.flock(f, fcntl.LOCK_UN)
`;

test("a write waits while the Python implementation holds the profile lock", async () => {
  const home = fixtureHome();
  const released = join(tempDir(), "released");
  const holder = spawn(SYSTEM_PYTHON, ["-c", HOLDER, join(home, "profiles", "default", "lock"), released], { stdio: ["ignore", "pipe", "inherit"] });
  const closed = new Promise((resolve) => holder.once("close", resolve));
  await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
  const login = await cliAsync(["login", "brevo"], { home, env: { BREVO_API_KEY: "xkeysib-lock-test" } });
  const finishedAt = Date.now() / 1000;
  await closed;
  assert.equal(login.code, 0, login.stderr);
  const releasedAt = Number(readFileSync(released, "utf8"));
  assert.ok(finishedAt >= releasedAt, "the write completed only after Python released its lock");
});
