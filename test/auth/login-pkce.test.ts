import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { ACCOUNT_ID, CALLBACK_URL, CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { CLI, cliAsync, tempDir, type CliResult } from "../helpers.js";
import { homeWithProvider, recordingBrowser, assertStoredTokenWorks } from "./login-fixtures.js";

let server: OidcServer;
before(async () => {
  server = await startOidcServer();
});
after(async () => {
  await server.close();
});

const basicEnv = { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret, DISPLAY: undefined, WAYLAND_DISPLAY: undefined };

function assertNoSecrets(home: string, r: CliResult, secrets: string[]): void {
  const auditLog = existsSync(join(home, "audit.log")) ? readFileSync(join(home, "audit.log"), "utf8") : "";
  for (const s of secrets) {
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), "no secret in the output");
    assert.ok(!auditLog.includes(s), "no secret in the audit log");
  }
}

test("pkce login through the browser stores a token the server accepts, the account and the client", async () => {
  const home = homeWithProvider(server);
  const browser = recordingBrowser();
  const running = cliAsync(["login", "localidp", "--timeout", "30"], { home, env: { ...basicEnv, BROWSER: browser.command } });
  const authorizeUrl = new URL(await browser.url());
  assert.equal(authorizeUrl.searchParams.get("code_challenge_method"), "S256");
  assert.equal(authorizeUrl.searchParams.get("redirect_uri"), CALLBACK_URL);
  // any user of the machine reads the browser's arguments: with the state and challenge there, they
  // could bind a code of their own account to this login, or cancel it
  for (const name of ["state", "code_challenge"]) assert.ok(!browser.argv()[0]!.includes(authorizeUrl.searchParams.get(name)!), `no ${name} in the browser's arguments`);
  const callback = await server.authorize(authorizeUrl);
  const page = await fetch(callback);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("cache-control"), "no-store");
  const r = await running;
  assert.equal(r.code, 0, r.stderr);

  const token = await assertStoredTokenWorks(server, home);

  const json = await cliAsync(["get", "localidp", "--json"], { home });
  assert.equal(json.code, 0, json.stderr);
  assert.ok(json.stdout.includes(ACCOUNT_ID), "the account id is filled");
  const secret = await cliAsync(["get", "localidp", "--field", "refresh_token", "--show-secret"], { home });
  assertNoSecrets(home, r, [token, secret.stdout.trim(), CLIENTS.basic.clientSecret]);

  // the client is stored: a second login (forced) needs no env
  const browser2 = recordingBrowser();
  const again = cliAsync(["login", "localidp", "--force", "--scopes", "openid,profile"], { home, env: { BROWSER: browser2.command, DISPLAY: undefined } });
  const second = new URL(await browser2.url());
  assert.equal(second.searchParams.get("client_id"), CLIENTS.basic.clientId);
  assert.equal(second.searchParams.get("scope"), "openid profile");
  await fetch(await server.authorize(second));
  const r2 = await again;
  assert.equal(r2.code, 0, r2.stderr);
});

test("access_denied in the callback: exit 4 with the reason, nothing stored", async () => {
  const home = homeWithProvider(server);
  const browser = recordingBrowser();
  const running = cliAsync(["login", "localidp", "--timeout", "30"], { home, env: { ...basicEnv, BROWSER: browser.command } });
  server.setInteractionMode("auto-deny");
  try {
    const callback = await server.authorize(await browser.url());
    assert.equal(callback.searchParams.get("error"), "access_denied");
    await fetch(callback);
  } finally {
    server.setInteractionMode("auto");
  }
  const r = await running;
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /denied/);
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.notEqual(got.code, 0);
});

test("callbacks with a forged state (even a forged error) are refused and ignored; the real one still completes the login", async () => {
  const home = homeWithProvider(server);
  const browser = recordingBrowser();
  const running = cliAsync(["login", "localidp", "--timeout", "30"], { home, env: { ...basicEnv, BROWSER: browser.command } });
  const callback = await server.authorize(await browser.url());
  const forged = new URL(callback);
  forged.searchParams.set("state", "forged-state-value");
  assert.equal((await fetch(forged)).status, 400, "a wrong state is refused");
  const forgedError = new URL(callback.origin + callback.pathname);
  forgedError.search = new URLSearchParams({ error: "access_denied", state: "another-forged-state" }).toString();
  assert.equal((await fetch(forgedError)).status, 400, "an error with a wrong state cannot end the login");
  assert.equal((await fetch(callback)).status, 200, "the real callback is still accepted");
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ignored a request to the callback address that did not come from this login \(wrong state\)/);
  await assertStoredTokenWorks(server, home);
});

