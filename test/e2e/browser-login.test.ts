// A real browser (Debian's chromium, driven by playwright-core) does what a person does during
// `authsome login`: types the client secret into the local form, signs in and approves at the
// authorization server's own pages. The CLI opens each page through $BROWSER.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { cliAsync } from "../helpers.js";
import { assertStoredTokenWorks, homeWithProvider, recordingBrowser } from "../auth/login-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const PORT = 7993;
const REDIRECT = `http://127.0.0.1:${PORT}/auth/callback/oauth`;

let server: OidcServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), "Debian's chromium is installed (.ci/run installs it)");
  server = await startOidcServer({ interactions: "page", redirectUris: [REDIRECT] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("a real browser enters the client secret in the local form, signs in and approves; the token works", async () => {
  const home = homeWithProvider(server);
  const opener = recordingBrowser();
  const login = cliAsync(["login", "localidp", "--port", String(PORT), "--timeout", "60"], {
    home,
    // the client id from the environment, the secret from nowhere: the form must ask for it
    env: { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: undefined, BROWSER: opener.command },
  });
  const page = await browser.newPage();
  try {
    const formUrl = await opener.url(0);
    assert.match(formUrl, new RegExp(`^http://127\\.0\\.0\\.1:${PORT}/input/[\\w-]{20,}$`), "a one-time local form URL");
    // the browser is started on a private launch page (no secret in its arguments), which forwards to the form
    assert.doesNotMatch(opener.argv()[0]!, /input|127\.0\.0\.1/);
    const formPage = page.waitForResponse(formUrl);
    await page.goto(opener.argv()[0]!);
    assert.equal((await formPage).headers()["cache-control"], "no-store");
    assert.equal(await page.getAttribute('input[name="client_secret"]', "type"), "password", "the secret is masked");
    await page.fill('input[name="client_secret"]', CLIENTS.basic.clientSecret);
    await page.click("#submit");
    await page.waitForSelector("text=authsome received it");

    const authorizeUrl = await opener.url(1);
    assert.equal(new URL(authorizeUrl).searchParams.get("redirect_uri"), REDIRECT);
    assert.doesNotMatch(opener.argv()[1]!, /state|code_challenge/);
    await page.goto(opener.argv()[1]!);
    await page.fill('input[name="login"]', "browser-user");
    await page.click("#submit");
    await page.click("#approve");
    await page.waitForSelector("text=authsome received the authorization");

    const r = await login;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes(CLIENTS.basic.clientSecret) && !r.stdout.includes(CLIENTS.basic.clientSecret), "the secret is never printed");
    await assertStoredTokenWorks(server, home);
    const who = await cliAsync(["get", "localidp", "--field", "account.id"], { home });
    assert.equal(who.stdout.trim(), "browser-user", "the account the person signed in as");
  } finally {
    await page.close();
    await login.catch(() => undefined);
  }
});

test("a real browser that denies at the consent page: exit 4, nothing stored", async () => {
  const home = homeWithProvider(server);
  const opener = recordingBrowser();
  const login = cliAsync(["login", "localidp", "--port", String(PORT), "--timeout", "60"], {
    home,
    env: { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret, BROWSER: opener.command },
  });
  const page = await browser.newPage();
  try {
    await opener.url(0);
    await page.goto(opener.argv()[0]!);
    await page.fill('input[name="login"]', "browser-user");
    await page.click("#submit");
    await page.click("#deny");
    await page.waitForSelector("text=Login failed");
    const r = await login;
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /denied/);
    const list = await cliAsync(["get", "localidp"], { home });
    assert.equal(list.code, 5, "no connection was stored");
  } finally {
    await page.close();
    await login.catch(() => undefined);
  }
});
