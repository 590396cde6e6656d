// keyring mode against a real Secret Service (gnome-keyring on a private bus): the master key is
// kept there and nowhere on disk, where the Python implementation's keyring library finds it, and
// agents making their first logins at the same moment end up with one key between them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_PYTHON, cli, cliAsync, emptyHome } from "../helpers.js";
import { startSecretService, type SecretService } from "../peers/secret-service.js";

// what Python authsome does in keyring mode: keyring.get_password("authsome", "master_key"), then
// AES-256-GCM over the record (store-format.md)
const PYTHON_READ = `
import base64, json, os, sqlite3, sys, keyring
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
home, key_name = sys.argv[1:3]
key = base64.b64decode(keyring.get_password("authsome", "master_key"))
db = sqlite3.connect(os.path.join(home, "profiles", "default", "store.db"))
(value,) = db.execute("SELECT value FROM kv WHERE key = ?", (key_name,)).fetchone()
nonce, body = value.split(".", 1)
print(json.loads(AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(body), None))["api_key"])
`;

let keyring: SecretService;
before(async () => {
  keyring = await startSecretService();
});
after(async () => {
  await keyring.close();
});

function keyringHome(): string {
  const home = emptyHome();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "config.json"), JSON.stringify({ spec_version: 1, default_profile: "default", encryption: { mode: "keyring" } }));
  return home;
}

const apiKey = (n: number) => `sk-keyring${n}-${"k".repeat(32)}`;

test("keyring mode keeps the master key in the Secret Service, nowhere on disk, where Python's keyring library reads it", () => {
  const home = keyringHome();
  const login = cli(["login", "openai"], { home, env: { ...keyring.env, OPENAI_API_KEY: apiKey(0) } });
  assert.equal(login.code, 0, login.stderr);
  assert.equal(existsSync(join(home, "master.key")), false);
  const get = cli(["get", "openai", "--field", "api_key", "--show-secret"], { home, env: keyring.env });
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout.trim(), apiKey(0));
  const python = execFileSync(SYSTEM_PYTHON, ["-c", PYTHON_READ, home, "profile:default:openai:connection:default"], { env: { ...process.env, ...keyring.env }, encoding: "utf8" });
  assert.equal(python.trim(), apiKey(0));
});

test("first logins made at the same moment in keyring mode, each in a profile of its own, share one master key: every credential reads back", async () => {
  // a keyring of its own, without the key the test above made (one key serves every home in keyring mode)
  const own = await startSecretService();
  try {
    const home = keyringHome();
    const profiles = Array.from({ length: 6 }, (_, i) => `p${i}`);
    for (const p of profiles) assert.equal(cli(["profile", "create", p], { home }).code, 0);
    // each profile's writes are serialized by its own lock, not by the others'
    const logins = await Promise.all(profiles.map((p, i) => cliAsync(["login", "openai", "--profile", p], { home, env: { ...own.env, OPENAI_API_KEY: apiKey(i) } })));
    for (const r of logins) assert.equal(r.code, 0, r.stderr);
    for (const [i, p] of profiles.entries()) {
      const get = cli(["get", "openai", "--profile", p, "--field", "api_key", "--show-secret"], { home, env: own.env });
      assert.equal(get.code, 0, `profile ${p}: ${get.stderr}`);
      assert.equal(get.stdout.trim(), apiKey(i));
    }
  } finally {
    await own.close();
  }
});
