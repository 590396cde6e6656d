import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { cli, emptyHome, failsCleanly, fixtureHome, tempDir } from "../helpers.js";

test("malformed and invalid provider JSON are refused with the file, JSON path and expectation", () => {
  const home = fixtureHome();
  const dir = tempDir();
  const malformed = join(dir, "broken.json");
  writeFileSync(malformed, '{ "name": "broken", ');
  failsCleanly(home, ["register", malformed], 2, new RegExp(`${malformed}.*(JSON|Unexpected)`, "s"));

  const invalid = join(dir, "invalid.json");
  writeFileSync(invalid, JSON.stringify({ schema_version: 1, name: "bad", display_name: "Bad", auth_type: "oauth2", flow: "pkce", oauth: { authorization_url: "http://evil.example/authorize", token_url: 42 } }));
  const r = failsCleanly(home, ["register", invalid], 2, /\$\.oauth\.token_url/);
  assert.match(r.stderr, new RegExp(invalid));
  assert.match(r.stderr, /\$\.oauth\.authorization_url.*https/);

  failsCleanly(home, ["register", "-"], 2, /<stdin>.*\$\.auth_type/s, { input: JSON.stringify({ schema_version: 1, name: "z", display_name: "Z", auth_type: "magic", flow: "api_key" }) });
  failsCleanly(home, ["register", join(dir, "absent.json")], 2, /no such file/);
});

test("a broken user provider file is reported by list, and is an error for that provider only", () => {
  const home = fixtureHome();
  writeFileSync(join(home, "providers", "acmecrm.json"), "{not json");
  const list = cli(["list", "--json"], { home });
  assert.equal(list.code, 0, list.stderr);
  const data = JSON.parse(list.stdout) as { providers: Array<{ name: string }>; errors: Array<{ path: string }> };
  assert.ok(data.providers.some((p) => p.name === "openai"));
  assert.ok(data.errors.some((e) => e.path.endsWith("acmecrm.json")));
  assert.match(list.stderr, /acmecrm\.json is invalid/);
  failsCleanly(home, ["inspect", "acmecrm"], 2, /acmecrm\.json/);

  // a copy of openai's definition under another file name does not become a second way to its key
  const openai = cli(["inspect", "openai"], { home });
  writeFileSync(join(home, "providers", "helper.json"), openai.stdout);
  const again = JSON.parse(cli(["list", "--json"], { home }).stdout) as { providers: Array<{ name: string }>; errors: Array<{ path: string; error: string }> };
  assert.equal(again.providers.filter((p) => p.name === "openai").length, 1);
  assert.match(again.errors.find((e) => e.path.endsWith("helper.json"))!.error, /\$\.name is "openai", but the file is named for "helper"/);
  const helper = failsCleanly(home, ["get", "helper", "--field", "api_key", "--show-secret"], 2, /helper\.json: \$\.name is "openai"/);
  assert.match(helper.stderr, /hint: rename the file to openai\.json, or set "name" to "helper"/);
});

test("an unknown provider is exit 3", () => {
  const home = fixtureHome();
  failsCleanly(home, ["get", "nosuchthing"], 3, /unknown provider "nosuchthing"/);
  failsCleanly(home, ["login", "nosuchthing"], 3, /authsome list/);
  failsCleanly(home, ["inspect", "nosuchthing"], 3, /unknown provider/);
});

test("names with ':' are refused before anything is read or written", () => {
  const home = fixtureHome();
  failsCleanly(home, ["get", "x:y"], 2, /invalid provider name "x:y"/);
  failsCleanly(home, ["get", "x", "--connection", "a:b"], 2, /invalid connection name "a:b"/);
  failsCleanly(home, ["login", "openai", "--connection", "a:b"], 2, /invalid connection name/, { env: { OPENAI_API_KEY: "sk-aaaaaaaaaaaaaaaaaaaaaaaa" } });
  failsCleanly(home, ["profile", "create", "a:b"], 2, /invalid profile name/);
  failsCleanly(home, ["list", "--profile", "../etc"], 2, /invalid profile name/);
  failsCleanly(home, ["register", "-"], 2, /\$\.name/, { input: JSON.stringify({ schema_version: 1, name: "a:b", display_name: "A", auth_type: "api_key", flow: "api_key" }) });
});

