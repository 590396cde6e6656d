// Shared set-up for the X tests: a home with the user's override definition pointing at the
// fake X (registered through the real CLI), a BROWSER program that behaves like a person
// clicking through, a free loopback port per login, and direct access to the stored records.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import type { ConnectionRecord } from "../../src/vault/records.js";
import { Vault } from "../../src/vault/store.js";
import { CLI, LAUNCH_TARGET_JS, cliAsync, emptyHome, tempDir, type CliResult } from "../helpers.js";
import type { FakeX } from "../peers/fake-x.js";

/** Environment without any way to open a real browser, and without X variables from the caller. */
export const QUIET_ENV: Record<string, string | undefined> = {
  DISPLAY: undefined,
  WAYLAND_DISPLAY: undefined,
  BROWSER: undefined,
  X_CLIENT_ID: undefined,
  X_CLIENT_SECRET: undefined,
  X_API_KEY: undefined,
  X_API_SECRET: undefined,
  X_ACCESS_TOKEN: undefined,
  X_ACCESS_TOKEN_SECRET: undefined,
  AUTHSOME_CALLBACK_PORT: undefined,
};

/** A new home where `x` is the user's definition pointing at the fake (registered as a user would). */
export async function xHome(fake: FakeX): Promise<string> {
  const home = emptyHome();
  const file = join(tempDir("authsome-xdef-"), "x.json");
  writeFileSync(file, JSON.stringify(fake.definition(), null, 2));
  const r = await cliAsync(["register", file, "--force"], { home, env: QUIET_ENV });
  assert.equal(r.code, 0, r.stderr);
  const inspect = await cliAsync(["inspect", "x"], { home, env: QUIET_ENV });
  assert.equal((JSON.parse(inspect.stdout) as { oauth: { token_url: string } }).oauth.token_url, `${fake.origin}/2/oauth2/token`);
  return home;
}

export interface ClickingBrowser {
  /** The BROWSER program. */
  command: string;
  /** Every URL it was given, in order. */
  urls(): string[];
}

/**
 * A BROWSER program acting like a person: it follows the authorization page's redirects (back to
 * the CLI's loopback callback), remembers a PIN page's PIN, and fills authsome's local form with
 * `answers` (and the PIN it saw for a "pin" field).
 */
export function clickingBrowser(answers: Record<string, string> = {}): ClickingBrowser {
  const dir = tempDir("authsome-xbrowser-");
  const log = join(dir, "urls.txt");
  const pin = join(dir, "pin.txt");
  const command = join(dir, "browser");
  writeFileSync(join(dir, "answers.json"), JSON.stringify(answers));
  writeFileSync(
    command,
    `#!${process.execPath}
const fs = require("node:fs");
${LAUNCH_TARGET_JS}
const url = launchTarget(process.argv[2]);
fs.appendFileSync(${JSON.stringify(log)}, url + "\\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const u = new URL(url);
  if (u.pathname.startsWith("/input/")) {
    const page = await (await fetch(url)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)[1];
    const names = [...page.matchAll(/<input type="(?:text|password)" name="([^"]+)"/g)].map((m) => m[1]);
    const answers = JSON.parse(fs.readFileSync(${JSON.stringify(join(dir, "answers.json"))}, "utf8"));
    const body = new URLSearchParams({ csrf });
    for (const n of names) {
      if (n === "pin") {
        // the authorize page is read by another run of this script; wait for its PIN (a loaded CI machine can take a while)
        for (let i = 0; i < 500 && !fs.existsSync(${JSON.stringify(pin)}); i++) await sleep(50);
        body.set(n, fs.readFileSync(${JSON.stringify(pin)}, "utf8"));
      } else body.set(n, answers[n] ?? "");
    }
    await fetch(url, { method: "POST", body, headers: { origin: u.origin } });
  } else {
    const res = await fetch(url, { redirect: "follow" });
    const text = await res.text();
    const m = /id="oauth_pin">([0-9]+)</.exec(text);
    // written aside and renamed, so the form's reader never sees the file before its PIN is in it
    if (m) {
      fs.writeFileSync(${JSON.stringify(pin + ".part")}, m[1]);
      fs.renameSync(${JSON.stringify(pin + ".part")}, ${JSON.stringify(pin)});
    }
  }
})();
`,
  );
  chmodSync(command, 0o755);
  return { command, urls: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []) };
}

/** The CLI with a stdin the test types into after reading stderr (no browser, no TTY). */
export function interactiveCli(args: string[], home: string, env: Record<string, string | undefined>): {
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  type(line: string): void;
  done: Promise<CliResult>;
} {
  const full: NodeJS.ProcessEnv = { ...process.env, AUTHSOME_HOME: home, NO_COLOR: "1" };
  delete full.AUTHSOME_PROFILE;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  const child = spawn(process.execPath, [CLI, ...args], { env: full, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    for (const w of waiters.splice(0)) w();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      for (const w of waiters.splice(0)) w();
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return {
    async waitFor(re, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(stderr);
        if (m) return m;
        if (Date.now() > end || child.exitCode !== null) throw new Error(`never saw ${re} on stderr:\n${stderr}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    type: (line) => void child.stdin.write(line + "\n"),
    done,
  };
}

/** Reads (and optionally rewrites) a stored connection, as another program sharing the store would. */
export async function withStore<T>(home: string, fn: (connections: Connections) => Promise<T>): Promise<T> {
  const connections = new Connections(new Vault(new Home(home), "default"));
  try {
    return await fn(connections);
  } finally {
    connections.vault.close();
  }
}

export const stored = (home: string, connection = "default"): Promise<ConnectionRecord> =>
  withStore(home, async (c) => {
    const r = await c.get("x", connection);
    assert.ok(r, `connection ${connection} is stored`);
    return r;
  });

/** The local expiry moved into the past: the CLI reads the real clock, the fake's was moved. */
export const expireLocally = (home: string, connection = "default"): Promise<void> =>
  withStore(home, async (c) => {
    const r = (await c.get("x", connection))!;
    await c.put({ ...r, expires_at: new Date(Date.now() - 60_000).toISOString() });
  });

/** Asserts none of `secrets` appears in the outputs or the audit log. */
export function assertNoSecrets(home: string, results: CliResult[], secrets: string[]): void {
  const auditLog = existsSync(join(home, "audit.log")) ? readFileSync(join(home, "audit.log"), "utf8") : "";
  for (const s of secrets.filter((v) => v.length >= 6)) {
    for (const r of results) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), "no secret in the CLI's output");
    assert.ok(!auditLog.includes(s), "no secret in the audit log");
  }
}

/** GET on the fake with a header, as an agent using the credential would. */
export async function callX(fake: FakeX, path: string, authorization: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${fake.origin}${path}`, { headers: { authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
