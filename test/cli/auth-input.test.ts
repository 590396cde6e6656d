// What the credential commands (get, export, login, logout, revoke, remove) say about bad or
// missing input: the hint leads back to the connection and profile that were asked for, the
// exit code says what kind of problem it is, and nothing on disk changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { newConnection } from "../../src/vault/records.js";
import { Vault } from "../../src/vault/store.js";
import { ROOT, cli, cliAsync, emptyHome, failsCleanly, fixtureHome, snapshot, type CliResult } from "../helpers.js";

const hintOf = (r: CliResult) => /^hint: (.*)$/m.exec(r.stderr)?.[1];

/** Runs a command that must fail with nothing on stdout, and proves the home is byte-for-byte unchanged. */
function fails(home: string, args: string[], code: number, extra: { env?: Record<string, string | undefined> } = {}): CliResult {
  const r = failsCleanly(home, args, code, undefined, extra);
  assert.equal(r.stdout, "", `no output from ${args.join(" ")}`);
  return r;
}

test("a login hint names the connection and the non-default profile the failed command used", () => {
  const home = fixtureHome();
  for (const r of [fails(home, ["get", "github", "-p", "work"], 5), fails(home, ["get", "github"], 5, { env: { AUTHSOME_PROFILE: "work" } })]) {
    assert.match(r.stderr, /no connection "default" for provider "github" in profile "work"/);
    assert.match(hintOf(r)!, /`authsome login github --profile work`/);
  }
  const both = fails(home, ["logout", "github", "-c", "ci", "--profile", "work"], 5);
  assert.match(hintOf(both)!, /`authsome login github --connection ci --profile work`/);

  const noKey = { env: { OPENAI_API_KEY: undefined } };
  const login = fails(home, ["login", "openai", "-c", "new"], 5, noKey);
  assert.match(hintOf(login)!, /^set OPENAI_API_KEY in the environment and run `authsome login openai --connection new` again, or run the login in a terminal$/);
  const elsewhere = fails(home, ["login", "openai", "-c", "new", "-p", "work", "--force"], 5, noKey);
  assert.match(hintOf(elsewhere)!, /run `authsome login openai --connection new --profile work --force` again/);
  // the default connection of the default profile needs no flag
  assert.match(hintOf(fails(home, ["login", "brevo"], 5, { env: { BREVO_API_KEY: undefined } }))!, /run `authsome login brevo` again/);
});

test("a new-login hint for a dead connection names its profile, connection and kind of credential", async () => {
  const home = fixtureHome();
  const store = (profile: string) => new Connections(new Vault(new Home(home), profile));
  const work = store("work");
  const expired = new Date(Date.now() - 60_000).toISOString();
  await work.save(newConnection({ provider: "github", profile: "work", connection_name: "default", auth_type: "oauth2", access_token: "gho_old", expires_at: expired }));
  await work.save(newConnection({ provider: "github", profile: "work", connection_name: "ci", auth_type: "oauth2", access_token: "gho_ci", status: "invalid" }));
  work.vault.close();
  const personal = store("default");
  await personal.save(newConnection({ provider: "x", profile: "default", connection_name: "oauth1", auth_type: "oauth1", access_token: "t", token_secret: "s", status: "revoked" }));
  personal.vault.close();

  const token = ["-f", "access_token", "--show-secret"];
  // expired without a refresh token: the refresh gives up
  const noRefresh = cli(["get", "github", "-p", "work", ...token], { home });
  assert.equal(noRefresh.code, 6, noRefresh.stderr);
  assert.equal(hintOf(noRefresh), "run `authsome login github --profile work --force`");
  assert.equal(hintOf(fails(home, ["get", "github", "-p", "work", "-c", "ci", ...token], 5)), "run `authsome login github --connection ci --profile work --force`");
  assert.equal(hintOf(fails(home, ["get", "x", "-c", "oauth1", ...token], 5)), "run `authsome login x --flow oauth1 --connection oauth1 --force`");
});

