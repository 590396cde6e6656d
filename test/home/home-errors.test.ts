import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, FIXTURE_HOME, ROOT, cli, fixtureHome, snapshot, tempDir, type CliResult } from "../helpers.js";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";

// A home the CLI cannot use as it is (a file, another user's directory, a read-only store, a bad
// config.json value, an audit log that is a directory) fails with exit 7 and a message that names
// the file and says what to do; reads that need no write still work; nothing on disk changes.

const OTHER_UID = 65534; // nobody
const OPENAI_KEY = "sk-fixtureOPENAI0123456789abcdef";

/** Acting as another user needs root (to switch) and setpriv; the tests that do say so when skipped. */
const canSwitchUser = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;
const NEEDS_SWITCH = canSwitchUser ? false : "needs root and setpriv(1) to run the CLI as another user";

interface Run {
  home: string;
  env?: Record<string, string>;
  /** Run as OTHER_UID (through setpriv) instead of as this process's user. */
  asOther?: boolean;
}

function run(args: string[], opts: Run): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, AUTHSOME_HOME: opts.home, NO_COLOR: "1" };
  delete env.AUTHSOME_PROFILE;
  Object.assign(env, opts.env);
  const argv = [process.execPath, CLI, ...args];
  const setpriv = ["--reuid", String(OTHER_UID), "--regid", String(OTHER_UID), "--clear-groups"];
  const r = opts.asOther ? spawnSync("setpriv", [...setpriv, ...argv], { env, encoding: "utf8" }) : spawnSync(argv[0]!, argv.slice(1), { env, encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must fail with exit 7 (store unavailable) and message, and proves nothing under watched changed. */
function failsUnavailable(watched: string, args: string[], message: RegExp, opts: Run): CliResult {
  const before = snapshot(watched);
  const r = run(args, opts);
  assert.equal(r.code, 7, `exit code of ${args.join(" ")}: ${r.stderr}`);
  assert.match(r.stderr, message, `message of ${args.join(" ")}`);
  assert.match(r.stderr, /\nhint: \S/, `a hint for ${args.join(" ")}`);
  assert.doesNotMatch(r.stderr, /\bE[A-Z]{3,}\b:|SQLITE_/, `no raw error code in ${args.join(" ")}`);
  assert.doesNotMatch(r.stdout + r.stderr, /sk-fixture/, "no secret is handed out");
  const json = run([...args, "--json"], opts);
  assert.equal(JSON.parse(json.stdout).error.code, "store_unavailable", `--json code of ${args.join(" ")}`);
  assert.deepEqual(snapshot(watched), before, `nothing on disk changed after ${args.join(" ")}`);
  return r;
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}

/** A directory any user can enter (tempDir makes 0700 ones). */
function openDir(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  return dir;
}

/** A copy of the Python implementation's home that belongs to OTHER_UID, as their own home would. */
function otherUsersFixtureHome(): string {
  const home = join(openDir(), "home");
  cpSync(FIXTURE_HOME, home, { recursive: true });
  chownTree(home, OTHER_UID);
  chmodSync(home, 0o700);
  return home;
}

function providerFile(dir: string): string {
  const path = join(dir, "myprov.json");
  writeFileSync(path, JSON.stringify({ schema_version: 1, name: "myprov", display_name: "My", auth_type: "api_key", flow: "api_key" }), { mode: 0o644 });
  return path;
}

test("AUTHSOME_HOME naming a file: every command fails the same clear way, and the file is untouched", () => {
  const dir = tempDir();
  const file = join(dir, "afile");
  writeFileSync(file, "not a home\n");
  const definition = providerFile(dir);
  const env = { OPENAI_API_KEY: "sk-aaaaaaaaaaaaaaaaaaaaaaaa" };
  const commands = [
    ["list"],
    ["list", "--profile", "work"],
    ["get", "github"],
    ["get", "openai", "-f", "api_key", "--show-secret"],
    ["export", "openai"],
    ["whoami"],
    ["log"],
    ["login", "openai"],
    ["profile", "list"],
    ["profile", "create", "x"],
    ["profile", "use", "x"],
    ["register", definition, "--force"],
  ];
  for (const args of commands) {
    const r = failsUnavailable(dir, args, new RegExp(`the home ${file} is not a directory`), { home: file, env });
    assert.match(r.stderr, /hint: point AUTHSOME_HOME at a directory.* or move the file .*afile aside/);
  }
  const inside = failsUnavailable(dir, ["profile", "create", "x"], new RegExp(`the home ${file}/sub is not a directory \\(${file} is a file\\)`), { home: join(file, "sub") });
  assert.match(inside.stderr, /AUTHSOME_HOME/);
});

test("another user's home: reads work; writes and audited reads fail naming the owner, and nothing is chmod-ed", { skip: NEEDS_SWITCH }, () => {
  const dir = openDir();
  const home = join(dir, "home");
  cpSync(FIXTURE_HOME, home, { recursive: true });
  // shared the way an administrator might: root-owned, readable by everyone
  for (const sub of ["", "profiles", "profiles/default", "profiles/work", "providers"]) chmodSync(join(home, sub), 0o755);
  for (const f of ["audit.log", "config.json", "master.key", "version", "profiles/default/store.db", "profiles/default/lock", "profiles/default/metadata.json", "providers/acmecrm.json"]) {
    chmodSync(join(home, f), 0o644);
  }
  const asOther = { home, asOther: true };

  const before = snapshot(home);
  const list = run(["list", "--connected", "--json"], asOther);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { providers: Array<{ name: string }> }).providers.map((p) => p.name).filter((n) => n === "github" || n === "openai"),
    ["github", "openai"],
  );
  const get = run(["get", "github", "--json"], asOther);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(JSON.parse(get.stdout).provider, "github");
  assert.equal(run(["whoami"], asOther).code, 0);
  assert.deepEqual(snapshot(home), before, "reading another user's store leaves no -wal or -shm file behind");

  const owner = /belongs to another user \(uid 0\)/;
  failsUnavailable(home, ["profile", "create", "x"], new RegExp(`cannot create the directory ${home}/profiles/x: ${home}/profiles ${owner.source}`), asOther);
  failsUnavailable(home, ["profile", "use", "work"], new RegExp(`cannot write ${home}/config.json: ${home} ${owner.source}`), asOther);
  failsUnavailable(home, ["register", providerFile(dir), "--force"], new RegExp(`${home}/providers/myprov.json: ${home}/providers ${owner.source}`), asOther);
  const secret = failsUnavailable(home, ["get", "openai", "-f", "api_key", "--show-secret"], new RegExp(`the secret_read event to the audit log ${home}/audit.log: it ${owner.source}`), asOther);
  assert.match(secret.stderr, /hint: fix the ownership of .*audit\.log.*or point AUTHSOME_HOME at a home of your own/);
  failsUnavailable(home, ["export", "openai"], /the export event to the audit log .*audit\.log: it belongs to another user/, asOther);
  failsUnavailable(home, ["login", "brevo"], new RegExp(`cannot write the store ${home}/profiles/default/store.db: it ${owner.source}`), { ...asOther, env: { BREVO_API_KEY: "xkeysib-1" } });
  assert.equal(statSync(home).mode & 0o777, 0o755, "another user's home keeps its mode");
});