test("a wrong state and no real callback: the login waits, then fails on its timeout with nothing stored", async () => {
  const home = homeWithProvider(server);
  const browser = recordingBrowser();
  const running = cliAsync(["login", "localidp", "--timeout", "3"], { home, env: { ...basicEnv, BROWSER: browser.command } });
  const callback = await server.authorize(await browser.url());
  callback.searchParams.set("state", "forged-state-value");
  assert.equal((await fetch(callback)).status, 400);
  const r = await running;
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /wrong state/);
  assert.match(r.stderr, /no authorization arrived within 3 s/);
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.notEqual(got.code, 0);
});

test("a callback request with a non-loopback Host header is refused", async () => {
  const home = homeWithProvider(server);
  const browser = recordingBrowser();
  const running = cliAsync(["login", "localidp", "--timeout", "30"], { home, env: { ...basicEnv, BROWSER: browser.command } });
  const callback = await server.authorize(await browser.url());
  const evil = await new Promise<number>((resolve, reject) => {
    import("node:http").then(({ request }) => {
      const req = request({ host: "127.0.0.1", port: 7998, path: callback.pathname + callback.search, headers: { host: "evil.example:7998" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    }, reject);
  });
  assert.equal(evil, 421);
  await fetch(callback); // the real browser still completes the login
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
});

test("a busy callback port is a usage error naming --port", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
  const port = (blocker.address() as { port: number }).port;
  try {
    const home = homeWithProvider(server);
    const r = await cliAsync(["login", "localidp", "--port", String(port)], { home, env: { ...basicEnv, BROWSER: "/nonexistent" } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--port/);
    const viaEnv = await cliAsync(["login", "localidp"], { home, env: { ...basicEnv, AUTHSOME_CALLBACK_PORT: String(port) } });
    assert.equal(viaEnv.code, 2, viaEnv.stderr);
  } finally {
    blocker.close();
  }
});

/** The CLI's login with this environment; the URL it prints, its stdin, its stderr so far and its end. */
async function loginShowingUrl(home: string, browser: Record<string, string | undefined>) {
  const env = { ...process.env, ...basicEnv, AUTHSOME_HOME: home, NO_COLOR: "1" } as NodeJS.ProcessEnv;
  for (const name of ["BROWSER", "DISPLAY", "WAYLAND_DISPLAY"]) delete env[name];
  Object.assign(env, browser);
  const child = spawn(process.execPath, [CLI, "login", "localidp", "--timeout", "30"], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  const closed = new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)\n/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on("close", () => reject(new Error(`CLI ended early: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr, closed };
}

for (const [name, browser] of [
  ["without a browser", {}],
  // a $BROWSER that starts and shows nothing: a remote editor's helper skips file:// pages, a browser on another machine cannot read them
  ["with a browser that shows nothing", { BROWSER: "/bin/true" }],
] as const) {
  test(`${name} the URL is printed and the pasted redirect URL completes the login`, async () => {
    const home = homeWithProvider(server);
    const login = await loginShowingUrl(home, browser);
    const callback = await server.authorize(login.url);
    login.child.stdin.write(callback.href + "\n");
    const code = await login.closed;
    assert.equal(code, 0, login.stderr());
    const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
    assert.equal((await server.introspect(got.stdout.trim())).active, true);
  });
}

for (const signal of ["SIGTERM", "SIGHUP"] as const) {
  test(`${signal} during the login cancels it: nothing stored, and the browser's launch page is gone`, async () => {
    const home = homeWithProvider(server);
    const tmp = tempDir();
    const login = await loginShowingUrl(home, { BROWSER: "/bin/true", TMPDIR: tmp });
    assert.equal(readdirSync(tmp).filter((n) => n.startsWith("authsome-open-")).length, 1);
    login.child.kill(signal);
    assert.equal(await login.closed, 4, login.stderr());
    assert.match(login.stderr(), /cancelled/);
    assert.deepEqual(readdirSync(tmp), []);
    assert.equal((await cliAsync(["get", "localidp"], { home })).code, 5, "nothing was stored");
  });
}