test("a missing master key is an error that says what to do, and no new key is made", () => {
  const home = fixtureHome();
  renameSync(join(home, "master.key"), join(home, "master.key.bak"));
  const r = failsCleanly(home, ["get", "openai"], 7, /master key .*master\.key is missing/);
  assert.match(r.stderr, /restore/);
  failsCleanly(home, ["login", "brevo"], 7, /missing/, { env: { BREVO_API_KEY: "xkeysib-1" } });
  assert.equal(existsSync(join(home, "master.key")), false);
});

test("a wrong master key fails reads by record name and never rewrites the store", () => {
  const home = fixtureHome();
  writeFileSync(join(home, "master.key"), JSON.stringify({ version: 1, key: Buffer.alloc(32, 9).toString("base64") }), { mode: 0o600 });
  const r = failsCleanly(home, ["get", "openai"], 7, /record profile:default:openai:(metadata|connection:default) cannot be decrypted \(wrong master key/);
  assert.doesNotMatch(r.stderr, /sk-fixture/);
  failsCleanly(home, ["login", "brevo", "--connection", "second"], 7, /master key does not open any record of profile "default"; nothing was written/, { env: { BREVO_API_KEY: "xkeysib-1" } });
  writeFileSync(join(home, "master.key"), "{}", { mode: 0o600 });
  failsCleanly(home, ["get", "openai"], 7, /has no "key" field/);
});

test("a corrupted record is reported by name; list still shows the rest", () => {
  const home = fixtureHome();
  const db = new Database(join(home, "profiles", "default", "store.db"));
  db.prepare("UPDATE kv SET value = ? WHERE key = ?").run("AAAAAAAAAAAAAAAA.garbage", "profile:default:resend:connection:bulk");
  db.close();
  failsCleanly(home, ["get", "resend", "--connection", "bulk"], 7, /profile:default:resend:connection:bulk cannot be decrypted/);
  const list = cli(["list", "--json", "--connected"], { home });
  assert.equal(list.code, 0, list.stderr);
  const data = JSON.parse(list.stdout) as { providers: Array<{ name: string; connections: Array<{ name: string; status: string }> }> };
  const resend = data.providers.find((p) => p.name === "resend")!;
  assert.deepEqual(resend.connections.map((c) => [c.name, c.status]), [["bulk", "unreadable"], ["default", "connected"]]);
  // an unreadable connection has every field a readable one has (and its error), so a script reading one reads all
  const [bulk, readable] = resend.connections as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(bulk!).filter((k) => k !== "error").sort(), Object.keys(readable!).sort());
  assert.deepEqual(bulk!.account, { id: null, label: null });
  const who = JSON.parse(cli(["whoami", "--json"], { home }).stdout) as { connections: Array<{ connection: string; status: string; account: unknown }> };
  assert.deepEqual(who.connections.find((c) => c.connection === "bulk"), { provider: "resend", connection: "bulk", status: "unreadable", account: { id: null, label: null } });
  assert.ok(data.providers.some((p) => p.name === "x"));
  assert.match(list.stderr, /resend:connection:bulk cannot be decrypted/);
  assert.equal(cli(["get", "resend", "-f", "api_key", "--show-secret"], { home }).stdout, "re_fixture_resend_key_42\n");
  const doctor = cli(["doctor"], { home });
  assert.equal(doctor.code, 1);
  assert.match(doctor.stdout, /FAIL\s+profile default records: .*resend:connection:bulk/);
});