test("a read-only store is read as usual; a write names the read-only file and changes nothing", { skip: NEEDS_SWITCH }, () => {
  const home = join(openDir(), "home");
  cpSync(FIXTURE_HOME, home, { recursive: true });
  chmodSync(home, 0o700);
  chownTree(home, OTHER_UID); // the user's own home...
  for (const d of ["profiles", "profiles/default", "profiles/work", "providers"]) chmodSync(join(home, d), 0o700);
  for (const f of ["audit.log", "config.json", "master.key", "version", "profiles/default/lock", "profiles/default/metadata.json"]) chmodSync(join(home, f), 0o600);
  const store = join(home, "profiles", "default", "store.db");
  chmodSync(store, 0o400); // ...with a store they cannot write
  const mine = { home, asOther: true };
  const profile = join(home, "profiles");

  const before = snapshot(profile);
  const list = run(["list", "--connected", "--json"], mine);
  assert.equal(list.code, 0, list.stderr);
  assert.ok((JSON.parse(list.stdout) as { providers: Array<{ name: string }> }).providers.some((p) => p.name === "github"));
  const whoami = run(["whoami", "--json"], mine);
  assert.equal(whoami.code, 0, whoami.stderr);
  assert.ok((JSON.parse(whoami.stdout) as { connections: unknown[] }).connections.length > 0);
  assert.equal(run(["get", "github"], mine).code, 0);
  const secret = run(["get", "openai", "-f", "api_key", "--show-secret"], mine);
  assert.equal(secret.code, 0, secret.stderr);
  assert.equal(secret.stdout, `${OPENAI_KEY}\n`);
  const doctor = run(["doctor", "--json"], mine);
  assert.notEqual(doctor.code, 7, doctor.stdout);
  assert.doesNotMatch(doctor.stdout, /readonly database/);
  assert.deepEqual(snapshot(profile), before, "reads leave the read-only store and its directory as they were");

  const write = failsUnavailable(home, ["login", "brevo"], new RegExp(`cannot write the store ${store}: it is read-only for you \\(mode 400\\)`), { ...mine, env: { BREVO_API_KEY: "xkeysib-1" } });
  assert.match(write.stderr, new RegExp(`hint: .*chmod u\\+rw ${store}`));

  // a read-only profile directory (the store itself writable): the same, and the mode is the user's
  chmodSync(store, 0o600);
  chmodSync(join(home, "profiles", "default"), 0o500);
  assert.equal(run(["get", "openai", "-f", "api_key", "--show-secret"], mine).stdout, `${OPENAI_KEY}\n`);
  failsUnavailable(home, ["login", "brevo"], /cannot write the profile directory .*profiles\/default: it is read-only for you \(mode 500\)/, { ...mine, env: { BREVO_API_KEY: "xkeysib-1" } });
  assert.equal(statSync(join(home, "profiles", "default")).mode & 0o777, 0o500);
});

