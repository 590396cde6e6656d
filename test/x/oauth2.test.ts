// X's OAuth 2.0 user context through the real CLI against the fake X: login (confidential and
// public client), get, export, refresh after two hours, a refresh storm, a dead refresh token, logout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cliAsync, freePort } from "../helpers.js";
import { startFakeX, X_CLIENTS, X_USER, type FakeX } from "../peers/fake-x.js";
import { assertNoSecrets, callX, clickingBrowser, expireLocally, QUIET_ENV, stored, xHome } from "./x-fixtures.js";

let fake: FakeX;
before(async () => {
  fake = await startFakeX();
});
after(async () => {
  await fake.close();
});

const TWO_HOURS = 2 * 3600 * 1000;
const getToken = ["get", "x", "--field", "access_token", "--show-secret"];

async function loginConfidential(home: string) {
  const browser = clickingBrowser();
  const port = await freePort();
  // a secret pasted with its line break still works (X answers 401 to a trailing newline)
  const env = { ...QUIET_ENV, BROWSER: browser.command, X_CLIENT_ID: X_CLIENTS.confidential.id, X_CLIENT_SECRET: `${X_CLIENTS.confidential.secret}\n` };
  const r = await cliAsync(["login", "x", "--port", String(port), "--timeout", "30", "--json"], { home, env });
  return { r, browser, port };
}

