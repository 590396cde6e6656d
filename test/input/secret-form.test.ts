// The local form for secrets, attacked as another local process or web page would: wrong host,
// no or wrong CSRF token, a foreign origin, a replay, a second opening of the link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startSecretForm } from "../../src/input/secret-form.js";
import { cliAsync, emptyHome } from "../helpers.js";
import { recordingBrowser } from "../auth/login-fixtures.js";

let nextPort = 7960;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so the Host and Origin headers are exactly what a test says. */
function send(url: string, opts: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: target.port, path: target.pathname, method: opts.method ?? "GET", headers: { host: opts.host ?? target.host, ...opts.headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

const formType = { "content-type": "application/x-www-form-urlencoded" };
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
const secretField = [{ name: "client_secret", label: "Client secret", secret: true }];

test("the form answers only its one-time URL, only on a loopback Host, and never lets anything cache it", async () => {
  const port = nextPort++;
  const form = await startSecretForm(port, { title: "Test client", fields: secretField });
  try {
    const wrongHost = await send(form.url, { host: `evil.example:${port}` });
    assert.equal(wrongHost.status, 421, "DNS rebinding: a non-loopback Host is refused");
    assert.ok(!wrongHost.body.includes("csrf"));

    const guessed = await send(`http://127.0.0.1:${port}/input/guess`);
    assert.equal(guessed.status, 404, "without the token there is no form");

    const first = await send(form.url);
    assert.equal(first.status, 200);
    assert.equal(first.headers["cache-control"], "no-store");
    assert.ok(csrfOf(first.body), "the page carries a CSRF token");
    assert.match(first.body, /type="password" name="client_secret"/);

    const second = await send(form.url);
    assert.equal(second.status, 410, "the link works once");
    assert.ok(!second.body.includes(csrfOf(first.body)), "a second opening does not reveal the CSRF token");
    assert.equal(second.headers["cache-control"], "no-store");
  } finally {
    form.close();
  }
});

test("forged posts (no token, wrong token, foreign origin, wrong host) are refused and the form keeps waiting; a replay finds nothing", async () => {
  const port = nextPort++;
  const form = await startSecretForm(port, { title: "Test client", fields: secretField });
  let settled = false;
  void form.values.then(() => (settled = true));
  try {
    const csrf = csrfOf((await send(form.url)).body);
    const post = (body: string, extra: { host?: string; headers?: Record<string, string> } = {}) =>
      send(form.url, { method: "POST", host: extra.host, headers: { ...formType, ...extra.headers }, body });

    assert.equal((await post("client_secret=forged")).status, 403, "no CSRF token");
    assert.equal((await post(`client_secret=forged&csrf=${"x".repeat(csrf.length)}`)).status, 403, "a wrong CSRF token");
    assert.equal((await post(`client_secret=forged&csrf=${csrf}`, { headers: { origin: "https://evil.example" } })).status, 403, "a foreign origin");
    assert.equal((await post(`client_secret=forged&csrf=${csrf}`, { host: `attacker.test:${port}` })).status, 421, "a non-loopback Host");
    assert.equal((await send(form.url, { method: "POST", headers: { "content-type": "text/plain" }, body: `csrf=${csrf}` })).status, 415);
    assert.equal(settled, false, "nothing forged was accepted");

    const good = `client_secret=${encodeURIComponent("  the-real-secret  ")}&csrf=${csrf}`;
    const accepted = await post(good, { headers: { origin: `http://127.0.0.1:${port}` } });
    assert.equal(accepted.status, 200);
    assert.equal(accepted.headers["cache-control"], "no-store");
    assert.deepEqual(await form.values, { client_secret: "the-real-secret" }, "trimmed, and only the good post counts");

    await assert.rejects(post(good), /ECONNREFUSED/, "after one good submission the form is gone: a replay reaches nothing");
  } finally {
    form.close();
  }
});

test("a value that fails the field's check is refused by the server and not echoed back", async () => {
  const port = nextPort++;
  const check = (v: string) => (/^sk-[a-z0-9]{8,}$/.test(v) ? undefined : "the API key does not look like a key");
  const form = await startSecretForm(port, { title: "API key", fields: [{ name: "api_key", label: "API key", secret: true, check }] });
  try {
    const csrf = csrfOf((await send(form.url)).body);
    const bad = await send(form.url, { method: "POST", headers: formType, body: `api_key=wrong-value-123&csrf=${csrf}` });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /does not look like a key/);
    assert.ok(!bad.body.includes("wrong-value-123"), "the rejected value is not sent back");
    const good = await send(form.url, { method: "POST", headers: formType, body: `api_key=sk-abcdefgh12&csrf=${csrf}` });
    assert.equal(good.status, 200);
    assert.deepEqual(await form.values, { api_key: "sk-abcdefgh12" });
  } finally {
    form.close();
  }
});

test("login of an API-key provider with a display uses the form, with the definition's pattern checked by the server", async () => {
  const home = emptyHome();
  const port = nextPort++;
  const opener = recordingBrowser();
  const login = cliAsync(["login", "openai", "--port", String(port), "--timeout", "30"], {
    home,
    env: { OPENAI_API_KEY: undefined, BROWSER: opener.command },
  });
  const url = await opener.url(0);
  const csrf = csrfOf((await send(url)).body);
  const wrong = await send(url, { method: "POST", headers: formType, body: `api_key=not-an-openai-key&csrf=${csrf}` });
  assert.equal(wrong.status, 400, "the pattern is checked server-side");
  const key = "sk-proj-" + "a".repeat(40);
  assert.equal((await send(url, { method: "POST", headers: formType, body: `api_key=${key}&csrf=${csrf}` })).status, 200);
  const r = await login;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes(key) && !r.stdout.includes(key));
  const got = await cliAsync(["get", "openai", "--field", "api_key", "--show-secret"], { home });
  assert.equal(got.stdout.trim(), key);
});