test("a home of one's own that is too open is still made private on a write", () => {
  const home = fixtureHome();
  chmodSync(home, 0o755);
  const r = cli(["profile", "create", "extra"], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(home).mode & 0o777, 0o700);
});

test("a bad default_profile in config.json or AUTHSOME_PROFILE says where it came from and how to fix it", () => {
  const home = fixtureHome();
  const config = join(home, "config.json");
  writeFileSync(config, JSON.stringify({ spec_version: 1, default_profile: "a:b", encryption: { mode: "local_key" } }), { mode: 0o600 });
  for (const args of [["list"], ["get", "github"], ["whoami"], ["profile", "list"]]) {
    const r = failsUnavailable(home, args, new RegExp(`"default_profile" in ${config} is "a:b", which is not a valid profile name`), { home });
    assert.match(r.stderr, /hint: choose the default with `authsome profile use NAME`, or fix "default_profile" in .*config\.json \(your profiles: default, work\)/);
  }
  writeFileSync(config, JSON.stringify({ default_profile: 5 }), { mode: 0o600 });
  failsUnavailable(home, ["list"], /"default_profile" in .*config\.json is 5, which is not/, { home });

  // the fix the hint names works, and so does creating a profile meanwhile
  assert.equal(run(["profile", "create", "ok"], { home }).code, 0);
  const use = run(["profile", "use", "work"], { home });
  assert.equal(use.code, 0, use.stderr);
  assert.equal(JSON.parse(readFileSync(config, "utf8")).default_profile, "work");
  assert.equal(run(["list"], { home }).code, 0);

  const before = snapshot(home);
  const env = run(["list"], { home, env: { AUTHSOME_PROFILE: "a:b" } });
  assert.equal(env.code, 2, env.stderr);
  assert.match(env.stderr, /invalid profile name "a:b" in AUTHSOME_PROFILE/);
  assert.match(env.stderr, /hint: set AUTHSOME_PROFILE to a valid profile name, or unset it \(your profiles: default, ok, work\)/);
  assert.deepEqual(snapshot(home), before);
});

