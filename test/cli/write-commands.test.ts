import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, cli, emptyHome, fixtureHome, tempDir } from "../helpers.js";

test("login for an API-key provider reads the key from the definition's variable, never argv", () => {
  const home = emptyHome();
  const r = cli(["login", "openai"], { home, env: { OPENAI_API_KEY: "sk-testkey0123456789abcdefXYZ" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Logged in to OpenAI/);
  assert.equal(cli(["get", "openai", "-f", "api_key", "--show-secret"], { home }).stdout, "sk-testkey0123456789abcdefXYZ\n");
  assert.equal(statSync(home).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, "master.key")).mode & 0o777, 0o600);
  const audit = readFileSync(join(home, "audit.log"), "utf8");
  assert.match(audit, /"event":"login","provider":"openai"/);
  assert.doesNotMatch(audit, /sk-testkey/);

  const again = cli(["login", "openai"], { home, env: { OPENAI_API_KEY: "sk-otherkey0123456789abcdefXYZ" } });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already has a connected connection "default"/);
  assert.match(again.stderr, /--force/);
  const forced = cli(["login", "openai", "--force"], { home, env: { OPENAI_API_KEY: "sk-otherkey0123456789abcdefXYZ" } });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(cli(["get", "openai", "-f", "api_key", "--show-secret"], { home }).stdout, "sk-otherkey0123456789abcdefXYZ\n");

  const second = cli(["login", "openai", "--connection", "ci", "--json"], { home, env: { OPENAI_API_KEY: "sk-cikey0123456789abcdefghXYZ" } });
  assert.deepEqual(JSON.parse(second.stdout), { status: "connected", provider: "openai", connection: "ci", profile: "default", flow: "api_key" });
});

test("login rejects a key that does not match the pattern, and with no key and no terminal says what to set", () => {
  const home = emptyHome();
  const bad = cli(["login", "openai"], { home, env: { OPENAI_API_KEY: "not-a-key" } });
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /does not look like a OpenAI key/);
  assert.doesNotMatch(bad.stderr, /not-a-key/);
  const none = cli(["login", "resend"], { home, env: { RESEND_API_KEY: undefined } });
  assert.equal(none.code, 5);
  assert.match(none.stderr, /set RESEND_API_KEY/);
  assert.equal(existsSync(join(home, "profiles", "default", "store.db")), false, "nothing stored");
});

test("a user-registered provider (the fixture's acmecrm) logs in, exports and is removed", () => {
  const home = fixtureHome();
  assert.equal(cli(["login", "acmecrm"], { home, env: { ACME_API_KEY: "acme-123" } }).code, 0);
  assert.equal(cli(["export", "acmecrm"], { home }).stdout, "ACME_API_KEY='acme-123'\n");
  const removed = cli(["remove", "acmecrm", "--json"], { home });
  assert.deepEqual(JSON.parse(removed.stdout), { status: "removed", provider: "acmecrm", profile: "default", connections: ["default"], client_credentials: false, definition: true });
  assert.equal(cli(["inspect", "acmecrm"], { home }).code, 3);
});

test("remove keeps a registered definition that another profile still uses (definitions are the whole home's)", () => {
  const home = fixtureHome();
  for (const profile of ["default", "work"]) assert.equal(cli(["-p", profile, "login", "acmecrm"], { home, env: { ACME_API_KEY: `acme-${profile}` } }).code, 0);
  const fromWork = cli(["-p", "work", "remove", "acmecrm"], { home });
  assert.equal(fromWork.code, 0, fromWork.stderr);
  assert.match(fromWork.stdout + fromWork.stderr, /Removed acmecrm: 1 connection\(s\)\. Its definition stays: profile\(s\) default still use it\./);
  const got = cli(["get", "acmecrm", "--field", "api_key", "--show-secret"], { home });
  assert.equal(got.stdout.trim(), "acme-default", "the default profile's connection still works");
  // nothing of it left in "work": a second remove there finds nothing
  assert.equal(cli(["-p", "work", "remove", "acmecrm"], { home }).code, 5);
  const last = JSON.parse(cli(["remove", "acmecrm", "--json"], { home }).stdout) as { definition: boolean; definition_kept_for?: string[] };
  assert.equal(last.definition, true);
  assert.equal(last.definition_kept_for, undefined);
  assert.equal(cli(["inspect", "acmecrm"], { home }).code, 3);
});

