import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";
import { tokenRequest } from "../../src/auth/token-client.js";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { CLI, cliAsync } from "../helpers.js";
import { freshConnection, homeWithExpiredToken as homeWithExpiredTokenAt, openConnections } from "./oidc-home.js";

let server: OidcServer;
before(async () => {
  server = await startOidcServer({ accessTokenTtl: 3600 });
});
after(async () => {
  await server.close();
});

const homeWithExpiredToken = () => homeWithExpiredTokenAt(server);

const getToken = ["get", "localidp", "--field", "access_token", "--show-secret"];

test("50 processes on an expired token: one refresh, 50 identical new tokens the server accepts", async () => {
  const { home, record } = await homeWithExpiredToken();
  server.resetCounters();
  const results = await Promise.all(Array.from({ length: 50 }, () => cliAsync(getToken, { home })));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const tokens = new Set(results.map((r) => r.stdout.trim()));
  assert.equal(tokens.size, 1, "every process printed the same token");
  const [token] = [...tokens];
  assert.notEqual(token, record.access_token);
  assert.equal(server.tokenRequests("refresh_token"), 1, "exactly one refresh reached the token endpoint");
  assert.equal(server.tokenRequestLog()[0]!.basicAuth, true, "client_secret_basic as the definition declares");
  assert.equal((await server.introspect(token!)).active, true);
  assert.equal((await server.userinfo(token!)).status, 200);
  // the rotated refresh token was stored: the old one is dead at the server, the stored one is not
  const connections = new Connections(new Vault(new Home(home), "default"));
  const stored = (await connections.get("localidp"))!;
  assert.notEqual(stored.refresh_token, record.refresh_token);
  assert.equal((await server.introspect(stored.refresh_token!)).active, true);
  assert.equal((await server.introspect(record.refresh_token!)).active, false);
  assert.ok(Date.parse(stored.expires_at!) > Date.now() + 3000_000);
  connections.vault.close();
  // and a valid token is handed out without another request
  assert.equal((await cliAsync(getToken, { home })).stdout.trim(), token);
  assert.equal(server.tokenRequests("refresh_token"), 1);
});

test("a dead refresh token marks the connection invalid and says a new login is needed", async () => {
  const { home, record } = await homeWithExpiredToken();
  // someone else used the single-use refresh token (and threw the result away)
  await tokenRequest({ url: server.tokenEndpoint, grant: { grant_type: "refresh_token", refresh_token: record.refresh_token! }, client: CLIENTS.basic });
  const r = await cliAsync(getToken, { home });
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /no longer valid \(invalid_grant/);
  assert.match(r.stderr, /authsome login localidp --force/);
  assert.equal(r.stdout, "");
  const status = await cliAsync(["get", "localidp", "--field", "status"], { home });
  assert.equal(status.stdout, "invalid\n");
  const again = await cliAsync(getToken, { home });
  assert.equal(again.code, 5);
  assert.match(again.stderr, /is invalid: a new login is needed/);
  const state = JSON.parse((await cliAsync(["list", "--json", "--connected"], { home })).stdout) as { providers: Array<{ connections: Array<{ status: string }> }> };
  assert.equal(state.providers[0]!.connections[0]!.status, "invalid");
});

test("temporary failures keep a still-valid cached token, and fail plainly once it has expired", async () => {
  const { home, record } = await homeWithExpiredToken();
  // the last minute of an hour-long token, inside the refresh window but not expired: the cached token is still handed out
  const connections = new Connections(new Vault(new Home(home), "default"));
  await connections.put({ ...record, obtained_at: new Date(Date.now() - 3540_000).toISOString(), expires_at: new Date(Date.now() + 60_000).toISOString() });
  server.failNext("500");
  const cached = await cliAsync(getToken, { home });
  assert.equal(cached.code, 0, cached.stderr);
  assert.equal(cached.stdout.trim(), record.access_token);
  assert.equal((await connections.get("localidp"))!.status, "connected");

  await connections.put({ ...record, expires_at: new Date(Date.now() - 1000).toISOString() });
  server.failNext("503");
  const failed = await cliAsync(getToken, { home });
  assert.equal(failed.code, 6);
  assert.match(failed.stderr, /refreshing "localidp" \(connection "default"\) failed/);
  assert.match(failed.stderr, /try again shortly/);
  assert.equal((await connections.get("localidp"))!.refresh_token, record.refresh_token, "the grant is kept for the next try");
  // the next try works
  const ok = await cliAsync(getToken, { home });
  assert.equal(ok.code, 0, ok.stderr);
  assert.notEqual(ok.stdout.trim(), record.access_token);
  connections.vault.close();
});

test("an expired token whose OAuth client was removed names the login of that very connection", async () => {
  const { home } = await homeWithExpiredToken();
  const connections = new Connections(new Vault(new Home(home), "default"));
  await connections.save(await freshConnection(server, "work"));
  await connections.deleteClient("localidp");
  connections.vault.close();
  server.resetCounters();
  const r = await cliAsync(["get", "localidp", "--connection", "work", "--field", "access_token", "--show-secret"], { home });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /no OAuth client credentials are stored for "localidp"/);
  assert.match(r.stderr, /hint: run `authsome login localidp --connection work --force` to enter them/);
  assert.equal(r.stdout, "");
  assert.equal(server.tokenRequests("refresh_token"), 0);
});

