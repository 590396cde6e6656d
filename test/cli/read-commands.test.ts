import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { SYSTEM_PYTHON, cli, emptyHome, fixtureHome, tempDir } from "../helpers.js";

test("list shows every bundled provider, the user's one, and the fixture's connections", () => {
  const home = fixtureHome();
  const r = cli(["list", "--json"], { home });
  assert.equal(r.code, 0, r.stderr);
  const data = JSON.parse(r.stdout) as { profile: string; providers: Array<{ name: string; source: string; connections: Array<{ name: string; status: string; default: boolean; account: { id: string | null; label: string | null } }> }> };
  assert.equal(data.profile, "default");
  const byName = new Map(data.providers.map((p) => [p.name, p]));
  assert.ok(byName.size >= 45, `bundled catalogue plus acmecrm, got ${byName.size}`);
  assert.equal(byName.get("acmecrm")?.source, "user");
  assert.equal(byName.get("openai")?.source, "bundled");
  const x = byName.get("x")!;
  assert.deepEqual(x.connections.map((c) => [c.name, c.status, c.default]), [["default", "connected", true], ["work", "connected", false]]);
  assert.deepEqual(x.connections[0]!.account, { id: "1234567890123456789", label: "fixture_handle" });
  assert.deepEqual(byName.get("resend")!.connections.map((c) => c.name), ["bulk", "default"]);

  const human = cli(["list"], { home });
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^PROVIDER\s+SOURCE\s+AUTH\s+CONNECTION\s+STATUS\s+ACCOUNT/m);
  assert.match(human.stdout, /^x\s+bundled\s+oauth2\s+default \(default\)\s+connected\s+@fixture_handle$/m);
  assert.match(human.stdout, /^acmecrm\s+user\s+api_key/m);
  assert.doesNotMatch(human.stdout + human.stderr, /sk-fixture|x-fixture-access|re_fixture/, "no secret in list");
});

test("--profile and AUTHSOME_PROFILE select the profile", () => {
  const home = fixtureHome();
  for (const r of [cli(["list", "--json", "--connected", "--profile", "work"], { home }), cli(["list", "--json", "--connected"], { home, env: { AUTHSOME_PROFILE: "work" } })]) {
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout) as { profile: string; providers: Array<{ name: string }> };
    assert.equal(data.profile, "work");
    assert.deepEqual(data.providers.map((p) => p.name), ["openai"]);
  }
  const key = cli(["get", "openai", "--field", "api_key", "--show-secret", "-p", "work"], { home });
  assert.equal(key.stdout, "sk-fixtureWORKPROFILE0123456789\n");
});

test("get redacts secrets, --field prints one value, --show-secret reveals and is audited", () => {
  const home = fixtureHome();
  const all = cli(["get", "x", "--json"], { home });
  assert.equal(all.code, 0, all.stderr);
  const record = JSON.parse(all.stdout) as Record<string, unknown>;
  assert.equal(record.connection_name, "default");
  assert.equal(record.access_token, "********");
  assert.equal(record.refresh_token, "********");
  assert.deepEqual(record.account, { id: "1234567890123456789", label: "fixture_handle" });

  assert.equal(cli(["get", "x", "--field", "status"], { home }).stdout, "connected\n");
  assert.equal(cli(["get", "x", "--field", "account.id"], { home }).stdout, "1234567890123456789\n");
  assert.equal(cli(["get", "x", "--connection", "work", "--field", "access_token", "--show-secret"], { home }).stdout, "x-fixture-access-work\n");
  assert.equal(cli(["get", "resend", "-f", "api_key", "--show-secret"], { home }).stdout, "re_fixture_resend_key_42\n");
  assert.deepEqual(JSON.parse(cli(["get", "resend", "-c", "bulk", "-f", "api_key", "--show-secret", "--json"], { home }).stdout), { api_key: "re_fixture_bulk_key_99" });

  const shown = JSON.parse(cli(["get", "openai", "--show-secret", "--json"], { home }).stdout) as Record<string, unknown>;
  assert.equal(shown.api_key, "sk-fixtureOPENAI0123456789abcdef");

  const log = readFileSync(join(home, "audit.log"), "utf8");
  assert.match(log, /"event":"secret_read","provider":"x","connection":"work"/);
  assert.doesNotMatch(log, /x-fixture-access-work|re_fixture|sk-fixture/, "the audit log never holds a secret");
});