test("confidential client: login, get, export, refresh after 2 h, a 20-process storm, logout", async () => {
  const home = await xHome(fake);
  fake.resetCounts();
  const { r, browser, port } = await loginConfidential(home);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; connection: string; account: { id: string; label: string }; scopes: string[] };
  assert.equal(out.status, "connected");
  assert.equal(out.connection, "default");
  assert.deepEqual(out.account, { id: X_USER.id, label: X_USER.username });
  assert.deepEqual(out.scopes, ["tweet.read", "tweet.write", "users.read", "offline.access"]);
  const authorize = new URL(browser.urls()[0]!);
  assert.equal(authorize.pathname, "/i/oauth2/authorize");
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  assert.equal(authorize.searchParams.get("redirect_uri"), `http://127.0.0.1:${port}/auth/callback/oauth`);
  assert.equal(authorize.searchParams.get("scope"), "tweet.read tweet.write users.read offline.access");
  assert.equal(fake.count("token:authorization_code"), 1);

  // the id is a string beyond 2^53, intact
  const id = await cliAsync(["get", "x", "--field", "account.id"], { home });
  assert.equal(id.stdout, `${X_USER.id}\n`);
  const text = await cliAsync(["get", "x"], { home });
  assert.match(text.stdout, /access_token: \*{8}/);

  const got = await cliAsync(getToken, { home });
  assert.equal(got.code, 0, got.stderr);
  const first = got.stdout.trim();
  assert.deepEqual(await callX(fake, "/2/users/me", `Bearer ${first}`), { status: 200, body: { data: { id: X_USER.id, name: X_USER.name, username: X_USER.username } } });
  const exported = await cliAsync(["export", "x", "--format", "json"], { home });
  const vars = JSON.parse(exported.stdout) as Record<string, string>;
  assert.equal(vars.X_ACCESS_TOKEN, first);
  assert.equal(vars.X_USERNAME, X_USER.username);
  const firstRecord = await stored(home);
  assert.ok(firstRecord.refresh_token);
  assertNoSecrets(home, [r, id, text], [first, firstRecord.refresh_token!, X_CLIENTS.confidential.secret]);

  // two hours later the token is dead at X; the CLI refreshes it (once), the rotated pair is stored
  fake.advance(TWO_HOURS);
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${first}`)).status, 401);
  await expireLocally(home);
  fake.resetCounts();
  const refreshed = await cliAsync(getToken, { home });
  assert.equal(refreshed.code, 0, refreshed.stderr);
  const second = refreshed.stdout.trim();
  assert.notEqual(second, first);
  assert.equal(fake.count("token:refresh_token"), 1);
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${second}`)).status, 200);
  const secondRecord = await stored(home);
  assert.notEqual(secondRecord.refresh_token, firstRecord.refresh_token, "the rotated refresh token is stored");
  assert.equal(fake.oauth2RefreshActive(firstRecord.refresh_token!), false);
  assert.equal(fake.oauth2RefreshActive(secondRecord.refresh_token!), true);
  assert.ok(Date.parse(secondRecord.expires_at!) > Date.now() + TWO_HOURS - 120_000, "expires in two hours");

  // a reused (rotated) refresh token gets X's 400 invalid_request
  const reuse = await fetch(`${fake.origin}/2/oauth2/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${X_CLIENTS.confidential.id}:${X_CLIENTS.confidential.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: firstRecord.refresh_token!, client_id: X_CLIENTS.confidential.id }),
  });
  assert.equal(reuse.status, 400);
  assert.deepEqual(await reuse.json(), { error: "invalid_request", error_description: "Value passed for the token was invalid." });

  // storm: 20 agents on an expired token, one refresh reaches X, all get the same working token
  fake.advance(TWO_HOURS);
  await expireLocally(home);
  fake.resetCounts();
  const storm = await Promise.all(Array.from({ length: 20 }, () => cliAsync(getToken, { home })));
  for (const s of storm) assert.equal(s.code, 0, s.stderr);
  const tokens = new Set(storm.map((s) => s.stdout.trim()));
  assert.equal(tokens.size, 1, "every process printed the same token");
  const [third] = [...tokens];
  assert.notEqual(third, second);
  assert.equal(fake.count("token:refresh_token"), 1, "exactly one refresh request reached X");
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${third}`)).status, 200);
  const thirdRecord = await stored(home);
  assert.equal(fake.oauth2RefreshActive(thirdRecord.refresh_token!), true);

  // logout revokes at X (refresh token and access token), and deletes locally
  fake.resetCounts();
  const out2 = await cliAsync(["logout", "x", "--json"], { home });
  assert.equal(out2.code, 0, out2.stderr);
  assert.equal((JSON.parse(out2.stdout) as { revoked_remotely: boolean }).revoked_remotely, true);
  assert.equal(fake.count("oauth2/revoke"), 2);
  assert.equal(fake.oauth2AccessActive(third!), false);
  assert.equal(fake.oauth2RefreshActive(thirdRecord.refresh_token!), false);
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${third}`)).status, 401);
  const gone = await cliAsync(getToken, { home });
  assert.equal(gone.code, 5, gone.stderr);
});

test("public client: no secret, no Basic; the refresh works the same", async () => {
  const home = await xHome(fake);
  // the local form asks for the (optional) secret; a public client leaves it empty
  const browser = clickingBrowser({ client_secret: "" });
  const port = await freePort();
  fake.resetCounts();
  const r = await cliAsync(["login", "x", "--port", String(port), "--timeout", "30"], {
    home,
    env: { ...QUIET_ENV, BROWSER: browser.command, X_CLIENT_ID: X_CLIENTS.public.id },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Logged in to X \(Twitter\) as fake_x_user/);
  assert.equal(fake.count("token:authorization_code"), 1);
  const token = (await cliAsync(getToken, { home })).stdout.trim();
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${token}`)).status, 200);

  fake.advance(TWO_HOURS);
  await expireLocally(home);
  const refreshed = await cliAsync(getToken, { home });
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.notEqual(refreshed.stdout.trim(), token);
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${refreshed.stdout.trim()}`)).status, 200);
});

test("a refresh token someone else already used: the connection is marked invalid, with the login to run", async () => {
  const home = await xHome(fake);
  const { r } = await loginConfidential(home);
  assert.equal(r.code, 0, r.stderr);
  const record = await stored(home);
  // another tool used the single-use refresh token and kept the result
  const stolen = await fetch(`${fake.origin}/2/oauth2/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${X_CLIENTS.confidential.id}:${X_CLIENTS.confidential.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: record.refresh_token!, client_id: X_CLIENTS.confidential.id }),
  });
  assert.equal(stolen.status, 200);
  fake.advance(TWO_HOURS);
  await expireLocally(home);
  const got = await cliAsync(getToken, { home });
  assert.equal(got.code, 6, got.stderr);
  assert.match(got.stderr, /no longer valid \(invalid_request: Value passed for the token was invalid/);
  assert.match(got.stderr, /authsome login x --force/);
  assert.equal((await cliAsync(["get", "x", "--field", "status"], { home })).stdout, "invalid\n");
});

test("a denied authorization: exit 4, nothing stored", async () => {
  const home = await xHome(fake);
  fake.setApproval("deny");
  try {
    const { r } = await loginConfidential(home);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /denied/);
  } finally {
    fake.setApproval("approve");
  }
  assert.equal((await cliAsync(["get", "x"], { home })).code, 5);
});
