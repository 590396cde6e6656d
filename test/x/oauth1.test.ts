// X's OAuth 1.0a through the real CLI against the fake X (which recomputes every signature):
// three-legged with the loopback callback, PIN (typed in the terminal, or through the browser and
// the local form), tokens from the developer portal, signing with the stored token, logout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { signOAuth1Request } from "../../src/auth/oauth1/sign.js";
import { Authsome } from "../../src/index.js";
import { cliAsync, freePort } from "../helpers.js";
import { startFakeX, X_CLIENTS, X_CONSUMER, X_USER, type FakeX } from "../peers/fake-x.js";
import { assertNoSecrets, callX, clickingBrowser, interactiveCli, QUIET_ENV, stored, withStore, xHome } from "./x-fixtures.js";

let fake: FakeX;
before(async () => {
  fake = await startFakeX();
});
after(async () => {
  await fake.close();
});

const CONSUMER_ENV = { X_API_KEY: X_CONSUMER.key, X_API_SECRET: ` ${X_CONSUMER.secret}\n` };

/** The stored OAuth 1.0a token works at X: a request signed with it (as the proxy will) is accepted. */
async function assertSignedWorks(home: string, connection = "oauth1"): Promise<{ token: string; secret: string }> {
  const token = await cliAsync(["get", "x", "-c", connection, "--field", "access_token", "--show-secret"], { home });
  assert.equal(token.code, 0, token.stderr);
  const secret = await cliAsync(["get", "x", "-c", connection, "--field", "token_secret", "--show-secret"], { home });
  assert.equal(secret.code, 0, secret.stderr);
  const creds = { token: token.stdout.trim(), secret: secret.stdout.trim() };
  const url = `${fake.origin}/2/users/me?user.fields=username`;
  const header = signOAuth1Request({ method: "GET", url, consumerKey: X_CONSUMER.key, consumerSecret: X_CONSUMER.secret, token: creds.token, tokenSecret: creds.secret });
  const res = await callX(fake, "/2/users/me?user.fields=username", header);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal((res.body.data as { id: string }).id, X_USER.id);
  return creds;
}

async function assertAccount(home: string, connection = "oauth1"): Promise<void> {
  assert.equal((await cliAsync(["get", "x", "-c", connection, "--field", "account.id"], { home })).stdout, `${X_USER.id}\n`);
  assert.equal((await cliAsync(["get", "x", "-c", connection, "--field", "account.label"], { home })).stdout, `${X_USER.username}\n`);
}

