import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync } from "node:fs";
import { Home } from "../../src/home/home.js";
import { Vault } from "../../src/vault/store.js";
import { Connections } from "../../src/vault/connections.js";
import { newConnection } from "../../src/vault/records.js";
import { open, seal } from "../../src/vault/envelope.js";
import { FIXTURE_EXPECTED, SYSTEM_PYTHON, fixtureHome } from "../helpers.js";

const expected = JSON.parse(readFileSync(FIXTURE_EXPECTED, "utf8")) as { profiles: Record<string, Record<string, unknown>> };

test("every record of the Python-written store reads exactly as in expected.json", async () => {
  const home = new Home(fixtureHome());
  for (const [profile, records] of Object.entries(expected.profiles)) {
    const vault = new Vault(home, profile);
    const all = await vault.list(`profile:${profile}:`);
    assert.deepEqual(all.map((e) => e.key).sort(), Object.keys(records).sort(), `keys of profile ${profile}`);
    for (const [key, record] of Object.entries(records)) {
      assert.deepEqual(await vault.get(key), record, key);
    }
    vault.close();
  }
});

/** An independent implementation of the envelope: Python's cryptography package (AESGCM). */
function pythonDecrypt(keyB64: string, sealed: string[]): string[] {
  const script = `
import base64, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
data = json.load(sys.stdin)
key = base64.b64decode(data["key"])
out = []
for value in data["values"]:
    nonce, body = value.split(".", 1)
    out.append(AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(body), None).decode())
print(json.dumps(out))
`;
  const r = spawnSync(SYSTEM_PYTHON, ["-c", script], { input: JSON.stringify({ key: keyB64, values: sealed }), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

test("records written here decrypt with Python's AESGCM, and Python's envelope opens here", async () => {
  const root = fixtureHome();
  const home = new Home(root);
  const connections = new Connections(new Vault(home, "default"));
  await connections.save(
    newConnection({ provider: "resend", profile: "default", connection_name: "ts", auth_type: "api_key", api_key: "re_written_by_typescript" }),
  );
  const sealed = connections.vault.kv.get("profile:default:resend:connection:ts")!;
  const keyB64 = (JSON.parse(readFileSync(home.paths.masterKey, "utf8")) as { key: string }).key;
  const [plain] = pythonDecrypt(keyB64, [sealed]);
  const record = JSON.parse(plain!) as Record<string, unknown>;
  assert.equal(record.api_key, "re_written_by_typescript");
  assert.equal(record.schema_version, 2);
  assert.match(String(record.obtained_at), /Z$/, "timestamps carry a timezone");
  // the provider metadata now lists both connections and keeps the Python default
  const meta = await connections.metadata("resend");
  assert.deepEqual(meta?.connection_names, ["default", "bulk", "ts"]);
  assert.equal(meta?.default_connection, "default");

  // and the other direction, with a value sealed by Python
  const key = Buffer.from(keyB64, "base64");
  const r = spawnSync(SYSTEM_PYTHON, ["-c", `
import base64, os
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = base64.b64decode("${keyB64}")
nonce = os.urandom(12)
print(base64.b64encode(nonce).decode() + "." + base64.b64encode(AESGCM(key).encrypt(nonce, b'{"x": 1}', None)).decode())
`], { encoding: "utf8" });
  assert.equal(open(key, r.stdout.trim()), '{"x": 1}');
  connections.vault.close();
});

test("the envelope is the documented format and rejects tampering", () => {
  const key = Buffer.alloc(32, 7);
  const sealed = seal(key, "hello");
  const [nonce, body] = sealed.split(".");
  assert.equal(Buffer.from(nonce!, "base64").length, 12);
  assert.equal(Buffer.from(body!, "base64").length, 5 + 16);
  assert.equal(open(key, sealed), "hello");
  const tampered = `${nonce}.${Buffer.from(Buffer.from(body!, "base64").map((b, i) => (i === 0 ? b ^ 1 : b))).toString("base64")}`;
  assert.throws(() => open(key, tampered));
  assert.throws(() => open(Buffer.alloc(32, 8), sealed));
});

test("a new home is private: directories 0700, files 0600", async () => {
  const root = fixtureHome() + "-new";
  const home = new Home(root);
  const connections = new Connections(new Vault(home, "default"));
  await connections.save(newConnection({ provider: "openai", profile: "default", connection_name: "default", auth_type: "api_key", api_key: "sk-x" }));
  connections.vault.close();
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(root), 0o700);
  assert.equal(mode(home.paths.profile("default")), 0o700);
  for (const file of [home.paths.masterKey, home.paths.config, home.paths.store("default"), home.paths.lock("default"), home.paths.profileMetadata("default")]) {
    assert.equal(mode(file), 0o600, file);
  }
  assert.equal(readFileSync(home.paths.version, "utf8"), "2\n");
});

test("a Python home made under a wide umask is narrowed: the master key when read, the store before it is written", async () => {
  const root = fixtureHome();
  const home = new Home(root);
  const mode = (p: string) => statSync(p).mode & 0o777;
  for (const file of [home.paths.masterKey, home.paths.store("default")]) chmodSync(file, 0o644);
  const connections = new Connections(new Vault(home, "default"));
  assert.ok((await connections.list("github")).length > 0, "read as before");
  assert.equal(mode(home.paths.masterKey), 0o600);
  assert.equal(mode(home.paths.store("default")), 0o644, "a read changes nothing in the store");
  await connections.save(newConnection({ provider: "openai", profile: "default", connection_name: "narrowed", auth_type: "api_key", api_key: "sk-x" }));
  connections.vault.close();
  assert.equal(mode(home.paths.store("default")), 0o600);
});

test("OAuth 1.0a and app-only connections are stored with an auth_type the Python reader knows, and read back as what they are", async () => {
  const root = fixtureHome();
  const home = new Home(root);
  const connections = new Connections(new Vault(home, "default"));
  await connections.save(newConnection({ provider: "x", profile: "default", connection_name: "v1", auth_type: "oauth1", access_token: "t", token_secret: "s" }));
  await connections.save(newConnection({ provider: "x", profile: "default", connection_name: "app", auth_type: "app_only", access_token: "b" }));
  const keyB64 = (JSON.parse(readFileSync(home.paths.masterKey, "utf8")) as { key: string }).key;
  const raw = pythonDecrypt(keyB64, ["v1", "app"].map((c) => connections.vault.kv.get(`profile:default:x:connection:${c}`)!)).map((p) => JSON.parse(p) as { auth_type: string; metadata: Record<string, unknown> });
  // store-format.md: auth_type is "oauth2" or "api_key"; what else this project keeps goes into metadata
  assert.deepEqual(raw.map((r) => [r.auth_type, r.metadata.authsome_auth_type]), [["oauth2", "oauth1"], ["oauth2", "app_only"]]);
  assert.equal((await connections.get("x", "v1"))!.auth_type, "oauth1");
  assert.deepEqual((await connections.get("x", "v1"))!.metadata, {}, "the marker stays in the store");
  const listed = (await connections.list("x")).filter((e) => ["v1", "app"].includes(e.connection));
  assert.deepEqual(listed.map((e) => e.record!.auth_type).sort(), ["app_only", "oauth1"]);
  // a record an earlier version wrote with its own kind as auth_type still reads as that kind
  await connections.vault.write([["profile:default:x:connection:old", { ...(await connections.get("x", "v1"))!, connection_name: "old" }]]);
  assert.equal((await connections.get("x", "old"))!.auth_type, "oauth1");
  connections.vault.close();
});