test("while another profile is the default, a hint names --profile default as well", async () => {
  const home = fixtureHome();
  const personal = new Connections(new Vault(new Home(home), "default"));
  await personal.save(newConnection({ provider: "x", profile: "default", connection_name: "oauth1", auth_type: "oauth1", access_token: "t", token_secret: "s", status: "revoked" }));
  personal.vault.close();
  const token = ["-f", "access_token", "--show-secret"];
  const check = (env: Record<string, string>) => {
    const missing = fails(home, ["get", "github", "-c", "nope", "-p", "default"], 5, { env });
    assert.equal(hintOf(missing), "run `authsome login github --connection nope --profile default` to connect it, or `authsome list --profile default` to see the connections");
    assert.equal(hintOf(fails(home, ["get", "x", "-c", "oauth1", "-p", "default", ...token], 5, { env })), "run `authsome login x --flow oauth1 --connection oauth1 --profile default --force`");
  };
  // a bare command reaches "work": through AUTHSOME_PROFILE, or through config.json's default_profile
  check({ AUTHSOME_PROFILE: "work" });
  assert.equal(cli(["profile", "use", "work"], { home }).code, 0);
  check({});
  // and "work", being the default now, is still named: the hint may be followed in another shell
  assert.equal(hintOf(fails(home, ["get", "github", "-c", "nope"], 5)), "run `authsome login github --connection nope --profile work` to connect it, or `authsome list --profile work` to see the connections");
});

test("a --field no connection of that kind can have is a usage error listing the fields; a field it lacks is exit 5", () => {
  const home = fixtureHome();
  // `-q get` goes through the full program, `get` through the fast path: both say the same
  for (const prefix of [[], ["-q"]]) {
    for (const field of ["nope", "Status", "account.nope", "", "access_token.x"]) {
      const r = fails(home, [...prefix, "get", "github", "-f", field], 2);
      assert.match(r.stderr, new RegExp(`--field ${JSON.stringify(field).replace(".", "\\.")} is not a field of any connection`));
      assert.match(hintOf(r)!, /^fields: .*\bstatus\b.*\baccount\.label\b/);
      assert.doesNotMatch(r.stderr, /has no/);
    }
    const kind = fails(home, [...prefix, "get", "github", "-f", "token_secret", "--show-secret"], 2);
    assert.match(kind.stderr, /"token_secret" is not a field of the connection "default" of "github": it is an OAuth 2\.0 connection/);
    assert.match(hintOf(kind)!, /^its fields: .*\baccess_token\b/);
    assert.doesNotMatch(hintOf(kind)!, /token_secret/);

    const label = fails(home, [...prefix, "get", "x", "-c", "work", "-f", "account.label"], 5);
    assert.match(label.stderr, /the connection "work" of "x" has no account\.label/);
    const key = fails(home, [...prefix, "get", "openai", "-f", "access_token", "--show-secret"], 5);
    assert.equal(hintOf(key), "it is an API key connection; its secret fields: api_key");
  }
  assert.equal(cli(["get", "x", "-f", "metadata"], { home }).stdout, "{}\n");
});

test("a secret field the connection cannot hold fails before any refresh: the provider is never called", async () => {
  const home = fixtureHome();
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    // X's definition with its token endpoint here; the fixture's default X token has expired
    const x = JSON.parse(readFileSync(join(ROOT, "src/providers/catalog/x.json"), "utf8")) as { oauth: Record<string, unknown> };
    x.oauth.token_url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    writeFileSync(join(home, "providers", "x.json"), JSON.stringify(x));
    const before = snapshot(home);
    const run = (args: string[]) => cliAsync(args, { home });

    const tokenSecret = await run(["get", "x", "-f", "token_secret", "--show-secret"]);
    assert.equal(tokenSecret.code, 2, tokenSecret.stderr);
    assert.match(tokenSecret.stderr, /it is an OAuth 2\.0 connection/);
    const apiKey = await run(["get", "x", "-f", "api_key", "--show-secret"]);
    assert.equal(apiKey.code, 5, apiKey.stderr);
    assert.equal(hintOf(apiKey), "it is an OAuth 2.0 connection; its secret fields: access_token, refresh_token");
    const clientSecret = await run(["get", "x", "-f", "client_secret", "--show-secret"]);
    assert.equal(clientSecret.code, 2, clientSecret.stderr);
    assert.equal(calls, 0, "no request reached the token endpoint");
    assert.deepEqual(snapshot(home), before, "no refresh was attempted (it would take a lock and record its outcome)");

    // the same endpoint is reached for a field a refresh renews, so the count above means something
    const access = await run(["get", "x", "-f", "access_token", "--show-secret"]);
    assert.equal(access.code, 6, access.stderr);
    assert.equal(calls, 1);
  } finally {
    server.close();
  }
});