test("three-legged: request_token with the loopback callback, browser, access_token; coexists with OAuth 2.0; logout invalidates", async () => {
  const home = await xHome(fake);
  const browser = clickingBrowser();
  const port = await freePort();
  fake.resetCounts();
  const r = await cliAsync(["login", "x", "--flow", "oauth1", "--port", String(port), "--timeout", "30", "--json"], {
    home,
    env: { ...QUIET_ENV, ...CONSUMER_ENV, BROWSER: browser.command },
  });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { connection: string; flow: string; account: { id: string; label: string } };
  assert.equal(out.connection, "oauth1", "a second kind of credential gets its own connection");
  assert.equal(out.flow, "oauth1");
  assert.deepEqual(out.account, { id: X_USER.id, label: X_USER.username });
  assert.deepEqual([fake.count("request_token"), fake.count("oauth/authorize"), fake.count("access_token")], [1, 1, 1]);
  assert.equal(fake.count("users/me"), 0, "the account comes from the access_token answer");
  const authorize = new URL(browser.urls()[0]!);
  assert.equal(authorize.pathname, "/oauth/authorize");
  assert.ok(authorize.searchParams.get("oauth_token"));
  assert.equal(authorize.searchParams.has("oauth_callback"), false, "the callback goes to request_token only");

  const record = await stored(home, "oauth1");
  assert.equal(record.auth_type, "oauth1");
  assert.equal(record.expires_at, null);
  await assertAccount(home);
  const creds = await assertSignedWorks(home);
  // the consumer is stored (trimmed) as the provider's client credentials, next to nothing else
  const client = await withStore(home, (c) => c.client("x"));
  assert.equal(client?.consumer_key, X_CONSUMER.key);
  assert.equal(client?.consumer_secret, X_CONSUMER.secret);
  const shown = await cliAsync(["get", "x", "-c", "oauth1"], { home });
  assert.match(shown.stdout, /token_secret: \*{8}/);
  assertNoSecrets(home, [r, shown], [creds.token, creds.secret, X_CONSUMER.secret]);

  // an OAuth 2.0 login next to it: both kinds coexist, each in its own connection
  const oauth2 = await cliAsync(["login", "x", "--port", String(await freePort()), "--timeout", "30"], {
    home,
    env: { ...QUIET_ENV, BROWSER: clickingBrowser().command, X_CLIENT_ID: X_CLIENTS.confidential.id, X_CLIENT_SECRET: X_CLIENTS.confidential.secret },
  });
  assert.equal(oauth2.code, 0, oauth2.stderr);
  const bearer = (await cliAsync(["get", "x", "-c", "default", "--field", "access_token", "--show-secret"], { home })).stdout.trim();
  assert.notEqual(bearer, creds.token);
  assert.equal((await callX(fake, "/2/users/me", `Bearer ${bearer}`)).status, 200);
  assert.equal((await stored(home, "default")).auth_type, "oauth2");
  const oauth1Still = await stored(home, "oauth1");
  assert.equal(oauth1Still.access_token, creds.token);
  const clientAfter = await withStore(home, (c) => c.client("x"));
  assert.equal(clientAfter?.client_id, X_CLIENTS.confidential.id, "the OAuth 2.0 client is stored");
  assert.equal(clientAfter?.consumer_secret, X_CONSUMER.secret, "next to the consumer");

  // a second login needs no consumer variables: the stored consumer is used
  const again = await cliAsync(["login", "x", "--flow", "oauth1", "--force", "--port", String(await freePort()), "--timeout", "30"], {
    home,
    env: { ...QUIET_ENV, BROWSER: clickingBrowser().command },
  });
  assert.equal(again.code, 0, again.stderr);
  const renewed = await assertSignedWorks(home);
  assert.notEqual(renewed.token, creds.token);

  fake.resetCounts();
  const logout = await cliAsync(["logout", "x", "-c", "oauth1", "--json"], { home });
  assert.equal(logout.code, 0, logout.stderr);
  assert.equal((JSON.parse(logout.stdout) as { revoked_remotely: boolean }).revoked_remotely, true);
  assert.equal(fake.count("1.1/invalidate_token"), 1);
  assert.equal(fake.oauth1Active(renewed.token), false);
  assert.equal((await cliAsync(["get", "x", "-c", "oauth1"], { home })).code, 5);
});

test("PIN without a browser: the URL is printed, the person types the PIN", async () => {
  const home = await xHome(fake);
  fake.resetCounts();
  const cli = interactiveCli(["login", "x", "--flow", "oauth1", "--timeout", "30"], home, { ...QUIET_ENV, ...CONSUMER_ENV });
  const [, url] = await cli.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?oauth_token=\S+)/);
  await cli.waitFor(/type the PIN X \(Twitter\) shows and press Enter/);
  // the person opens the URL elsewhere and reads the PIN off the page
  const page = await (await fetch(url!)).text();
  const pin = /id="oauth_pin">([0-9]+)</.exec(page)![1]!;
  cli.type(pin);
  const r = await cli.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /as fake_x_user/);
  assert.equal(fake.count("access_token"), 1);
  await assertAccount(home);
  await assertSignedWorks(home);
});

test("a program logs in with the PIN flow and with tokens issued elsewhere, through the library", async () => {
  const home = await xHome(fake);
  const a = new Authsome({ home, env: { ...process.env, ...QUIET_ENV, ...CONSUMER_ENV } });
  let pin = "";
  const asked: string[] = [];
  const summary = await a.login("x", {
    flow: "oauth1",
    pin: true,
    timeoutMs: 30_000,
    // the program shows the page; the person reads the PIN off it and the program's ask answers with it
    onAuthorizeUrl: async (url) => void (pin = /id="oauth_pin">([0-9]+)</.exec(await (await fetch(url)).text())![1]!),
    ask: async (request) => (asked.push(...request.fields.map((f) => f.name)), { pin }),
  });
  assert.deepEqual(asked, ["pin"]);
  assert.equal(summary.account?.label, X_USER.username);
  const creds = await assertSignedWorks(home);
  // the same token and secret, given as tokens from the developer portal, for another connection
  const imported = await a.login("x", { flow: "oauth1", existingToken: true, connection: "imported", ask: async () => ({ access_token: creds.token, access_token_secret: creds.secret }) });
  assert.equal(imported.account?.id, X_USER.id);
  await assertSignedWorks(home, "imported");
  await a.close();
});

