// X's app-only bearer through the real CLI against the fake X: login with the API key and secret,
// the token stored verbatim as its own connection, accepted where X accepts app-only, logout invalidates.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cliAsync } from "../helpers.js";
import { startFakeX, X_CONSUMER, type FakeX } from "../peers/fake-x.js";
import { assertNoSecrets, callX, QUIET_ENV, stored, withStore, xHome } from "./x-fixtures.js";

let fake: FakeX;
before(async () => {
  fake = await startFakeX();
});
after(async () => {
  await fake.close();
});

const CONSUMER_ENV = { X_API_KEY: X_CONSUMER.key, X_API_SECRET: X_CONSUMER.secret };

test("app-only: login, get (verbatim token X accepts), logout invalidates it", async () => {
  const home = await xHome(fake);
  fake.resetCounts();
  const r = await cliAsync(["login", "x", "--flow", "app_only", "--json"], { home, env: { ...QUIET_ENV, ...CONSUMER_ENV } });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { connection: string; flow: string; account: { id: null; label: null }; expires_at: null };
  assert.equal(out.connection, "app_only");
  assert.equal(out.flow, "app_only");
  assert.deepEqual(out.account, { id: null, label: null }, "an app has no user");
  assert.equal(out.expires_at, null);
  assert.equal(fake.count("app/token"), 1);

  const got = await cliAsync(["get", "x", "-c", "app_only", "--field", "access_token", "--show-secret"], { home });
  assert.equal(got.code, 0, got.stderr);
  const token = got.stdout.trim();
  assert.ok(fake.appTokenActive(token), "stored exactly as X issued it (%2F and %3D kept)");
  assert.match(token, /%2F.*%3D/);
  const record = await stored(home, "app_only");
  assert.equal(record.auth_type, "app_only");
  assert.equal(record.refresh_token, null);
  assert.equal((await callX(fake, "/2/users/by/username/fake_x_user", `Bearer ${token}`)).status, 200);
  // and X refuses it where a user is needed, as documented
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${token}`)).status, 403);
  const client = await withStore(home, (c) => c.client("x"));
  assert.equal(client?.consumer_key, X_CONSUMER.key);
  assertNoSecrets(home, [r], [token, X_CONSUMER.secret]);

  fake.resetCounts();
  const logout = await cliAsync(["logout", "x", "-c", "app_only", "--json"], { home });
  assert.equal(logout.code, 0, logout.stderr);
  assert.equal((JSON.parse(logout.stdout) as { revoked_remotely: boolean }).revoked_remotely, true);
  assert.equal(fake.count("app/invalidate_token"), 1);
  assert.equal(fake.appTokenActive(token), false);
  assert.equal((await callX(fake, "/2/users/by/username/fake_x_user", `Bearer ${token}`)).status, 401);
  assert.equal((await cliAsync(["get", "x", "-c", "app_only"], { home })).code, 5);
});

test("app-only with a wrong API secret: X's 403 reason, exit 4, nothing stored", async () => {
  const home = await xHome(fake);
  const r = await cliAsync(["login", "x", "--flow", "app_only"], { home, env: { ...QUIET_ENV, X_API_KEY: X_CONSUMER.key, X_API_SECRET: "wrong-secret" } });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /HTTP 403\): Unable to verify your credentials \(code 99\)/);
  assert.ok(!r.stderr.includes("wrong-secret"));
  assert.equal((await cliAsync(["get", "x", "-c", "app_only"], { home })).code, 5);
});

test("logout when X no longer knows the token: a warning, and the connection is still deleted locally", async () => {
  const home = await xHome(fake);
  const r = await cliAsync(["login", "x", "--flow", "app_only"], { home, env: { ...QUIET_ENV, ...CONSUMER_ENV } });
  assert.equal(r.code, 0, r.stderr);
  const token = (await stored(home, "app_only")).access_token!;
  // invalidated behind authsome's back
  const res = await fetch(`${fake.origin}/oauth2/invalidate_token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${X_CONSUMER.key}:${X_CONSUMER.secret}`).toString("base64")}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ access_token: token }),
  });
  assert.equal(res.status, 200);
  const logout = await cliAsync(["logout", "x", "-c", "app_only"], { home });
  assert.equal(logout.code, 0, logout.stderr);
  assert.match(logout.stderr, /could not invalidate the token of "x" \(connection "app_only"\).*Invalid or expired token/);
  assert.ok(!logout.stderr.includes(token));
  assert.equal((await cliAsync(["get", "x", "-c", "app_only"], { home })).code, 5);
});

test("another consumer key is refused while connections sign with the stored one (before anything is sent); --force replaces it", async () => {
  const home = await xHome(fake);
  assert.equal((await cliAsync(["login", "x", "--flow", "app_only"], { home, env: { ...QUIET_ENV, ...CONSUMER_ENV } })).code, 0);
  fake.resetCounts();
  const other = { X_API_KEY: "another-consumer-key", X_API_SECRET: "another-consumer-secret" };
  const r = await cliAsync(["login", "x", "--flow", "app_only", "--connection", "second"], { home, env: { ...QUIET_ENV, ...other } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`the connections "app_only" of "x" were issued to consumer key ${X_CONSUMER.key}, not another-consumer-key`));
  assert.match(r.stderr, /--force replaces it/);
  assert.equal(fake.count("app/token"), 0, "nothing was sent");
  assert.equal((await withStore(home, (c) => c.client("x")))?.consumer_key, X_CONSUMER.key);
  const forced = await cliAsync(["login", "x", "--flow", "app_only", "--connection", "second", "--force"], { home, env: { ...QUIET_ENV, ...other } });
  assert.equal(forced.code, 4, "the fake X knows only its own consumer");
  assert.equal(fake.count("app/token"), 1, "--force went on to ask X");
  assert.match(forced.stderr, /warning: the connections "app_only" of "x" were issued to consumer key \S+; once this login replaces it, log them in again \(with --connection NAME and --force\)/);
});
