// The library's fetch and getAuthHeaders: the credential goes only to the provider's routes,
// a 401 is cured by one refresh when the body can be sent again, OAuth 1.0a signs each request.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliAsync, ROOT } from "../helpers.js";
import { openConnections } from "../auth/oidc-home.js";
import { libHome, PROVIDER, startRecorder, type Recorder } from "./fixtures.js";
import { Authsome, signOAuth1Request, UsageError } from "../../src/index.js";
import { newConnection } from "../../src/vault/records.js";

let server: OidcServer;
let recorder: Recorder;
/** The next answers of the recorder, by status (then 200). */
const answers: number[] = [];
before(async () => {
  server = await startOidcServer();
  recorder = await startRecorder((req, res) => {
    if (req.url.startsWith("/redirect-away")) return res.writeHead(302, { location: `http://localhost:${recorder.port}/landed` }).end();
    if (req.url.startsWith("/redirect-home")) return res.writeHead(307, { location: "/landed-home" }).end();
    if (req.url.startsWith("/redirect-data")) return res.writeHead(302, { location: "data:text/plain,hi" }).end();
    if (req.url.startsWith("/redirect-to-401")) return res.writeHead(302, { location: `http://localhost:${recorder.port}/unauthorized` }).end();
    if (req.url.startsWith("/unauthorized")) return res.writeHead(401).end();
    const status = answers.shift() ?? 200;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ status }));
  });
});
after(async () => {
  await recorder.close();
  await server.close();
});

const routed = () => [{ host: `127.0.0.1:${recorder.port}` }];

test("fetch refreshes an expired token once, then sends it to a routed URL in place of the caller's", async () => {
  const { home, record } = await libHome(server, { routes: routed() });
  const a = new Authsome({ home });
  server.resetCounters();
  recorder.requests.length = 0;
  const res = await a.fetch(PROVIDER, `${recorder.origin}/v1/items?page=2`, {
    method: "POST",
    headers: { authorization: "Bearer placeholder", "content-type": "application/json", "x-mine": "kept" },
    body: JSON.stringify({ a: 1 }),
  });
  assert.equal(res.status, 200);
  assert.equal(server.tokenRequests("refresh_token"), 1);
  const [sent] = recorder.requests;
  const token = await a.getAccessToken(PROVIDER);
  assert.notEqual(token, record!.access_token);
  assert.equal(sent!.headers.authorization, `Bearer ${token}`);
  assert.equal(sent!.headers["x-mine"], "kept");
  assert.equal(sent!.method, "POST");
  assert.equal(sent!.url, "/v1/items?page=2");
  assert.equal(sent!.body, '{"a":1}');
  // the same token the CLI hands out
  assert.equal((await cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home })).stdout.trim(), token);
  assert.equal(server.tokenRequests("refresh_token"), 1);
  // a Request object works too
  await a.fetch(PROVIDER, new Request(`${recorder.origin}/req`, { method: "PUT", body: "x" }));
  assert.equal(recorder.requests.at(-1)!.headers.authorization, `Bearer ${token}`);
  assert.equal(recorder.requests.at(-1)!.body, "x");
  await a.close();
});

test("fetch refuses a host the provider does not route, a look-alike, plain http and auth endpoints, sending nothing", async () => {
  // the whole oidc host is routed here: its token endpoint is refused for being an auth endpoint
  const { home } = await libHome(server, { routes: [...routed(), { host: "api.example.test" }, { host: `127.0.0.1:${server.port}` }] });
  const a = new Authsome({ home });
  server.resetCounters();
  recorder.requests.length = 0;
  const refused = [
    `http://localhost:${recorder.port}/v1`, // the very same server, under a name that is not routed
    `http://127.0.0.1:${recorder.port + 1}/v1`, // another port
    `http://127.0.0.1.evil.test:${recorder.port}/v1`,
    "https://api.example.test.evil.test/v1",
    "https://evil-api.example.test/v1",
    "http://api.example.test/v1", // a routed host, but not over https
    server.tokenEndpoint, // never a credential to the token endpoint
    server.revocationEndpoint,
  ];
  for (const url of refused) {
    await assert.rejects(a.fetch(PROVIDER, url), (err: unknown) => {
      assert.ok(err instanceof UsageError, url);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /refusing to send the credential of "localidp"/);
      assert.match(err.hint ?? "", /its routes: 127\.0\.0\.1:\d+\/me/);
      return true;
    });
  }
  assert.equal(recorder.requests.length, 0, "nothing reached the server");
  assert.equal(server.tokenRequests(), 0, "not even a refresh");
  // a URL with a password in it: refused without repeating the password (fetch's own error would)
  await assert.rejects(a.fetch(PROVIDER, `http://user:pw-SECRET@127.0.0.1:${recorder.port}/v1`), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /may not carry a user name or password: http:\/\/127\.0\.0\.1:\d+\/v1$/);
    return true;
  });
  assert.equal(recorder.requests.length, 0);
  await a.close();
});