test("logout deletes one connection and moves the default; revoke forgets a provider with its client", () => {
  const home = fixtureHome();
  const out = cli(["logout", "resend"], { home });
  assert.equal(out.code, 0, out.stderr);
  const list = JSON.parse(cli(["list", "--json", "--connected"], { home }).stdout) as { providers: Array<{ name: string; connections: Array<{ name: string; default: boolean }> }> };
  assert.deepEqual(list.providers.find((p) => p.name === "resend")?.connections.map((c) => [c.name, c.default]), [["bulk", true]]);
  assert.equal(cli(["get", "resend", "-f", "api_key", "--show-secret"], { home }).stdout, "re_fixture_bulk_key_99\n");

  // revoke also revokes remotely: point x's revocation endpoint at a closed loopback port so the
  // fixture's tokens never leave the machine; the failure is a warning and deletion still happens.
  const xDef = JSON.parse(readFileSync(join(ROOT, "src/providers/catalog/x.json"), "utf8")) as { oauth: Record<string, unknown> };
  xDef.oauth.revocation_url = "http://127.0.0.1:9/2/oauth2/revoke";
  writeFileSync(join(home, "providers", "x.json"), JSON.stringify(xDef));
  const rev = cli(["revoke", "x", "--json"], { home });
  assert.equal(rev.code, 0, rev.stderr);
  const revOut = JSON.parse(rev.stdout) as Record<string, unknown> & { warnings: string[] };
  assert.deepEqual({ ...revOut, warnings: undefined }, { status: "revoked", provider: "x", profile: "default", connections: ["default", "work"], client_credentials: true, revoked_remotely: false, warnings: undefined });
  assert.ok(revOut.warnings.length > 0);
  assert.match(rev.stderr, /warning: could not revoke/);
  assert.equal(cli(["get", "x"], { home }).code, 5);
  assert.equal(cli(["revoke", "x"], { home }).code, 5);
  const log = readFileSync(join(home, "audit.log"), "utf8");
  assert.match(log, /"event":"logout","provider":"resend","connection":"default"/);
  assert.match(log, /"event":"revoke","provider":"x"/);
});

test("remove --connection is local and leaves the rest", () => {
  const home = fixtureHome();
  assert.equal(cli(["remove", "x", "--connection", "work"], { home }).code, 0);
  assert.equal(cli(["get", "x", "-c", "work"], { home }).code, 5);
  assert.equal(cli(["get", "x", "-f", "status"], { home }).stdout, "connected\n");
  assert.equal(cli(["remove", "x", "--connection", "work"], { home }).code, 5);
});

