import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { cliAsync } from "../helpers.js";
import { PROVIDER, freshConnection, homeWithExpiredToken, openConnections } from "./oidc-home.js";
import type { ConnectionRecord } from "../../src/vault/records.js";

// The peer's failNext() only affects /token, so revocation failures come from stand-ins below.
let server: OidcServer;
let failing: Server;
let failingHits = 0;
before(async () => {
  server = await startOidcServer({ accessTokenTtl: 3600 });
  failing = createServer((req, res) => {
    failingHits++;
    req.resume();
    res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "server_error", error_description: "injected failure" }));
  });
  await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
});
after(async () => {
  await server.close();
  await new Promise<void>((resolve) => failing.close(() => resolve()));
});

/** A loopback URL where nothing listens (connection refused). */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/token/revocation`;
}

const isActive = async (token: string | null) => (await server.introspect(token!)).active;

test("logout revokes both tokens at the server, then deletes the connection", async () => {
  const { home, record } = await homeWithExpiredToken(server);
  assert.equal(await isActive(record.refresh_token), true);
  assert.equal(await isActive(record.access_token), true);
  const r = await cliAsync(["logout", PROVIDER, "--json"], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { status: "logged_out", provider: PROVIDER, connection: "default", profile: "default", revoked_remotely: true, warnings: [] });
  assert.equal(await isActive(record.refresh_token), false);
  assert.equal(await isActive(record.access_token), false);
  const connections = openConnections(home);
  assert.equal(await connections.get(PROVIDER), undefined);
  connections.vault.close();
  const log = readFileSync(join(home, "audit.log"), "utf8");
  assert.match(log, /"event":"logout","provider":"localidp","connection":"default","profile":"default","revoked_remotely":true/);
  assert.doesNotMatch(log, new RegExp(`${record.access_token}|${record.refresh_token}`));
});

for (const [name, url] of [
  ["a 500 from the revocation endpoint", () => Promise.resolve(`http://127.0.0.1:${(failing.address() as AddressInfo).port}/revoke`)],
  ["a refused connection", closedPortUrl],
] as const) {
  test(`logout with ${name}: a warning on stderr, exit 0, still deleted locally`, async () => {
    const { home, record } = await homeWithExpiredToken(server, { revocationUrl: await url() });
    const r = await cliAsync(["logout", PROVIDER], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: could not revoke the refresh token of "localidp" \(connection "default"\)/);
    assert.match(r.stderr, /Logged out of localidp/);
    assert.doesNotMatch(r.stderr, new RegExp(`${record.access_token}|${record.refresh_token}|basic-secret`));
    const connections = openConnections(home);
    assert.equal(await connections.get(PROVIDER), undefined);
    connections.vault.close();
  });
}

test("logout with no revocation endpoint says only the local copy went", async () => {
  const { home, record } = await homeWithExpiredToken(server, { revocationUrl: null });
  const r = await cliAsync(["logout", PROVIDER, "--json"], { home });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { revoked_remotely: boolean; warnings: string[] };
  assert.equal(out.revoked_remotely, false);
  assert.match(out.warnings[0]!, /no revocation endpoint: .* only deleted locally/);
  assert.match(r.stderr, /warning: localidp has no revocation endpoint/);
  assert.equal(await isActive(record.refresh_token), true);
});

/** A home with two connections of the provider: "default" (the record returned) and "work" (second). */
async function homeWithTwoConnections(): Promise<{ home: string; record: ConnectionRecord; second: ConnectionRecord }> {
  const { home, record } = await homeWithExpiredToken(server);
  const second = await freshConnection(server, "work");
  const connections = openConnections(home);
  await connections.save(second);
  connections.vault.close();
  return { home, record, second };
}