test("a wrong PIN: exit 4, nothing stored", async () => {
  const home = await xHome(fake);
  const cli = interactiveCli(["login", "x", "--flow", "oauth1", "--pin", "--timeout", "30"], home, { ...QUIET_ENV, ...CONSUMER_ENV });
  const [, url] = await cli.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?oauth_token=\S+)/);
  await cli.waitFor(/type the PIN X \(Twitter\) shows and press Enter/);
  await fetch(url!);
  cli.type("1234");
  const r = await cli.done;
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /Invalid or expired token/);
  assert.equal((await cliAsync(["get", "x", "-c", "oauth1"], { home })).code, 5);
});

test("--pin with a browser: the consumer and the PIN are entered in the local form, never argv", async () => {
  const home = await xHome(fake);
  const browser = clickingBrowser({ consumer_key: X_CONSUMER.key, consumer_secret: X_CONSUMER.secret });
  const port = await freePort();
  const r = await cliAsync(["login", "x", "--flow", "oauth1", "--pin", "--port", String(port), "--timeout", "30"], {
    home,
    env: { ...QUIET_ENV, BROWSER: browser.command },
  });
  assert.equal(r.code, 0, r.stderr);
  const urls = browser.urls().map((u) => new URL(u));
  assert.deepEqual(
    urls.map((u) => u.pathname.split("/").slice(0, 2).join("/")).sort(),
    ["/input", "/input", "/oauth"],
    "the form for the consumer, the authorize page, the form for the PIN (the last two open together)",
  );
  await assertAccount(home);
  await assertSignedWorks(home);
});

test("tokens from the developer portal: stored after the identity check, no authorization round trip", async () => {
  const home = await xHome(fake);
  const portal = fake.issuePortalToken();
  fake.resetCounts();
  const r = await cliAsync(["login", "x", "--flow", "oauth1"], {
    home,
    env: { ...QUIET_ENV, ...CONSUMER_ENV, X_ACCESS_TOKEN: portal.token, X_ACCESS_TOKEN_SECRET: `${portal.secret}\n` },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([fake.count("request_token"), fake.count("access_token"), fake.count("users/me")], [0, 0, 1]);
  await assertAccount(home);
  const creds = await assertSignedWorks(home);
  assert.deepEqual(creds, portal);
  assertNoSecrets(home, [r], [portal.token, portal.secret]);

  // a wrong secret is refused before anything is stored
  const other = await xHome(fake);
  const bad = await cliAsync(["login", "x", "--flow", "oauth1", "--existing-token"], {
    home: other,
    env: { ...QUIET_ENV, ...CONSUMER_ENV, X_ACCESS_TOKEN: portal.token, X_ACCESS_TOKEN_SECRET: "not-the-secret" },
  });
  assert.equal(bad.code, 4, bad.stderr);
  assert.match(bad.stderr, /identity endpoint .* refused the request \(HTTP 401\): Could not authenticate you/);
  assert.equal((await cliAsync(["get", "x", "-c", "oauth1"], { home: other })).code, 5);
});

test("no consumer anywhere and nobody to ask: exit 5 naming the variables", async () => {
  const home = await xHome(fake);
  const r = await cliAsync(["login", "x", "--flow", "oauth1"], { home, env: QUIET_ENV });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /X_API_KEY and X_API_SECRET/);
});

test("--pin and --existing-token on another flow are usage errors, before any request", async () => {
  const home = await xHome(fake);
  fake.resetCounts();
  for (const flag of ["--pin", "--existing-token"]) {
    const r = await cliAsync(["login", "x", flag], { home, env: { ...QUIET_ENV, ...CONSUMER_ENV } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${flag} belongs to the oauth1 flow`));
  }
  assert.equal(fake.count("request_token") + fake.count("oauth2/authorize") + fake.count("app/token"), 0, "nothing was sent");
});
