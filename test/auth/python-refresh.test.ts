// The Python implementation shares the store and may refresh the same connection. Python authsome
// cannot be installed here (no PyPI), so this script does what its refresh does, from the store
// format alone: read the record, POST the refresh grant, write the new record under the profile
// flock, with Python's own timestamp style (+00:00). Both sides must keep working on one store.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { SYSTEM_PYTHON, cliAsync } from "../helpers.js";
import { PROVIDER, homeWithExpiredToken, openConnections } from "./oidc-home.js";

const PYTHON_REFRESH = `
import base64, datetime, fcntl, json, os, sqlite3, sys, urllib.parse, urllib.request
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
home, key_name, token_url, client_id, client_secret = sys.argv[1:6]
key = base64.b64decode(json.load(open(os.path.join(home, "master.key")))["key"])
profile_dir = os.path.join(home, "profiles", "default")
db = sqlite3.connect(os.path.join(profile_dir, "store.db"))
def read():
    (value,) = db.execute("SELECT value FROM kv WHERE key = ?", (key_name,)).fetchone()
    nonce, body = value.split(".", 1)
    return json.loads(AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(body), None))
record = read()
form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": record["refresh_token"]}).encode()
basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
request = urllib.request.Request(token_url, data=form, headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
tokens = json.load(urllib.request.urlopen(request))
now = datetime.datetime.now(datetime.timezone.utc)
record.update(access_token=tokens["access_token"], refresh_token=tokens.get("refresh_token", record["refresh_token"]),
              obtained_at=now.isoformat(), expires_at=(now + datetime.timedelta(seconds=tokens["expires_in"])).isoformat(), status="connected")
with open(os.path.join(profile_dir, "lock"), "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    nonce = os.urandom(12)
    sealed = base64.b64encode(nonce).decode() + "." + base64.b64encode(AESGCM(key).encrypt(nonce, json.dumps(record, separators=(",", ":")).encode(), None)).decode()
    db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key_name, sealed))
    db.commit()
    fcntl.flock(lock, fcntl.LOCK_UN)
print(tokens["access_token"])
`;

let server: OidcServer;
before(async () => {
  server = await startOidcServer();
});
after(async () => {
  await server.close();
});

/** Asynchronous: the authorization server runs in this process and must keep answering. */
async function pythonRefresh(home: string): Promise<string> {
  const args = ["-c", PYTHON_REFRESH, home, `profile:default:${PROVIDER}:connection:default`, server.tokenEndpoint, CLIENTS.basic.clientId, CLIENTS.basic.clientSecret];
  const { stdout } = await promisify(execFile)(SYSTEM_PYTHON, args, { encoding: "utf8" });
  return stdout.trim();
}

const getToken = (home: string, env: Record<string, string> = {}) =>
  cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home, env });

test("a refresh by the Python implementation and one by this one alternate on one connection, each using the other's rotated token", async () => {
  const { home } = await homeWithExpiredToken(server);

  // Python refreshes first: this side hands out Python's token without refreshing again.
  const fromPython = await pythonRefresh(home);
  server.resetCounters();
  const seen = await getToken(home);
  assert.equal(seen.code, 0, seen.stderr);
  assert.equal(seen.stdout.trim(), fromPython);
  assert.equal(server.tokenRequests(), 0, "a fresh token written by Python is used as it is");
  assert.equal((await server.introspect(fromPython)).active, true);
  const list = await cliAsync(["get", PROVIDER, "--json"], { home });
  assert.equal(list.code, 0, list.stderr);

  // This side refreshes (the stored token made to look expired), using the refresh token Python stored.
  const store = openConnections(home);
  const pythons = (await store.get(PROVIDER, "default"))!;
  await store.put({ ...pythons, expires_at: new Date(Date.now() - 1000).toISOString() });
  store.vault.close();
  const ours = await getToken(home);
  assert.equal(ours.code, 0, ours.stderr);
  assert.notEqual(ours.stdout.trim(), fromPython);
  assert.equal(server.tokenRequests("refresh_token"), 1);

  // Python refreshes again, from the refresh token this side rotated and stored.
  const again = await pythonRefresh(home);
  assert.equal((await server.introspect(again)).active, true);
  const final = await getToken(home);
  assert.equal(final.stdout.trim(), again);
  const record = await openConnections(home).get(PROVIDER, "default");
  assert.equal(record?.status, "connected");
  assert.match(String(record?.expires_at), /\+00:00$/, "Python's timestamp style is read as it is");
});
