// Tokens through the proxy against a real OAuth 2.0 server (oidc-provider): refreshed before
// they expire, refreshed once and retried after an upstream 401, and failing closed (502,
// never the placeholder forwarded) when no credential can be produced.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { startTlsPeer, type TlsPeer } from "../peers/tls-server.js";
import { cliAsync } from "../helpers.js";
import { homeWithExpiredToken, openConnections, PROVIDER } from "../auth/oidc-home.js";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";

const HOST = "api.localidp.test";
let oidc: OidcServer;
let peer: TlsPeer;

before(async () => {
  oidc = await startOidcServer({ accessTokenTtl: 3600 });
  // the API accepts exactly the tokens the authorization server says are active
  peer = await startTlsPeer({
    hosts: [HOST],
    authorize: async (req) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!token) return 401;
      return (await oidc.introspect(token)).active ? undefined : 401;
    },
  });
});
after(async () => {
  await peer.close();
  await oidc.close();
});

async function home(): Promise<string> {
  const { home } = await homeWithExpiredToken(oidc);
  const file = join(home, "providers", `${PROVIDER}.json`);
  const def = JSON.parse(readFileSync(file, "utf8"));
  def.routes = [{ host: HOST }];
  writeFileSync(file, JSON.stringify(def));
  return home;
}

const run = (h: string, command: string[]) =>
  cliAsync(["run", "--resolve", `${HOST}:443:127.0.0.1:${peer.port}`, "--upstream-ca", peer.caFile, "--", ...command], { home: h });

const curl = (path: string) => ["curl", "-sS", "-w", "\n%{http_code}", `https://${HOST}${path}`];

test("an expired token is refreshed before the request goes out", async () => {
  const h = await home();
  oidc.resetCounters();
  const twice = `for p in expired-1 expired-2; do curl -sS -o /dev/null -w '%{http_code} ' https://${HOST}/$p; done`;
  const r = await run(h, ["sh", "-c", twice]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "200 200 ");
  assert.equal(oidc.tokenRequests("refresh_token"), 1, "one refresh for both requests");
  const stored = (await openConnections(h).get(PROVIDER))!;
  const sent = peer.requests.filter((q) => q.path.startsWith("/expired-")).map((q) => q.headers.authorization);
  assert.deepEqual(sent, [`Bearer ${stored.access_token}`, `Bearer ${stored.access_token}`]);
});

test("an upstream 401 on a small request: one refresh, one retry, the child sees only the success", async () => {
  const h = await home();
  // a token that looks valid for an hour but the server no longer accepts
  const connections = openConnections(h);
  const record = (await connections.get(PROVIDER))!;
  await connections.put({ ...record, access_token: "revoked-access-token", expires_at: new Date(Date.now() + 3600_000).toISOString() });
  connections.vault.close();
  oidc.resetCounters();
  peer.clear();
  const r = await run(h, ["curl", "-sS", "-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "-d", '{"n":1}', `https://${HOST}/retry`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n200$/);
  const attempts = peer.requests.filter((q) => q.path === "/retry");
  assert.equal(attempts.length, 2);
  assert.equal(attempts[0]!.headers.authorization, "Bearer revoked-access-token");
  assert.notEqual(attempts[1]!.headers.authorization, "Bearer revoked-access-token");
  assert.equal(attempts[1]!.body, '{"n":1}', "the held body was sent again");
  assert.equal(oidc.tokenRequests("refresh_token"), 1);
});

test("no credential: 502 with a JSON body naming the provider and the login command; nothing forwarded", async () => {
  const h = await home();
  const connections = openConnections(h);
  const record = (await connections.get(PROVIDER))!;
  await connections.put({ ...record, status: "revoked" });
  connections.vault.close();
  peer.clear();
  const r = await run(h, curl("/fail-closed"));
  assert.equal(r.code, 0, r.stderr);
  const [body, status] = r.stdout.split("\n");
  assert.equal(status, "502");
  const json = JSON.parse(body!);
  assert.equal(json.provider, PROVIDER);
  assert.match(json.hint, /authsome login localidp/);
  assert.equal(json.login, "authsome login localidp");
  assert.equal(peer.requests.length, 0, "the request never left with the placeholder");

  // in another profile, the login it names is that profile's
  assert.equal((await cliAsync(["profile", "create", "work"], { home: h })).code, 0);
  const work = new Connections(new Vault(new Home(h), "work"));
  await work.put({ ...record, profile: "work", status: "revoked" });
  work.vault.close();
  const other = await cliAsync(["--profile", "work", "run", "--resolve", `${HOST}:443:127.0.0.1:${peer.port}`, "--upstream-ca", peer.caFile, "--", ...curl("/fail-closed")], { home: h });
  assert.equal(JSON.parse(other.stdout.split("\n")[0]!).login, "authsome login localidp --profile work");
});

test("four agents, each behind its own `authsome run`, whose token needs a refresh at the same moment: one refresh, and every request carries the one new token", async () => {
  const h = await home();
  // an hour-long token, valid when the runs start; inside the 300 s refresh window a few seconds later, when every agent sends at once
  const connections = openConnections(h);
  const record = (await connections.get(PROVIDER))!;
  await connections.put({ ...record, obtained_at: new Date(Date.now() - 3600_000).toISOString(), expires_at: new Date(Date.now() + 300_000 + 3000).toISOString() });
  connections.vault.close();
  oidc.resetCounters();
  peer.clear();
  const at = Date.now() + 4000;
  const agent = (n: number) =>
    `"${process.execPath}" -e 'setTimeout(() => {}, ${at} - Date.now())'; for i in 1 2 3; do curl -sS -o /dev/null -w '%{http_code} ' https://${HOST}/parallel-${n}-$i & done; wait`;
  const results = await Promise.all([1, 2, 3, 4].map((n) => run(h, ["sh", "-c", agent(n)])));
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "200 200 200 ");
  }
  assert.equal(oidc.tokenRequests("refresh_token"), 1, "one refresh for all four agents");
  const stored = (await openConnections(h).get(PROVIDER))!;
  assert.notEqual(stored.access_token, record.access_token);
  const sent = peer.requests.filter((q) => q.path.startsWith("/parallel-")).map((q) => q.headers.authorization);
  assert.equal(sent.length, 12);
  assert.deepEqual([...new Set(sent)], [`Bearer ${stored.access_token}`]);
});
