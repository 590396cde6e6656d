import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { CLI, cliAsync } from "../helpers.js";
import { homeWithProvider, assertStoredTokenWorks, recordingBrowser } from "./login-fixtures.js";
import { freshConnection, openConnections } from "./oidc-home.js";

let server: OidcServer;
before(async () => {
  server = await startOidcServer();
});
after(async () => {
  await server.close();
});

/** Runs `login --flow device_code`, hands the user code shown on stderr to `act`, returns the exit code and stderr. */
async function deviceLogin(home: string, env: Record<string, string>, act: (userCode: string) => Promise<void>): Promise<{ code: number; stderr: string; stdout: string }> {
  const childEnv = { ...process.env, ...env, AUTHSOME_HOME: home, NO_COLOR: "1", AUTHSOME_DEVICE_POLL_INTERVAL_MS: "200" } as NodeJS.ProcessEnv;
  delete childEnv.BROWSER;
  delete childEnv.DISPLAY;
  const child = spawn(process.execPath, [CLI, "login", "localidp", "--flow", "device_code", "--timeout", "60"], { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.end();
  let stderr = "";
  let stdout = "";
  const closed = new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const userCode = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      const m = /enter the code:\s+(\S+)\s/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void closed.then(() => reject(new Error(`CLI ended early: ${stderr}`)));
  });
  await act(userCode);
  return { code: await closed, stderr, stdout };
}

test("device flow: the approved code gives a working token, account and stored client", async () => {
  const home = homeWithProvider(server);
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret }, (c) => server.approveDeviceCode(c));
  assert.equal(r.code, 0, r.stderr);
  const token = await assertStoredTokenWorks(server, home);
  assert.ok(!r.stderr.includes(token) && !r.stdout.includes(token));
  assert.ok(!r.stderr.includes(CLIENTS.basic.clientSecret));
  const json = await cliAsync(["get", "localidp", "--json"], { home });
  assert.match(json.stdout, /user-1/);
});

test("device flow: a public client with no secret works", async () => {
  const home = homeWithProvider(server, { client_auth_method: "none" });
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.public.clientId }, (c) => server.approveDeviceCode(c));
  assert.equal(r.code, 0, r.stderr);
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.equal((await server.introspect(got.stdout.trim())).active, true);
});

test("device flow: a denied code is exit 4, nothing stored", async () => {
  const home = homeWithProvider(server);
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret }, (c) => server.denyDeviceCode(c));
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /denied/);
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.notEqual(got.code, 0);
});

// the test's poll interval is 200 ms: slow_down adds one interval each time (5 s in real use); a
// failing server (5xx) doubles it each time (RFC 8628 3.5)
const BACKOFFS: Array<{ what: string; failures: Array<"slow_down" | "503" | "500">; gaps: [number, number] }> = [
  { what: "slow_down makes the poller wait longer between polls", failures: ["slow_down", "slow_down"], gaps: [380, 580] },
  { what: "a failing token endpoint while the person approves is waited out, polling less often", failures: ["503", "500"], gaps: [380, 780] },
];
for (const { what, failures, gaps } of BACKOFFS) {
  test(`device flow: ${what}; then the login completes`, async () => {
    const home = homeWithProvider(server);
    server.resetCounters();
    for (const failure of failures) server.failNext(failure, 1);
    const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret }, (c) => server.approveDeviceCode(c));
    assert.equal(r.code, 0, r.stderr);
    const polls = server.tokenRequestLog().filter((p) => p.grantType === "urn:ietf:params:oauth:grant-type:device_code");
    assert.ok(polls.length >= 3, `polled ${polls.length} times`);
    for (const i of [0, 1]) assert.ok(polls[i + 1]!.at - polls[i]!.at >= gaps[i]!, `waited ${polls[i + 1]!.at - polls[i]!.at} ms after ${failures[i]}`);
    await assertStoredTokenWorks(server, home);
  });
}

test("a login refused when it stores (a parallel login won) leaves the provider's client as the winner stored it", async () => {
  const home = homeWithProvider(server);
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.public.clientId }, async (c) => {
    // meanwhile, a parallel login with the confidential client stores its connection first
    const connections = openConnections(home);
    await connections.saveClient("localidp", { client_id: CLIENTS.basic.clientId, client_secret: CLIENTS.basic.clientSecret });
    await connections.save(await freshConnection(server));
    connections.vault.close();
    await server.approveDeviceCode(c);
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /already has a connected connection "default"/);
  const connections = openConnections(home);
  const client = await connections.client("localidp");
  connections.vault.close();
  assert.equal(client?.client_id, CLIENTS.basic.clientId, "the client the stored connection was issued to");
  await assertStoredTokenWorks(server, home);
});

