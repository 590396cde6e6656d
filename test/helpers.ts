import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SHARED = fileURLToPath(new URL("../../shared/", import.meta.url));
export const FIXTURE_HOME = join(SHARED, "fixtures/python-authsome-0.2.3/home");
export const FIXTURE_EXPECTED = join(SHARED, "fixtures/python-authsome-0.2.3/expected.json");
export const CLI = join(ROOT, "bin/authsome.js");
/** Debian's python, which has python3-cryptography (and later requests/httpx). */
export const SYSTEM_PYTHON = "/usr/bin/python3";

const made: string[] = [];
process.on("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = "authsome-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.isDirectory() ? 0o700 : 0o600);
  if (st.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/** A private, writable copy of the store written by the Python implementation. */
export function fixtureHome(): string {
  const home = join(tempDir(), "home");
  cpSync(FIXTURE_HOME, home, { recursive: true });
  makeWritable(home);
  return home;
}

/**
 * For BROWSER programs (a script's source): \`launchTarget(arg)\` is the URL authsome asked to open,
 * read from the private launch page it gives the browser instead of the URL (src/input/browser.ts).
 */
export const LAUNCH_TARGET_JS = `
function launchTarget(arg) {
  if (!arg.startsWith("file://")) throw new Error("authsome gave the browser " + arg + ", not its launch page");
  const html = require("node:fs").readFileSync(new URL(arg), "utf8");
  const href = /<a id="target" href="([^"]*)"/.exec(html)[1];
  return href.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
`;

/** An empty home directory path (not created). */
export function emptyHome(): string {
  return join(tempDir(), "home");
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  home: string;
  env?: Record<string, string | undefined>;
  input?: string;
}

function cliEnv(opts: CliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AUTHSOME_HOME: opts.home, NO_COLOR: "1" };
  delete env.AUTHSOME_PROFILE;
  // a proxy of the machine's own would carry the tests' traffic: a test that wants one says so
  for (const name of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"]) delete env[name];
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs the real CLI (the built bin) to completion. */
export function cli(args: string[], opts: CliOptions): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: cliEnv(opts), input: opts.input ?? "", encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the real CLI asynchronously (for many at once). */
export function cliAsync(args: string[], opts: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(opts), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

// Runs a command on a real pseudo-terminal (Python's pty module): it is the session's foreground
// job, as when a person starts it; each step waits for a text in the output, then types.
const PTY_DRIVER = `
import json, os, pty, sys
argv, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
def read():
    global out
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        chunk = b""
    out += chunk
    return chunk
for step in steps:
    start = len(out)
    while step["after"].encode() not in out[start:]:
        if not read():
            raise SystemExit("the output ended before " + repr(step["after"]) + ": " + out.decode(errors="replace"))
    os.write(fd, step["type"].encode())
while read():
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode(errors="replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

/** Runs a program (argv[0] is its path) on a pseudo-terminal, typing each step's text once its `after` text has been printed. */
export function onTerminal(argv: string[], steps: Array<{ after: string; type: string }>, opts: CliOptions): { output: string; code: number } {
  const r = spawnSync(SYSTEM_PYTHON, ["-c", PTY_DRIVER, JSON.stringify(argv), JSON.stringify(steps)], { env: cliEnv(opts), encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) throw new Error(`the terminal driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { output: string; code: number };
}

/** Runs the CLI on a pseudo-terminal (see onTerminal). */
export function cliOnTerminal(args: string[], steps: Array<{ after: string; type: string }>, opts: CliOptions): { output: string; code: number } {
  return onTerminal([process.execPath, CLI, ...args], steps, opts);
}

/** Runs a command that must fail with `code` (and `message` on stderr), and proves the home is byte-for-byte unchanged. */
export function failsCleanly(home: string, args: string[], code: number, message?: RegExp, extra: { input?: string; env?: Record<string, string | undefined> } = {}): CliResult {
  const before = snapshot(home);
  const r = cli(args, { home, ...extra });
  assert.equal(r.code, code, `exit code of ${args.join(" ")}: ${r.stderr}`);
  if (message) assert.match(r.stderr, message);
  assert.deepEqual(snapshot(home), before, `nothing on disk changed after ${args.join(" ")}`);
  return r;
}

/** A snapshot of every file under dir (path -> content hex digest and mode), to prove "nothing changed on disk". */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      out.set(p, `dir ${st.mode & 0o777}`);
      for (const name of readdirSync(p)) walk(join(p, name));
    } else {
      const r = spawnSync("sha256sum", [p], { encoding: "utf8" });
      out.set(p, `${r.stdout.split(" ")[0]} ${st.mode & 0o777}`);
    }
  };
  walk(dir);
  return out;
}

/** Writes a user provider definition into a home, as `register` would leave it. */
export function writeProvider(home: string, definition: Record<string, unknown>): void {
  mkdirSync(join(home, "providers"), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "providers", `${String(definition.name)}.json`), JSON.stringify(definition));
}

/** A loopback port nobody listens on right now (for a server a child process will open). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