test("get on a secret field without --show-secret, or a missing value, fails clearly", () => {
  const home = fixtureHome();
  const noFlag = cli(["get", "x", "--field", "access_token"], { home });
  assert.equal(noFlag.code, 2);
  assert.match(noFlag.stderr, /"access_token" is a secret/);
  assert.match(noFlag.stderr, /--show-secret/);
  assert.equal(noFlag.stdout, "");

  const missing = cli(["get", "openai", "--field", "access_token", "--show-secret"], { home });
  assert.equal(missing.code, 5);
  assert.match(missing.stderr, /has no access_token/);
  assert.match(missing.stderr, /an API key connection; its secret fields: api_key/);

  const noConnection = cli(["get", "github", "--connection", "nope"], { home });
  assert.equal(noConnection.code, 5);
  assert.match(noConnection.stderr, /authsome login github --connection nope/);
});

test("export prints lines a shell can eval, and every format", () => {
  const home = fixtureHome();
  // (the fixture's default X token expired in 2026-11; its "work" one lives until 2030)
  const env = cli(["export", "github"], { home });
  assert.equal(env.code, 0, env.stderr);
  assert.equal(env.stdout, "GITHUB_ACCESS_TOKEN='gho_fixtureAccessToken123'\nGITHUB_REFRESH_TOKEN='ghr_fixtureRefreshToken456'\n");
  const shell = cli(["export", "x", "--format", "shell", "--connection", "work"], { home });
  assert.equal(shell.stdout, "export X_ACCESS_TOKEN='x-fixture-access-work'\nexport X_REFRESH_TOKEN='x-fixture-refresh-work'\n");
  // a real shell evaluates it
  const evaluated = spawnShell(`eval "$(${process.execPath} ${join(process.cwd(), "bin/authsome.js")} export resend --format shell)"; printf %s "$RESEND_API_KEY"`, home);
  assert.equal(evaluated, "re_fixture_resend_key_42");
  assert.equal(cli(["export", "openai", "--format", "dotenv"], { home }).stdout, "OPENAI_API_KEY='sk-fixtureOPENAI0123456789abcdef'\n");
  assert.deepEqual(JSON.parse(cli(["export", "acmecrm", "--format", "json"], { home }).stdout || "{}"), {});
});