test("redirects: the credential follows to routed URLs only", async () => {
  const { home } = await libHome(server, { routes: routed(), valid: true });
  const a = new Authsome({ home });
  recorder.requests.length = 0;
  const away = await a.fetch(PROVIDER, `${recorder.origin}/redirect-away`, { headers: { "x-mine": "1", cookie: "session=mine", "proxy-authorization": "Basic bWluZQ==" } });
  assert.equal(away.status, 200);
  assert.equal(away.redirected, true);
  const [first, landed] = recorder.requests;
  assert.ok(first!.headers.authorization?.startsWith("Bearer "));
  assert.equal(first!.headers.cookie, "session=mine");
  assert.equal(landed!.url, "/landed");
  assert.equal(landed!.host, `localhost:${recorder.port}`);
  assert.equal(landed!.headers.authorization, undefined, "no credential to a host that is not routed");
  // nor the caller's own credentials to another origin, as fetch drops them; other headers go on
  assert.equal(landed!.headers.cookie, undefined);
  assert.equal(landed!.headers["proxy-authorization"], undefined);
  assert.equal(landed!.headers["x-mine"], "1");
  // a redirect out of http(s) is a network error, as it is for fetch
  await assert.rejects(a.fetch(PROVIDER, `${recorder.origin}/redirect-data`), TypeError);
  // a 401 from where a redirect led (no credential went there) is not the token's fault: no refresh
  server.resetCounters();
  assert.equal((await a.fetch(PROVIDER, `${recorder.origin}/redirect-to-401`, { method: "POST", body: "x" })).status, 401);
  assert.equal(server.tokenRequests("refresh_token"), 0);

  recorder.requests.length = 0;
  const home307 = await a.fetch(PROVIDER, `${recorder.origin}/redirect-home`, { method: "POST", body: "payload" });
  assert.equal(home307.status, 200);
  assert.equal(recorder.requests[1]!.url, "/landed-home");
  assert.equal(recorder.requests[1]!.body, "payload");
  assert.equal(recorder.requests[1]!.headers.authorization, recorder.requests[0]!.headers.authorization);

  const manual = await a.fetch(PROVIDER, `${recorder.origin}/redirect-away`, { redirect: "manual" });
  assert.equal(manual.status, 302);
  assert.equal(manual.redirected, false);
  await a.close();
});