test("revoke: every connection revoked remotely and deleted, with the client credentials", async () => {
  const { home, record, second } = await homeWithTwoConnections();
  const r = await cliAsync(["revoke", PROVIDER, "--json"], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    status: "revoked",
    provider: PROVIDER,
    profile: "default",
    connections: ["default", "work"],
    client_credentials: true,
    revoked_remotely: true,
    warnings: [],
  });
  for (const rec of [record, second]) {
    assert.equal(await isActive(rec.refresh_token), false);
    assert.equal(await isActive(rec.access_token), false);
  }
  const after = openConnections(home);
  assert.deepEqual(await after.list(PROVIDER), []);
  assert.equal(await after.client(PROVIDER), undefined);
  after.vault.close();
});

test("revoke: one connection left valid at the provider makes revoked_remotely false", async () => {
  const { home, record, second } = await homeWithTwoConnections();
  // the second record cannot be read, so its tokens cannot be revoked: they stay valid at the server
  const db = new Database(join(home, "profiles", "default", "store.db"));
  db.prepare("UPDATE kv SET value = ? WHERE key = ?").run("AAAAAAAAAAAAAAAA.garbage", `profile:default:${PROVIDER}:connection:work`);
  db.close();
  const r = await cliAsync(["revoke", PROVIDER, "--json"], { home });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { connections: string[]; revoked_remotely: boolean; warnings: string[] };
  assert.deepEqual(out.connections, ["default", "work"]);
  assert.equal(out.revoked_remotely, false);
  assert.match(out.warnings.join("\n"), /the connection "work" could not be read, so it was only deleted locally/);
  assert.equal(await isActive(record.refresh_token), false);
  assert.equal(await isActive(second.refresh_token), true);
  assert.match(readFileSync(join(home, "audit.log"), "utf8"), /"event":"revoke".*"revoked_remotely":false/);
});

test("remove is local only: nothing reaches the server, the tokens stay active", async () => {
  const { home, record } = await homeWithExpiredToken(server);
  server.resetCounters();
  const r = await cliAsync(["remove", PROVIDER, "--connection", "default"], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(server.tokenRequests(), 0);
  assert.equal(await isActive(record.refresh_token), true, "no revocation request was made");
  assert.equal(await isActive(record.access_token), true);
});

test("a failing revocation endpoint gets one request per token and nothing is retried", async () => {
  const { home } = await homeWithExpiredToken(server, { revocationUrl: `http://127.0.0.1:${(failing.address() as AddressInfo).port}/revoke` });
  failingHits = 0;
  const r = await cliAsync(["revoke", PROVIDER], { home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(failingHits, 2, "refresh token, then access token");
  assert.equal((r.stderr.match(/warning:/g) ?? []).length, 2);
});

test("logout during another process's refresh waits for it, then revokes the new tokens: nothing comes back", async () => {
  const { home, record } = await homeWithExpiredToken(server);
  server.failNext("slow");
  const refreshing = cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home });
  await new Promise((resolve) => setTimeout(resolve, 500)); // the refresh request is now held at the server
  const out = await cliAsync(["logout", PROVIDER], { home });
  const got = await refreshing;
  assert.equal(got.code, 0, got.stderr);
  assert.equal(out.code, 0, out.stderr);
  const newToken = got.stdout.trim();
  assert.notEqual(newToken, record.access_token, "the refresh finished first");
  assert.equal((await server.introspect(newToken)).active, false, "logout revoked the token the refresh produced");
  const after = await cliAsync(["get", PROVIDER], { home });
  assert.equal(after.code, 5, "the connection stays deleted");
});

test("remove during another process's refresh waits for it: the refreshed connection is not written back", async () => {
  const { home } = await homeWithExpiredToken(server);
  server.failNext("slow");
  const refreshing = cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home });
  await new Promise((resolve) => setTimeout(resolve, 500)); // the refresh request is now held at the server
  const removed = await cliAsync(["remove", PROVIDER, "--connection", "default"], { home });
  assert.equal((await refreshing).code, 0);
  assert.equal(removed.code, 0, removed.stderr);
  const after = await cliAsync(["get", PROVIDER], { home });
  assert.equal(after.code, 5, "the connection stays deleted");
});