test("register from a file, refuse to replace without --force, user file overrides bundled", () => {
  const home = fixtureHome();
  const file = join(tempDir(), "widget.json");
  const def = { schema_version: 1, name: "widget", display_name: "Widget", auth_type: "api_key", flow: "api_key", api_key: { header_name: "X-Widget-Key", header_prefix: "" }, export: { env: { api_key: "WIDGET_KEY" } }, host_url: "api.widget.example", routes: [{ host: "api.widget.example" }], custom_field: { kept: true } };
  writeFileSync(file, JSON.stringify(def));
  const r = cli(["register", file], { home });
  assert.equal(r.code, 0, r.stderr);
  const stored = JSON.parse(readFileSync(join(home, "providers", "widget.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(stored.custom_field, { kept: true }, "unknown fields are kept");
  assert.equal(statSync(join(home, "providers", "widget.json")).mode & 0o777, 0o600);
  const dup = cli(["register", file], { home });
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /already registered/);
  const bundled = cli(["register", "-"], { home, input: JSON.stringify({ ...def, name: "openai" }) });
  assert.equal(bundled.code, 2);
  assert.match(bundled.stderr, /bundled.*--force/s);
});

test("profile list, create and use", () => {
  const home = fixtureHome();
  assert.deepEqual(JSON.parse(cli(["profile", "list", "--json"], { home }).stdout), {
    profiles: [{ name: "default", default: true, current: true }, { name: "work", default: false, current: false }],
    current: "default",
  });
  assert.equal(cli(["profile", "create", "staging", "--description", "for CI"], { home }).code, 0);
  assert.equal(cli(["profile", "create", "staging"], { home }).code, 2);
  const meta = JSON.parse(readFileSync(join(home, "profiles", "staging", "metadata.json"), "utf8")) as Record<string, string>;
  assert.equal(meta.description, "for CI");
  assert.equal(cli(["profile", "use", "work"], { home }).code, 0);
  const config = JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.default_profile, "work");
  assert.deepEqual(config.encryption, { mode: "local_key" }, "other config fields are kept");
  assert.equal(JSON.parse(cli(["whoami", "--json"], { home }).stdout).profile, "work");
  assert.equal(cli(["profile", "use", "nope"], { home }).code, 2);
});

test("keyring mode without a keyring service fails with a clear message and stores nothing", () => {
  const home = emptyHome();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "config.json"), JSON.stringify({ spec_version: 1, default_profile: "default", encryption: { mode: "keyring" } }));
  const r = cli(["login", "openai"], { home, env: { OPENAI_API_KEY: "sk-keyringtest0123456789abcdef", DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent" } });
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /encryption mode is "keyring" but the system keyring cannot be used/);
  assert.match(r.stderr, /local_key/);
  assert.doesNotMatch(r.stderr, /sk-keyringtest/);
  assert.equal(existsSync(join(home, "profiles", "default", "store.db")), false);
  const doctor = cli(["doctor", "--json"], { home, env: { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent" } });
  const check = (JSON.parse(doctor.stdout) as { checks: Array<{ check: string; ok: boolean; detail: string }> }).checks.find((c) => c.check === "master key");
  assert.equal(check?.ok, false);
  assert.match(check!.detail, /keyring/);
});

test("keyring mode never falls back to the kernel keyring when no Secret Service answers: its key would not outlive a reboot", () => {
  // a store with records, read in a session without D-Bus (SSH, cron): the keyring module's own
  // fallback read the kernel keyring, found nothing there and called the key missing; an empty
  // store would have had a new key made there, in memory only
  const home = fixtureHome();
  const config = JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(home, "config.json"), JSON.stringify({ ...config, encryption: { mode: "keyring" } }));
  const r = cli(["get", "openai", "--field", "api_key", "--show-secret"], { home, env: { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent" } });
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /the system keyring cannot be used \(.*DBus.*\)/);
  assert.match(r.stderr, /start a keyring service \(Secret Service over D-Bus on Linux\)/);
  assert.doesNotMatch(r.stderr, /missing/);
});

test("an audit log made readable by others is made private again when written; a symlinked profile and config.json are kept as links", () => {
  const home = fixtureHome();
  const log = join(home, "audit.log");
  writeFileSync(log, "", { mode: 0o644 });
  chmodSync(log, 0o644);
  assert.equal(cli(["get", "openai", "-f", "api_key", "--show-secret"], { home }).code, 0);
  assert.equal(statSync(log).mode & 0o777, 0o600, "it tells which secrets were read");

  // a profile kept elsewhere, linked in
  const elsewhere = join(tempDir(), "team");
  renameSync(join(home, "profiles", "work"), elsewhere);
  symlinkSync(elsewhere, join(home, "profiles", "work"));
  assert.match(cli(["profile", "list"], { home }).stdout, /\bwork\b/);

  // config.json from a dotfiles repository
  const dotfiles = join(tempDir(), "config.json");
  renameSync(join(home, "config.json"), dotfiles);
  symlinkSync(dotfiles, join(home, "config.json"));
  assert.equal(cli(["profile", "use", "work"], { home }).code, 0);
  assert.ok(lstatSync(join(home, "config.json")).isSymbolicLink(), "still a link");
  assert.equal(JSON.parse(readFileSync(dotfiles, "utf8")).default_profile, "work", "written where it points");
});