test("a 401 is answered by one refresh and one retry with the same body; a stream body is not retried", async () => {
  const { home, record } = await libHome(server, { routes: routed(), valid: true });
  const a = new Authsome({ home });
  server.resetCounters();
  recorder.requests.length = 0;
  answers.push(401);
  const res = await a.fetch(PROVIDER, `${recorder.origin}/retry`, { method: "POST", body: new URLSearchParams({ q: "1 2" }) });
  assert.equal(res.status, 200);
  assert.equal(server.tokenRequests("refresh_token"), 1, "one forced refresh of an unexpired token");
  const [rejected, retried] = recorder.requests;
  assert.equal(rejected!.headers.authorization, `Bearer ${record!.access_token}`);
  assert.notEqual(retried!.headers.authorization, rejected!.headers.authorization);
  assert.equal(retried!.body, "q=1+2");
  assert.equal(retried!.body, rejected!.body);
  assert.match(retried!.headers["content-type"] ?? "", /^application\/x-www-form-urlencoded/);
  // the refreshed token is in the store, for the CLI too
  assert.equal(`Bearer ${(await cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home })).stdout.trim()}`, retried!.headers.authorization);

  // a second 401 after the retry is the caller's answer: no loop
  answers.push(401, 401);
  const twice = await a.fetch(PROVIDER, `${recorder.origin}/retry`);
  assert.equal(twice.status, 401);
  assert.equal(server.tokenRequests("refresh_token"), 2);

  // that token, minted for a 401 it did not cure, refused again: the 401 is about something else
  // and is passed on with no refresh (a service answering 401 to anything made one per request)
  answers.push(401);
  recorder.requests.length = 0;
  const again = await a.fetch(PROVIDER, `${recorder.origin}/retry`);
  assert.equal(again.status, 401);
  assert.equal(recorder.requests.length, 1, "not sent again");
  assert.equal(server.tokenRequests("refresh_token"), 2);

  // a stream can be sent only once: the 401 comes back as it is
  recorder.requests.length = 0;
  answers.push(401);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("once"));
      c.close();
    },
  });
  const streamed = await a.fetch(PROVIDER, `${recorder.origin}/stream`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
  assert.equal(streamed.status, 401);
  assert.equal(recorder.requests.length, 1);
  assert.equal(server.tokenRequests("refresh_token"), 2, "no refresh for a request that cannot be retried");
  await a.close();
});

test("getAuthHeaders: API-key header with the definition's extra headers", async () => {
  const { home } = await libHome(server, { connected: false });
  const a = new Authsome({ home });
  await a.registerProvider({
    schema_version: 1,
    name: "keyed",
    display_name: "Keyed",
    auth_type: "api_key",
    flow: "api_key",
    api_key: { header_name: "X-Api-Key", header_prefix: "", env: "KEYED_KEY" },
    headers: { "Api-Version": "2024-01" },
    routes: [{ host: `127.0.0.1:${recorder.port}` }],
  });
  await a.login("keyed", { ask: async () => ({ api_key: "key-123" }) });
  assert.deepEqual(await a.getAuthHeaders("keyed", { url: `${recorder.origin}/x` }), { "Api-Version": "2024-01", "X-Api-Key": "key-123" });
  for (const bad of [{}, { url: "/relative" }, { url: 5 }, null]) {
    await assert.rejects(a.getAuthHeaders("keyed", bad as never), (err: unknown) => err instanceof UsageError && /needs the absolute URL/.test(err.message), JSON.stringify(bad));
  }
  // the headers hold the key itself: a secret read, as getAccessToken's
  const reads = readFileSync(join(home, "audit.log"), "utf8").split("\n").filter((l) => l.includes('"event":"secret_read"'));
  assert.equal(reads.length, 1);
  assert.match(reads[0]!, /"provider":"keyed","connection":"default","profile":"default","field":"auth_headers"/);
  recorder.requests.length = 0;
  await a.fetch("keyed", `${recorder.origin}/x`, { headers: { "x-api-key": "placeholder" } });
  assert.equal(recorder.requests[0]!.headers["x-api-key"], "key-123");
  assert.equal(recorder.requests[0]!.headers["api-version"], "2024-01");
  assert.equal(recorder.requests[0]!.headers.authorization, undefined);
  await a.close();
});

