// The child process of `authsome run`: argument passing, exit codes, signals, and the temp
// files and proxy going away however the child ends.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cliAsync, emptyHome, tempDir } from "../helpers.js";
import { proxyHome } from "./fixtures.js";

let home: string;
before(async () => {
  home = await proxyHome();
});

test("everything after -- (and, without --, from the first foreign word) belongs to the child", async () => {
  const a = await cliAsync(["run", "--", "printf", "%s|", "--provider", "x", "--json", "-c"], { home });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, "--provider|x|--json|-c|");
  const b = await cliAsync(["--quiet", "run", "--provider", "openai", "printf", "%s|", "--use", "a=b"], { home });
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, "--use|a=b|");
  assert.equal(b.stderr, "", "--quiet before run still applies");
});

test("the exit code is the child's; 128+N when a signal killed it", async () => {
  assert.equal((await cliAsync(["run", "--", "sh", "-c", "exit 7"], { home })).code, 7);
  assert.equal((await cliAsync(["run", "--", "sh", "-c", "kill -TERM $$"], { home })).code, 143);
  assert.equal((await cliAsync(["run", "--", "sh", "-c", "kill -KILL $$"], { home })).code, 137);
  const missing = await cliAsync(["run", "--", "no-such-command-authsome"], { home });
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /command not found/);
});

test("--provider with no connection is an error before the child starts", async () => {
  const marker = join(tempDir(), "started");
  const r = await cliAsync(["run", "--provider", "github", "--provider", "notion", "--", "touch", marker], { home });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /authsome login notion/);
  assert.equal(existsSync(marker), false);
  const none = await cliAsync(["run", "--", "true"], { home: emptyHome() });
  assert.equal(none.code, 0, "without --provider, nothing connected is fine");
  assert.equal((await cliAsync(["run"], { home })).code, 2);
});

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  test(`${signal} is forwarded; the proxy and the temp files go away`, async () => {
    const out = join(tempDir(), "out");
    // the child sets its trap, reports its trust dir and proxy, then waits to be signalled
    // (trap first: a signal sent as soon as the report appears must find it set)
    const script = `trap 'echo got-${signal} >> ${out}; exit 42' ${signal.slice(3)}; echo "$(dirname "$SSL_CERT_FILE") \${HTTPS_PROXY##*@}" > ${out}; while :; do sleep 0.05; done`;
    const child = spawn(process.execPath, [CLI, "run", "--", "sh", "-c", script], { env: { ...process.env, AUTHSOME_HOME: home }, stdio: "ignore" });
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    while (!existsSync(out) || !readFileSync(out, "utf8").includes("\n")) await new Promise((r) => setTimeout(r, 50));
    const [dir, proxy] = readFileSync(out, "utf8").trim().split(" ");
    assert.ok(existsSync(dir!));
    child.kill(signal);
    assert.equal(await closed, 42, "the child's own exit code");
    assert.match(readFileSync(out, "utf8"), new RegExp(`got-${signal}`));
    assert.equal(existsSync(dir!), false, "temp dir removed");
    const port = Number(proxy!.split(":")[1]);
    const probe = await cliAsync(["run", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/`], { home });
    assert.equal(probe.stdout, "000", "nothing listens on the proxy port any more");
  });
}