test("a bad refresh window or callback port is an error naming where it was set, not a silent default", () => {
  const home = fixtureHome();
  const get = ["get", "openai", "--field", "api_key", "--show-secret"];
  for (const value of ["abc", "-5", " "]) {
    const r = failsCleanly(home, get, 2, /AUTHSOME_REFRESH_WINDOW_SECONDS must be a number of seconds, 0 or more/, { env: { AUTHSOME_REFRESH_WINDOW_SECONDS: value } });
    assert.match(r.stderr, new RegExp(`not ${JSON.stringify(value).replace("-", "\\-")}`));
  }
  assert.equal(cli(get, { home, env: { AUTHSOME_REFRESH_WINDOW_SECONDS: "" } }).code, 0, "empty counts as unset");
  const config = join(home, "config.json");
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, "utf8")), refresh_window_seconds: "soon" }));
  failsCleanly(home, get, 7, /"refresh_window_seconds" in .*config\.json must be a number of seconds, 0 or more, not "soon"/);
  // the variable, when set, is what counts
  assert.equal(cli(get, { home, env: { AUTHSOME_REFRESH_WINDOW_SECONDS: "60" } }).code, 0);
  failsCleanly(home, ["login", "github"], 2, /AUTHSOME_CALLBACK_PORT must be a whole number from 1 to 65535, not "99999"/, { env: { AUTHSOME_CALLBACK_PORT: "99999" } });
  failsCleanly(home, ["login", "github", "--port", "0"], 2, /--port must be a whole number from 1 to 65535, not "0"/, { env: { AUTHSOME_CALLBACK_PORT: "99999" } });
});

test("unknown flags and misuse are usage errors (exit 2)", () => {
  const home = fixtureHome();
  failsCleanly(home, ["get", "x", "--bogus"], 2, /unknown option '--bogus'/);
  failsCleanly(home, ["frobnicate"], 2, /unknown command/);
  failsCleanly(home, ["export", "x", "--format", "yaml"], 2, /yaml.*(choices|Allowed)/s);
  failsCleanly(home, ["get", "x", "--field", "status", "--show-secret"], 2, /--show-secret applies to secret fields only/);
  failsCleanly(home, ["log", "--limit", "zero"], 2, /--limit/);
  failsCleanly(home, ["login", "openai", "--flow", "pkce"], 2, /does not support the pkce flow/);
  const json = cli(["get", "nosuch", "--json"], { home });
  assert.equal(json.code, 3);
  assert.deepEqual(JSON.parse(json.stdout).error.code, "provider_not_found");
  assert.equal(json.stderr, "");
});

test("register, log and profile create say what is wrong in words, with a way forward", () => {
  const home = fixtureHome();
  const dir = tempDir();
  const r = failsCleanly(home, ["register", dir], 2, /cannot read .*: it is a directory/);
  assert.match(r.stderr, /hint: register takes a provider definition file/);
  assert.doesNotMatch(r.stderr, /EISDIR/);
  const invalid = join(dir, "invalid.json");
  writeFileSync(invalid, JSON.stringify({ schema_version: 1, name: "bad", display_name: "Bad", auth_type: "magic", flow: "api_key" }));
  const schema = /see (\/\S+\/schema\/provider\.schema\.json)\)/.exec(failsCleanly(home, ["register", invalid], 2, /auth_type/).stderr);
  assert.ok(schema && existsSync(schema[1]!), "the hint names the schema file where it is installed");
  for (const limit of ["1e2", "0x10", "-3", "0"]) failsCleanly(home, ["log", "-n", limit], 2, /--limit must be a positive whole number/);
  assert.equal(cli(["log", "-n", "2"], { home }).code, 0);
  assert.equal(cli(["profile", "create", "staging"], { home }).code, 0);
  for (const name of ["staging", "Staging"]) {
    const again = failsCleanly(home, ["profile", "create", name], 2, /profile "staging" already exists/);
    assert.match(again.stderr, /--profile staging/);
  }
});

test("-p naming a profile that does not exist is refused by every command, those that read no profile included; an empty --provider for log too", () => {
  const home = fixtureHome();
  const definition = join(tempDir(), "acme.json");
  writeFileSync(definition, JSON.stringify({ schema_version: 1, name: "acme", display_name: "Acme", auth_type: "api_key", flow: "api_key", api_key: {}, routes: [{ host: "api.acme.example" }] }));
  const commands = [["doctor"], ["log"], ["inspect", "openai"], ["register", definition], ["profile", "list"], ["profile", "create", "other"], ["profile", "use", "work"], ["whoami"]];
  for (const command of commands) failsCleanly(home, ["-p", "nope", ...command], 2, /profile "nope" does not exist \(chosen with --profile\); your profiles: default, work/);
  // a home that does not exist yet is not made by a refused command
  failsCleanly(emptyHome(), ["-p", "nope", "register", definition], 2, /profile "nope" does not exist/);
  failsCleanly(home, ["log", "--provider", ""], 2, /invalid provider name ""/);
  // a provider removed since keeps its entries: the name is checked, not looked up
  assert.equal(cli(["log", "--provider", "gone", "--json"], { home }).stdout.trim(), "[]");
});