function spawnShell(script: string, home: string): string {
  const r = spawnSync("sh", ["-c", script], { env: { ...process.env, AUTHSOME_HOME: home }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("inspect prints a definition that register accepts back", () => {
  const home = fixtureHome();
  const r = cli(["inspect", "x"], { home });
  assert.equal(r.code, 0, r.stderr);
  const def = JSON.parse(r.stdout) as { name: string; oauth: { authorization_url: string } };
  assert.equal(def.name, "x");
  assert.equal(def.oauth.authorization_url, "https://x.com/i/oauth2/authorize");
  const edited = JSON.stringify({ ...def, display_name: "X (mine)" });
  const reg = cli(["register", "-", "--force"], { home, input: edited });
  assert.equal(reg.code, 0, reg.stderr);
  const list = JSON.parse(cli(["list", "--json"], { home }).stdout) as { providers: Array<{ name: string; source: string; display_name: string }> };
  assert.deepEqual(list.providers.find((p) => p.name === "x"), { ...list.providers.find((p) => p.name === "x"), source: "user", display_name: "X (mine)" });
  assert.equal(JSON.parse(cli(["inspect", "acmecrm"], { home }).stdout).api_key.header_name, "X-Acme-Key");
});

test("whoami, log and doctor on the fixture", () => {
  const home = fixtureHome();
  const who = JSON.parse(cli(["whoami", "--json"], { home }).stdout) as { home: string; profile: string; encryption_mode: string; connections: unknown[] };
  assert.equal(who.home, home);
  assert.equal(who.profile, "default");
  assert.equal(who.encryption_mode, "local_key");
  assert.equal(who.connections.length, 6);
  // the account as list shows it: X's label with its definition's "@"
  assert.match(cli(["whoami"], { home }).stdout, /x\/default  connected  @fixture_handle\n/);

  const log = JSON.parse(cli(["log", "--json"], { home }).stdout) as Array<{ event: string; provider: string }>;
  assert.deepEqual(log.map((e) => [e.event, e.provider]), [["register", "acmecrm"]]);

  const doc = cli(["doctor", "--json"], { home });
  const report = JSON.parse(doc.stdout) as { ok: boolean; checks: Array<{ check: string; ok: boolean }> };
  assert.equal(report.ok, true, doc.stdout);
  assert.equal(doc.code, 0);
  assert.ok(report.checks.some((c) => c.check === "profile default records" && c.ok));
});

test("a missing home lists providers without creating anything", () => {
  const home = emptyHome();
  const r = cli(["list", "--json"], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(cli(["whoami"], { home }).code, 0);
  assert.throws(() => readFileSync(join(home, "config.json")));
});

test("--quiet silences confirmations; colour follows --no-color and NO_COLOR", () => {
  const home = emptyHome();
  const loud = cli(["login", "resend", "--connection", "a"], { home, env: { RESEND_API_KEY: "re_1" } });
  assert.match(loud.stderr, /Logged in to Resend/);
  const quiet = cli(["login", "resend", "--connection", "b", "--quiet"], { home, env: { RESEND_API_KEY: "re_2" } });
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, "");
  // FORCE_COLOR stands in for a terminal; NO_COLOR and --no-color win over it
  const coloured = cli(["get", "nosuch"], { home, env: { NO_COLOR: undefined, FORCE_COLOR: "1" } });
  assert.match(coloured.stderr, /\x1b\[31merror: unknown provider/);
  assert.doesNotMatch(cli(["get", "nosuch", "--no-color"], { home, env: { NO_COLOR: undefined, FORCE_COLOR: "1" } }).stderr, /\x1b\[/);
  assert.doesNotMatch(cli(["get", "nosuch"], { home, env: { NO_COLOR: "1", FORCE_COLOR: "1" } }).stderr, /\x1b\[/);
});

test("a broken user file overriding a bundled provider is reported, not shown as the bundled one; an unreadable one is named", () => {
  const home = emptyHome();
  mkdirSync(join(home, "providers"), { recursive: true });
  writeFileSync(join(home, "providers", "github.json"), '{"name": "github",');
  mkdirSync(join(home, "providers", "foo.json"));
  const list = cli(["list", "--json"], { home });
  assert.equal(list.code, 0, list.stderr);
  const names = (JSON.parse(list.stdout) as { providers: Array<{ name: string }> }).providers.map((p) => p.name);
  assert.ok(!names.includes("github"), "get and login would meet the broken file, not the bundled definition");
  assert.ok(names.includes("gitlab"));
  assert.match(list.stderr, /providers\/github\.json is invalid and was skipped:\n.*malformed JSON at line 1/);
  const inspect = cli(["inspect", "foo"], { home });
  assert.equal(inspect.code, 2);
  assert.match(inspect.stderr, /error: .*providers\/foo\.json: cannot be read \(EISDIR\)/);
});

test("export --format dotenv: values with quotes, backslashes and ${...} read back whole with Node's --env-file and with python-dotenv", () => {
  const file = join(tempDir(), ".env");
  // python-dotenv expands ${...} in every kind of quotes unless told not to (interpolate=False)
  const PYTHON_DOTENV = "import sys, dotenv; sys.stdout.write(dotenv.dotenv_values(sys.argv[1], interpolate=False)['AHREFS_API_KEY'])";
  for (const key of ['ak\\b"c$HOME', "ab${HOME}cd", "it's", "a'b\\c", "a'b$c", "a'b\"c"]) {
    const home = emptyHome();
    assert.equal(cli(["login", "ahrefs"], { home, env: { AHREFS_API_KEY: key } }).code, 0);
    const dotenv = cli(["export", "ahrefs", "--format", "dotenv"], { home });
    assert.equal(dotenv.code, 0, dotenv.stderr);
    writeFileSync(file, dotenv.stdout);
    const node = spawnSync(process.execPath, [`--env-file=${file}`, "-e", "process.stdout.write(process.env.AHREFS_API_KEY)"], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: "/elsewhere" } });
    assert.equal(node.stdout, key, `Node read ${dotenv.stdout}`);
    const python = spawnSync(SYSTEM_PYTHON, ["-c", PYTHON_DOTENV, file], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: "/elsewhere" } });
    assert.equal(python.stdout, key, `python-dotenv read ${dotenv.stdout}`);
  }
});