test("the secret fields --show-secret advertises are all fields a connection can hold", () => {
  const home = fixtureHome();
  const r = fails(home, ["get", "github", "-f", "status", "--show-secret"], 2);
  const advertised = /^secret fields: (.*)$/.exec(hintOf(r)!)![1]!.split(", ");
  assert.deepEqual(advertised.sort(), ["access_token", "api_key", "refresh_token", "token_secret"]);
  fails(home, ["get", "github", "-f", "client_secret", "--show-secret"], 2);
  fails(home, ["get", "github", "-f", "consumer_secret", "--show-secret"], 2);
});

test("an empty --connection is the same usage error everywhere, and changes nothing", () => {
  const home = fixtureHome();
  const commands = [
    ["get", "github", "-c", ""],
    ["get", "github", "--connection="],
    ["-q", "get", "github", "-c", ""],
    ["export", "github", "-c", ""],
    ["logout", "github", "-c", ""],
    ["remove", "github", "-c", ""],
    ["login", "openai", "-c", ""],
  ];
  for (const args of commands) {
    const r = fails(home, args, 2, { env: { OPENAI_API_KEY: "sk-aaaaaaaaaaaaaaaaaaaaaaaa" } });
    assert.match(r.stderr, /^error: invalid connection name "": /m, args.join(" "));
  }
});

test("an unknown provider is exit 3 for every command; a known one with nothing stored is exit 5 with a hint", () => {
  const home = fixtureHome();
  for (const args of [["get", "nope"], ["export", "nope"], ["logout", "nope"], ["revoke", "nope"], ["remove", "nope"], ["remove", "nope", "-c", "x"]]) {
    assert.match(fails(home, args, 3).stderr, /unknown provider "nope"/, args.join(" "));
  }
  // names are case-sensitive: github's connections are not GITHUB's (and stay where they are)
  for (const args of [["remove", "GITHUB"], ["remove", "GitHub", "-c", "default"], ["revoke", "GITHUB"], ["get", "GITHUB"]]) {
    assert.match(fails(home, args, 3).stderr, /unknown provider "(GITHUB|GitHub)"/, args.join(" "));
  }
  for (const args of [["revoke", "gitlab"], ["remove", "gitlab"]]) {
    const r = fails(home, args, 5);
    assert.match(r.stderr, /nothing stored for provider "gitlab" in profile "default"/);
    assert.equal(hintOf(r), "`authsome list` shows what is stored");
  }
  assert.equal(hintOf(fails(home, ["revoke", "gitlab", "-p", "work"], 5)), "`authsome list --profile work` shows what is stored");
});

test("a connection that is not there: one message and one hint from get, export, logout and remove", () => {
  const home = fixtureHome();
  for (const profile of [[], ["-p", "work"]]) {
    const results = [["get"], ["export"], ["logout"], ["remove"]].map((verb) => fails(home, [...verb, "github", "-c", "nope", ...profile], 5));
    const where = profile.length ? "work" : "default";
    for (const r of results) {
      assert.match(r.stderr, new RegExp(`^error: no connection "nope" for provider "github" in profile "${where}"$`, "m"));
      assert.equal(hintOf(r), hintOf(results[0]!));
    }
    assert.match(hintOf(results[0]!)!, new RegExp(`authsome login github --connection nope${profile.length ? " --profile work" : ""}\``));
  }
});

test("a failed login or logout on a fresh home creates nothing; a successful login makes the shared layout", () => {
  const home = emptyHome();
  assert.equal(cli(["login", "openai"], { home, env: { OPENAI_API_KEY: undefined } }).code, 5);
  assert.equal(cli(["login", "openai"], { home, env: { OPENAI_API_KEY: "not-a-key" } }).code, 4);
  assert.equal(cli(["logout", "github"], { home }).code, 5);
  assert.equal(existsSync(home), false, "the home was not created");

  const ok = cli(["login", "openai"], { home, env: { OPENAI_API_KEY: "sk-testkey0123456789abcdefXYZ" } });
  assert.equal(ok.code, 0, ok.stderr);
  for (const path of ["version", "config.json", "master.key", "profiles/default/metadata.json", "profiles/default/lock", "profiles/default/store.db"]) {
    assert.ok(existsSync(join(home, path)), `${path} exists`);
  }
  assert.equal(readFileSync(join(home, "version"), "utf8"), "2\n");
});
