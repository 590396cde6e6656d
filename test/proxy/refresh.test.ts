// Tokens through the proxy against a real OAuth 2.0 server (oidc-provider): refreshed before
// they expire, refreshed once and retried after an upstream 401, and failing closed (502,
// never the placeholder forwarded) when no credential can be produced.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { startTlsPeer, type TlsPeer } from "../peers/tls-server.js";
import { cliAsync, tempDir, type CliResult } from "../helpers.js";
import { freshConnection, homeWithExpiredToken, openConnections, PROVIDER } from "../auth/oidc-home.js";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";

const HOST = "api.localidp.test";
let oidc: OidcServer;
let peer: TlsPeer;
/** Tokens the service refuses although the authorization server still says they are active. */
const revokedAtService = new Set<string>();

before(async () => {
  oidc = await startOidcServer({ accessTokenTtl: 3600 });
  // the API accepts exactly the tokens the authorization server says are active
  peer = await startTlsPeer({
    hosts: [HOST],
    authorize: async (req) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!token || req.url?.startsWith("/forbidden-to-all") || revokedAtService.has(token)) return 401;
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

test("four agents, each behind its own `authsome run`, whose token needs a refresh at the same moment: one refresh, and every request carries the still-valid token or the one new token", async () => {
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
  // the still-valid token goes out while the refresh runs (the service accepted every request)
  const sent = peer.requests.filter((q) => q.path.startsWith("/parallel-")).map((q) => q.headers.authorization);
  assert.equal(sent.length, 12);
  for (const auth of sent) assert.ok([`Bearer ${record.access_token}`, `Bearer ${stored.access_token}`].includes(auth!), "the old or the one new token");
});

/** A connection whose hour-long token the store says expires in `seconds`: due for a refresh (300 s window) but still valid. */
async function dueButValid(h: string, seconds: number): Promise<string> {
  const connections = openConnections(h);
  const record = await freshConnection(oidc);
  await connections.put({ ...record, obtained_at: new Date(Date.now() - 3400_000).toISOString(), expires_at: new Date(Date.now() + seconds * 1000).toISOString() });
  connections.vault.close();
  return record.access_token!;
}

test("a token endpoint that hangs stalls no request while the token is still valid: it is sent meanwhile", async () => {
  const h = await home();
  const token = await dueButValid(h, 200);
  oidc.resetCounters();
  peer.clear();
  oidc.failNext("hang", 1);
  // each request must be answered within 10 s (the hung refresh would hold it for its 30 s timeout)
  const three = `for p in 1 2 3; do curl -sS --max-time 10 -o /dev/null -w '%{http_code} ' https://${HOST}/while-hung-$p; done`;
  const r = await run(h, ["sh", "-c", three]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "200 200 200 ");
  assert.deepEqual(peer.requests.map((q) => q.headers.authorization), [`Bearer ${token}`, `Bearer ${token}`, `Bearer ${token}`]);
  assert.equal(oidc.tokenRequests("refresh_token"), 1, "one refresh tried, not one per request");
});

test("a failing token endpoint is not asked again on every request: the next try waits", async () => {
  const h = await home(); // its token has expired: nothing can be sent without a refresh
  oidc.resetCounters();
  peer.clear();
  // one failure: a second try, had it been made, would have succeeded and been seen as a 200
  oidc.failNext("503", 1);
  const five = ["curl", "-sS", "-w", "%{http_code} ", ...[1, 2, 3, 4, 5].flatMap((n) => ["-o", "/dev/null", `https://${HOST}/failing-${n}`])];
  const r = await run(h, five);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "502 502 502 502 502 ");
  assert.equal(peer.requests.length, 0, "nothing forwarded without a credential");
  assert.equal(oidc.tokenRequests("refresh_token"), 1, "one try; the others within its pause are refused at once");
});

test("a 401 that a new token does not cure is passed on: one refresh, not one per request", async () => {
  const h = await home();
  await dueButValid(h, 3000); // fresh: the refreshes counted are the 401's
  oidc.resetCounters();
  const three = `for p in 1 2 3; do curl -sS -o /dev/null -w '%{http_code} ' https://${HOST}/forbidden-to-all-$p; done`;
  const r = await run(h, ["sh", "-c", three]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "401 401 401 ");
  assert.equal(oidc.tokenRequests("refresh_token"), 1);
});

/**
 * A run whose child makes one request per named path, and between two waits for the test to say
 * go on (`between(n)` is the test's part after the n-th request, from 1).
 */
async function runInSteps(h: string, paths: string[], between: (n: number) => Promise<void>): Promise<CliResult> {
  const dir = tempDir();
  const file = (n: number, what: string) => join(dir, `${what}-${n}`);
  const request = (path: string) => `curl -sS -o /dev/null -w '%{http_code} ' https://${HOST}/${path}`;
  const script = paths.flatMap((path, i) => [request(path), ...(i + 1 < paths.length ? [`touch ${file(i + 1, "done")}`, `while [ ! -e ${file(i + 1, "go")} ]; do sleep 0.05; done`] : [])]).join("; ");
  const running = run(h, ["sh", "-c", script]);
  for (let n = 1; n < paths.length; n++) {
    while (!existsSync(file(n, "done"))) await new Promise((r) => setTimeout(r, 50));
    await between(n);
    writeFileSync(file(n, "go"), "");
  }
  return running;
}

test("a token the service refuses twice within a minute (revoked there, not at the server): each 401 gets one refresh and a retry", async () => {
  const h = await home();
  const first = await dueButValid(h, 3000);
  oidc.resetCounters();
  peer.clear();
  const sentLast = () => peer.requests.at(-1)!.headers.authorization!.replace(/^Bearer /, "");
  const r = await runInSteps(h, ["one", "two", "three"], async () => void revokedAtService.add(sentLast()));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "200 200 200 ");
  assert.equal(oidc.tokenRequests("refresh_token"), 2);
  assert.equal(peer.requests[0]!.headers.authorization, `Bearer ${first}`);
});

test("a 401 while the token endpoint fails: the 401 is passed on, and the endpoint is not asked again on every request", async () => {
  const h = await home();
  const first = await dueButValid(h, 3000);
  revokedAtService.add(first);
  oidc.resetCounters();
  oidc.failNext("503", 1); // one failure: a second try, had it been made, would have cured the next 401
  const three = ["curl", "-sS", "-w", "%{http_code} ", ...[1, 2, 3].flatMap((n) => ["-o", "/dev/null", `https://${HOST}/refused-${n}`])];
  const r = await run(h, three);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "401 401 401 ");
  assert.equal(oidc.tokenRequests("refresh_token"), 1);
});

test("a login or logout by another process while a run goes on: the next requests carry the new token, then fail closed", async () => {
  const h = await home();
  const first = await dueButValid(h, 3000);
  peer.clear();
  const second = { ...(await freshConnection(oidc)), expires_at: new Date(Date.now() + 3600_000).toISOString() };
  const r = await runInSteps(h, ["before", "after-login", "after-logout"], async (n) => {
    if (n === 1) {
      // another process logs in anew (login --force): a new grant replaces the connection
      const connections = openConnections(h);
      await connections.put(second);
      connections.vault.close();
    } else assert.equal((await cliAsync(["logout", PROVIDER], { home: h })).code, 0);
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "200 200 502 ");
  assert.deepEqual(
    peer.requests.map((q) => [q.path, q.headers.authorization]),
    [["/before", `Bearer ${first}`], ["/after-login", `Bearer ${second.access_token}`]],
    "after the logout nothing is forwarded",
  );
});
