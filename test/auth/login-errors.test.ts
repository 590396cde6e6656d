// A login whose code exchange goes wrong ends with a message naming the endpoint and what was
// wrong, a non-zero exit, and nothing stored; insecure endpoints are refused before any traffic.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { CLIENTS, startOidcServer, type OidcServer, type TokenFailure } from "../peers/oidc.js";
import { cliAsync, emptyHome } from "../helpers.js";
import { homeWithProvider, recordingBrowser } from "./login-fixtures.js";

// Test files run in parallel: each login test file has its own callback port.
const PORT = 7995;
const REDIRECT = `http://127.0.0.1:${PORT}/auth/callback/oauth`;

let server: OidcServer;
before(async () => {
  server = await startOidcServer({ redirectUris: [REDIRECT] });
});
after(async () => {
  await server.close();
});

const env = { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret, DISPLAY: undefined };

/** A pkce login through the real server whose code exchange meets `failure` (or a token URL override). */
async function failingLogin(home: string) {
  const opener = recordingBrowser();
  const running = cliAsync(["login", "localidp", "--port", String(PORT), "--timeout", "30"], { home, env: { ...env, BROWSER: opener.command } });
  await fetch(await server.authorize(await opener.url(0), REDIRECT));
  const r = await running;
  const stored = await cliAsync(["get", "localidp"], { home });
  assert.equal(stored.code, 5, "nothing was stored");
  return r;
}

const cases: [TokenFailure, RegExp][] = [
  ["non-json", /token endpoint http:\/\/127\.0\.0\.1:\d+\/token answered 200 with a body that is not an OAuth response/],
  ["oversized", /answered 200 with a response over 1048576 bytes; refused/],
  ["no-access-token", /answered 200 without an access_token/],
  ["200-error", /refused the request \(HTTP 200\): bad_verification_code/],
];
for (const [failure, message] of cases) {
  test(`a code exchange answered with ${failure} fails plainly and stores nothing`, async () => {
    server.failNext(failure);
    const r = await failingLogin(homeWithProvider(server));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
    assert.ok(!r.stderr.includes(CLIENTS.basic.clientSecret));
  });
}

test("an unreachable token endpoint fails plainly, naming it, and stores nothing", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const r = await failingLogin(homeWithProvider(server, { token_url: `http://127.0.0.1:${port}/token` }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`could not reach the token endpoint http://127\\.0\\.0\\.1:${port}/token: ECONNREFUSED`));
});

test("an http endpoint on a non-loopback host is refused before any request or browser", async () => {
  const home = emptyHome();
  const opener = recordingBrowser();
  const r = await cliAsync(["login", "github", "--base-url", "http://ghe.example.com", "--client-id", "abc"], {
    home,
    env: { BROWSER: opener.command, GITHUB_CLIENT_SECRET: "s3cret-value" },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /https/);
  await assert.rejects(opener.url(0, 500), /never opened the browser/);
});