test("an unknown record field survives a rewrite by this implementation", async () => {
  const home = fixtureHome();
  // write a future field through the store API, then rewrite the record with a login --force
  const { Home } = await import("../../src/home/home.js");
  const { Vault } = await import("../../src/vault/store.js");
  const vault = new Vault(new Home(home), "default");
  const key = "profile:default:resend:metadata";
  const meta = (await vault.get(key))!;
  await vault.write([[key, { ...meta, future_field: "kept" }]]);
  vault.close();
  assert.equal(cli(["login", "resend", "--connection", "third"], { home, env: { RESEND_API_KEY: "re_third" } }).code, 0);
  const again = new Vault(new Home(home), "default");
  const after = (await again.get(key))!;
  again.close();
  assert.equal(after.future_field, "kept");
  assert.deepEqual(after.connection_names, ["default", "bulk", "third"]);
  assert.ok(readFileSync(join(home, "audit.log"), "utf8").includes('"connection":"third"'));
});

test("profile list still shows the profiles when the one chosen does not exist; an empty --profile is refused", () => {
  const home = fixtureHome();
  const list = cli(["profile", "list", "--json"], { home, env: { AUTHSOME_PROFILE: "nope" } });
  assert.equal(list.code, 0, list.stderr);
  const data = JSON.parse(list.stdout) as { profiles: Array<{ name: string }>; current: string };
  assert.deepEqual(data.profiles.map((p) => p.name), ["default", "work"]);
  assert.equal(data.current, "nope");
  failsCleanly(home, ["-p", "", "list"], 2, /invalid profile name ""/);
  failsCleanly(home, ["profile", "use", "nope"], 2, /profile "nope" does not exist; your profiles: default, work/);
});

test("a damaged metadata record does not block the provider: a login rebuilds it, remove clears it", () => {
  const home = fixtureHome();
  const store = join(home, "profiles", "default", "store.db");
  const garble = () => {
    const db = new Database(store);
    db.prepare("UPDATE kv SET value = ? WHERE key = ?").run("AAAAAAAAAAAAAAAA.garbage", "profile:default:resend:metadata");
    db.close();
  };
  garble();
  const login = cli(["login", "resend", "--connection", "third"], { home, env: { RESEND_API_KEY: "re_third_key_123" } });
  assert.equal(login.code, 0, login.stderr);
  const list = JSON.parse(cli(["list", "--json"], { home }).stdout) as { providers: Array<{ name: string; connections: Array<{ name: string; default: boolean }> }> };
  const resend = list.providers.find((p) => p.name === "resend")!;
  assert.deepEqual(resend.connections.map((c) => [c.name, c.default]), [["bulk", true], ["default", false], ["third", false]], "rebuilt from the stored connections");
  garble();
  const removed = cli(["remove", "resend"], { home });
  assert.equal(removed.code, 0, removed.stderr);
  const db = new Database(store, { readonly: true });
  const left = db.prepare("SELECT key FROM kv WHERE key LIKE 'profile:default:resend:%'").all();
  db.close();
  assert.deepEqual(left, [], "nothing of the provider is left behind");
  assert.equal(cli(["login", "resend"], { home, env: { RESEND_API_KEY: "re_again_key_123" } }).code, 0);
});

test("records no key opens can still be removed (removing seals nothing); writing under a wrong key is still refused", () => {
  const home = fixtureHome();
  writeFileSync(join(home, "master.key"), JSON.stringify({ version: 1, key: Buffer.alloc(32, 9).toString("base64") }), { mode: 0o600 });
  const removed = cli(["-p", "work", "remove", "openai"], { home });
  assert.equal(removed.code, 0, removed.stderr);
  failsCleanly(home, ["login", "brevo", "--connection", "second"], 7, /master key does not open any record of profile "default"; nothing was written/, { env: { BREVO_API_KEY: "xkeysib-1" } });
});