test("an audit log that is a directory: log fails naming it, no secret is handed out unrecorded, and a login stores nothing", () => {
  const home = fixtureHome();
  const log = join(home, "audit.log");
  rmSync(log);
  mkdirSync(log, { mode: 0o700 });
  const read = failsUnavailable(home, ["log"], new RegExp(`cannot read the audit log ${log}: it is a directory, not a file`), { home });
  assert.match(read.stderr, new RegExp(`hint: move the directory ${log} aside`));
  failsUnavailable(home, ["get", "openai", "-f", "api_key", "--show-secret"], new RegExp(`cannot write the secret_read event to the audit log ${log}: it is a directory`), { home });
  failsUnavailable(home, ["get", "openai", "--show-secret"], /the secret_read event to the audit log .*: it is a directory/, { home });
  failsUnavailable(home, ["export", "openai"], /the export event to the audit log .*: it is a directory/, { home });
  // a login that could not be recorded is refused before anything is stored
  failsUnavailable(home, ["login", "brevo"], new RegExp(`cannot write the audit log ${log}: it is a directory`), { home, env: { BREVO_API_KEY: "xkeysib-1" } });
  // reading without a secret needs no audit line
  assert.equal(run(["get", "openai"], { home }).code, 0);
});

test("a master key its owner cannot read is named, with the mode and what to do", { skip: NEEDS_SWITCH }, () => {
  const home = otherUsersFixtureHome();
  const key = join(home, "master.key");
  chmodSync(key, 0o200);
  const r = failsUnavailable(home, ["get", "openai", "-f", "api_key", "--show-secret"], new RegExp(`cannot read the master key ${key}: it is not readable for you \\(mode 200\\)`), { home, asOther: true });
  assert.match(r.stderr, new RegExp(`hint: .*chmod u\\+rw ${key}`));
});

test("a directory of another user that others may write to is never used to keep credentials", { skip: NEEDS_SWITCH }, () => {
  const shared = join(openDir(), "shared");
  mkdirSync(shared);
  chmodSync(shared, 0o777); // root's, open to all: anyone could swap files or plant a provider there
  const r = failsUnavailable(shared, ["login", "openai"], /cannot use .*shared: it belongs to another user \(uid 0\) and others can write to it/, { home: shared, asOther: true, env: { OPENAI_API_KEY: OPENAI_KEY } });
  assert.match(r.stderr, /hint: point AUTHSOME_HOME at a directory of your own/);
  assert.deepEqual(readdirSync(shared), [], "nothing was written there");
});

test("a login into a home that cannot be written fails before its flow starts, naming the directory", { skip: NEEDS_SWITCH }, () => {
  const home = join(openDir(), "home");
  mkdirSync(home);
  chownTree(home, OTHER_UID);
  chmodSync(home, 0o500); // the user's own, but read-only, and without profiles yet
  // no key and no terminal: the flow would stop on that; the home is reported first
  const r = failsUnavailable(home, ["login", "openai"], /cannot write the directory for the store .*: .* is read-only for you \(mode 500\)/, { home, asOther: true, env: { OPENAI_API_KEY: "" } });
  assert.doesNotMatch(r.stderr, /API key/);
});

test("a store read from a copy (not writable for the reader) is read again once its owner has written to it", { skip: NEEDS_SWITCH }, async () => {
  const home = otherUsersFixtureHome();
  const store = join(home, "profiles", "default", "store.db");
  chmodSync(store, 0o400);
  // a long-lived reader (an agent's library instance) that reads, waits, and reads again
  const reader = `import { Authsome } from ${JSON.stringify(join(ROOT, "dist/index.js"))};
const a = new Authsome({ home: process.argv[1] });
const read = async () => (await a.getConnection("openai")).obtained_at;
console.log(await read());
process.stdin.once("data", async () => { console.log(await read()); await a.close(); });`;
  const child = spawn("setpriv", ["--reuid", String(OTHER_UID), "--regid", String(OTHER_UID), "--clear-groups", process.execPath, "--input-type=module", "-e", reader, home], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  child.stdout.setEncoding("utf8").on("data", (d: string) => lines.push(...d.trim().split("\n")));
  while (lines.length < 1) await new Promise((r) => setTimeout(r, 20));
  // the owner (here root) writes a newer record meanwhile
  const connections = new Connections(new Vault(new Home(home), "default"));
  const record = (await connections.get("openai"))!;
  await connections.put({ ...record, obtained_at: "2030-01-01T00:00:00+00:00" });
  connections.vault.close();
  child.stdin.end("again\n");
  await new Promise((r) => child.on("close", r));
  assert.notEqual(lines[0], "2030-01-01T00:00:00+00:00");
  assert.equal(lines[1], "2030-01-01T00:00:00+00:00", "the second read sees the owner's write");
});