test("fetch signs an OAuth 1.0a form body however it is given: URLSearchParams, bytes, or a Request's body", async () => {
  const { home } = await libHome(server, { connected: false });
  const connections = openConnections(home);
  await connections.saveClient("x", { consumer_key: "consumer-key", consumer_secret: "consumer-secret" });
  await connections.save(newConnection({ provider: "x", profile: "default", connection_name: "oauth1", auth_type: "oauth1", access_token: "token-1", token_secret: "token-secret-1" }));
  connections.vault.close();
  // X as bundled, with one more OAuth 1.0a route: the recorder
  const x = JSON.parse(readFileSync(join(ROOT, "src/providers/catalog/x.json"), "utf8"));
  x.routes.push({ host: `127.0.0.1:${recorder.port}`, path_prefix: "/1.1/", auth: "oauth1" });
  writeFileSync(join(home, "providers", "x.json"), JSON.stringify(x));
  const a = new Authsome({ home });
  const url = `${recorder.origin}/1.1/statuses/update.json?include_entities=true`;
  const form = new URLSearchParams({ status: "Hello Ladies + Gentlemen" });
  const sends = {
    params: () => a.fetch("x", url, { method: "POST", body: form }, { connection: "oauth1" }),
    bytes: () => a.fetch("x", url, { method: "POST", body: new TextEncoder().encode(form.toString()), headers: { "content-type": "application/x-www-form-urlencoded" } }, { connection: "oauth1" }),
    request: () => a.fetch("x", new Request(url, { method: "POST", body: form }), undefined, { connection: "oauth1" }),
  };
  for (const [how, send] of Object.entries(sends)) {
    recorder.requests.length = 0;
    assert.equal((await send()).status, 200, how);
    const { headers, body } = recorder.requests[0]!;
    const p = Object.fromEntries([...headers.authorization!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, decodeURIComponent(m[2]!)]));
    const expected = signOAuth1Request({ method: "POST", url, form, consumerKey: "consumer-key", consumerSecret: "consumer-secret", token: "token-1", tokenSecret: "token-secret-1", nonce: p.oauth_nonce!, timestamp: p.oauth_timestamp! });
    assert.equal(headers.authorization, expected, `${how}: the form's parameters are signed`);
    assert.equal(body, form.toString(), how);
  }
  await a.close();
});

test("getAuthHeaders: an OAuth 1.0a connection gets a signature of exactly this request", async () => {
  const { home } = await libHome(server, { connected: false });
  const connections = openConnections(home);
  await connections.saveClient("x", { consumer_key: "consumer-key", consumer_secret: "consumer-secret" });
  await connections.save(
    newConnection({ provider: "x", profile: "default", connection_name: "oauth1", auth_type: "oauth1", access_token: "token-1", token_secret: "token-secret-1" }),
  );
  connections.vault.close();
  const a = new Authsome({ home });
  const url = "https://api.x.com/1.1/statuses/update.json?include_entities=true";
  const form = new URLSearchParams({ status: "Hello Ladies + Gentlemen" });
  const { Authorization: header } = await a.getAuthHeaders("x", { method: "post", url, body: form, connection: "oauth1" });
  assert.match(header!, /^OAuth /);
  const params = Object.fromEntries([...header!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, decodeURIComponent(m[2]!)]));
  assert.equal(params.oauth_consumer_key, "consumer-key");
  assert.equal(params.oauth_token, "token-1");
  const again = signOAuth1Request({
    method: "POST",
    url,
    form,
    consumerKey: "consumer-key",
    consumerSecret: "consumer-secret",
    token: "token-1",
    tokenSecret: "token-secret-1",
    nonce: params.oauth_nonce!,
    timestamp: params.oauth_timestamp!,
  });
  assert.equal(header, again, "the same signature the exported signer computes");
  // another URL, another signature; and the oauth1 connection is refused for a look-alike host
  const other = await a.getAuthHeaders("x", { url: "https://api.x.com/1.1/account/verify_credentials.json", connection: "oauth1" });
  assert.notEqual(other.Authorization, header);
  await assert.rejects(a.fetch("x", "https://api.x.com.evil.test/1.1/statuses/update.json", {}, { connection: "oauth1" }), (err: unknown) => err instanceof UsageError && /is not one of the provider's routes/.test(err.message));
  // X's v2 takes OAuth 1.0a user context too
  const v2 = await a.getAuthHeaders("x", { url: "https://api.x.com/2/users/me", connection: "oauth1" });
  assert.match(v2.Authorization!, /^OAuth .*oauth_token="token-1"/);
  await a.close();
  // a route that does not take the connection's kind refuses it, and the refusal says which kind it takes
  const store = openConnections(home);
  await store.save(newConnection({ provider: "x", profile: "default", connection_name: "app", auth_type: "app_only", access_token: "app-token" }));
  store.vault.close();
  const b = new Authsome({ home });
  await assert.rejects(b.fetch("x", "https://upload.x.com/1.1/media/upload.json", {}, { connection: "app" }), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(err.message, 'https://upload.x.com/1.1/media/upload.json is routed for an OAuth 1.0a connection of "x", and the connection "app" is an app-only connection');
    assert.match(err.hint ?? "", /connection: NAME/);
    return true;
  });
  await b.close();
});