test("device flow: an answer that would put escape sequences on the terminal, or hand the browser something other than a web address, is refused or dropped", async () => {
  const answers = [
    { user_code: "AB\u001b]0;owned\u0007CD", verification_uri: "https://example.test/device" },
    { user_code: "ABCD-EFGH", verification_uri: "--renderer-cmd-prefix=touch /tmp/pwned" },
    { user_code: "ABCD-EFGH", verification_uri: "http://127.0.0.1/verify", verification_uri_complete: "--renderer-cmd-prefix=touch /tmp/pwned" },
  ];
  let answer = answers[0]!;
  const http = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const send = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (req.url === "/device") return send(200, { device_code: "dev-123", interval: 1, expires_in: 60, ...answer });
      send(200, { access_token: "device-access-token", token_type: "Bearer", expires_in: 3600 });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    const home = homeWithProvider(server, { token_url: `${base}/token`, device_authorization_url: `${base}/device`, client_auth_method: "none" });
    const opener = recordingBrowser();
    const login = () => cliAsync(["login", "localidp", "--flow", "device_code", "--timeout", "20", "--force"], { home, env: { LOCALIDP_CLIENT_ID: "device-client", AUTHSOME_DEVICE_POLL_INTERVAL_MS: "100", BROWSER: opener.command, DISPLAY: ":0" } });
    const escape = await login();
    assert.equal(escape.code, 4);
    assert.match(escape.stderr, /answered with a user_code that cannot be shown; refused/);
    assert.ok(!escape.stderr.includes("\u001b"), "no escape sequence reached the terminal");
    answer = answers[1]!;
    const notWeb = await login();
    assert.equal(notWeb.code, 4);
    assert.match(notWeb.stderr, /answered with a verification_uri that is not an https address; refused/);
    answer = answers[2]!;
    const dropped = await login();
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.match(dropped.stderr, /http:\/\/127\.0\.0\.1\/verify/);
    assert.equal(opener.opened(), 0, "the browser never got a command-line switch");
    // a web address is opened as before
    answer = { ...answers[2]!, verification_uri_complete: "http://127.0.0.1/verify?code=ABCD-EFGH" };
    assert.equal((await login()).code, 0);
    assert.equal(await opener.url(0), "http://127.0.0.1/verify?code=ABCD-EFGH");
    // through a private page: the code is not in the browser's arguments, which any user can read
    assert.doesNotMatch(opener.argv()[0]!, /ABCD/);
  } finally {
    http.close();
  }
});

test("device flow: a code nobody approves ends with the server's expired_token: exit 4, nothing stored", async () => {
  const shortLived = await startOidcServer({ deviceCodeTtl: 2 });
  try {
    const home = homeWithProvider(shortLived);
    const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret }, async () => {});
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /device code expired/);
    assert.ok(shortLived.tokenRequestLog().some((p) => p.status === 400), "the server was polled until it said the code expired");
    const got = await cliAsync(["get", "localidp"], { home });
    assert.equal(got.code, 5);
  } finally {
    await shortLived.close();
  }
});

test("device flow with device_token_request json: both the device request and the polls are JSON", async () => {
  const bodies: { path: string; type: string; body: string }[] = [];
  let polls = 0;
  const http = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body });
      let parsed: Record<string, string> = {};
      try {
        parsed = JSON.parse(body) as Record<string, string>;
      } catch {
        res.writeHead(415, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_request", error_description: "JSON only" }));
        return;
      }
      const send = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (req.url === "/device") return send(200, { device_code: "dev-123", user_code: "ABCD-EFGH", verification_uri: "http://127.0.0.1/verify", interval: 1, expires_in: 60 });
      if (parsed.device_code !== "dev-123") return send(400, { error: "invalid_grant" });
      polls += 1;
      if (polls < 2) return send(400, { error: "authorization_pending" });
      send(200, { access_token: "json-access-token", token_type: "Bearer", expires_in: 3600, refresh_token: "json-refresh" });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    const home = homeWithProvider(server, {
      authorization_url: `${base}/authorize`,
      token_url: `${base}/token`,
      device_authorization_url: `${base}/device`,
      device_token_request: "json",
      client_auth_method: "none",
    });
    const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: "json-client" }, async () => {});
    assert.equal(r.code, 0, r.stderr);
    assert.ok(bodies.length >= 3);
    for (const b of bodies) assert.match(b.type, /^application\/json/, `${b.path} was sent as JSON`);
    assert.equal(JSON.parse(bodies[0]!.body).client_id, "json-client");
    const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
    assert.equal(got.stdout.trim(), "json-access-token");
  } finally {
    http.close();
  }
});