test("a token that lives less than the refresh window is refreshed once, not on every use by every agent", async () => {
  // 240 s tokens under the default 300 s window: due at half their life instead
  const shortLived = await startOidcServer({ accessTokenTtl: 240 });
  try {
    const { home } = await homeWithExpiredTokenAt(shortLived);
    shortLived.resetCounters();
    const first = await cliAsync(getToken, { home });
    assert.equal(first.code, 0, first.stderr);
    const parallel = await Promise.all(Array.from({ length: 8 }, () => cliAsync(getToken, { home })));
    const after = [await cliAsync(getToken, { home }), await cliAsync(getToken, { home })];
    for (const r of [...parallel, ...after]) assert.equal(r.stdout, first.stdout, r.stderr);
    assert.equal(shortLived.tokenRequests("refresh_token"), 1, "one refresh for the expired token, none for the fresh one");
  } finally {
    await shortLived.close();
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} while a refresh is in flight waits until its rotated token is stored: the connection still works, no new login`, async () => {
    const { home } = await homeWithExpiredToken();
    server.resetCounters();
    server.failNext("slow-answer"); // the refresh token rotates at once; the answer comes 1.5 s later
    const get = spawn(process.execPath, [CLI, ...getToken], { env: { ...process.env, AUTHSOME_HOME: home, NO_COLOR: "1" }, stdio: "ignore" });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => get.on("exit", (_code, sig) => resolve(sig)));
    // the token request has reached the server, which has rotated the refresh token: the new one exists only in the answer on its way
    while (server.pendingFailures() > 0) await new Promise((r) => setTimeout(r, 20));
    get.kill(signal);
    assert.equal(await ended, signal, "ended by the signal, once the tokens were stored");
    const again = await cliAsync(getToken, { home });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await server.introspect(again.stdout.trim())).active, true);
    assert.equal(server.tokenRequests("refresh_token"), 1, "no second refresh: the first one's tokens were stored");
  });
}

test("a second Ctrl-C is not held: a refresh whose token endpoint hangs does not keep the person waiting", async () => {
  const { home } = await homeWithExpiredToken();
  server.failNext("hang");
  const get = spawn(process.execPath, [CLI, ...getToken], { env: { ...process.env, AUTHSOME_HOME: home, NO_COLOR: "1" }, stdio: "ignore" });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => get.on("exit", (_code, sig) => resolve(sig)));
  while (server.pendingFailures() > 0) await new Promise((r) => setTimeout(r, 20));
  get.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 200));
  get.kill("SIGINT");
  // well before the token request's own 30 s limit
  const outcome = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r("still running after 10 s"), 10_000))]);
  get.kill("SIGKILL");
  assert.equal(outcome, "SIGINT");
});

test("a login that replaces a connection while its refresh is in flight wins: the refresh does not write over it", async () => {
  const { home } = await homeWithExpiredToken();
  server.failNext("slow"); // the refresh's token request is answered after 1.5 s
  const get = cliAsync(getToken, { home });
  await new Promise((r) => setTimeout(r, 600));
  // what `login --force` stores at its end, under the profile's write lock (it does not wait for the refresh)
  const login = await freshConnection(server);
  const connections = openConnections(home);
  await connections.save(login);
  const r = await get;
  assert.equal(r.code, 0, r.stderr);
  const stored = (await connections.get("localidp"))!;
  connections.vault.close();
  assert.equal(stored.access_token, login.access_token, "the login's tokens are the ones stored");
  assert.equal(stored.refresh_token, login.refresh_token);
  assert.equal(r.stdout.trim(), login.access_token, "the caller gets the login's token");
  assert.equal(server.tokenRequests("refresh_token") >= 1, true, "the refresh did reach the server (it was in flight)");
});

test("a connection removed while its refresh was failing is not written back (nor its state): the refresh says it was removed", async () => {
  const { home } = await homeWithExpiredToken();
  const store = join(home, "profiles", "default", "store.db");
  // a token endpoint during whose answer the connection is removed, as the Python implementation's logout would (outside our lock)
  const endpoint = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const db = new Database(store);
      db.prepare("DELETE FROM kv WHERE key LIKE 'profile:default:localidp:%'").run();
      db.close();
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_grant" }));
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
  try {
    const file = join(home, "providers", "localidp.json");
    const def = JSON.parse(readFileSync(file, "utf8"));
    def.oauth.token_url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token`;
    writeFileSync(file, JSON.stringify(def));
    const r = await cliAsync(getToken, { home });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /the connection "default" of "localidp" was removed/);
    const db = new Database(store, { readonly: true });
    const left = db.prepare("SELECT key FROM kv WHERE key LIKE 'profile:default:localidp:%'").all();
    db.close();
    assert.deepEqual(left, [], "no record came back");
  } finally {
    endpoint.close();
  }
});
