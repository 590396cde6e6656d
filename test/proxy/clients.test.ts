// Real HTTP clients inside `authsome run` (the built CLI) against a local TLS server that stands
// in for api.openai.com and friends: each request must arrive with the real credential, while
// the child itself only ever holds the placeholder.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SYSTEM_PYTHON } from "../helpers.js";
import { gitRepository, proxyFixture, SECRETS, seen, type ProxyFixture } from "./fixtures.js";
import { signOAuth1Request } from "../../src/auth/oauth1/sign.js";

let fx: ProxyFixture;
before(async () => {
  fx = await proxyFixture({ gitRoot: gitRepository() });
});
after(async () => {
  await fx.peer.close();
});

const BEARER = `Bearer ${SECRETS.openai}`;

function assertInjected(path: string): void {
  const r = seen(fx.peer, path);
  assert.equal(r.headers.authorization, BEARER, `${path}: the real key replaced the placeholder`);
  assert.equal(r.sni, "api.openai.com");
  assert.equal(r.host, "api.openai.com");
  assert.equal(r.clientCert, false, "the peer talked to the proxy, not to the child");
}

test("curl", async () => {
  const r = await fx.run(["sh", "-c", 'curl -sS --fail -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/curl']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { ok: true, host: "api.openai.com", path: "/v1/curl" });
  assertInjected("/v1/curl");
});

test("Node fetch (undici preload on Node 20)", async () => {
  const script = `const r = await fetch("https://api.openai.com/v1/node-fetch", { headers: { authorization: "Bearer " + process.env.OPENAI_API_KEY } });
console.log(r.status, await r.text());`;
  const r = await fx.run([process.execPath, "--input-type=module", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^200 /);
  assertInjected("/v1/node-fetch");
});

test("Node https module", async () => {
  const script = `require("https").get("https://api.openai.com/v1/node-https", { headers: { authorization: "Bearer " + process.env.OPENAI_API_KEY } }, (res) => {
  let body = ""; res.on("data", (c) => (body += c)); res.on("end", () => console.log(res.statusCode, body));
}).on("error", (e) => { console.error(e); process.exit(1); });`;
  const r = await fx.run([process.execPath, "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^200 /);
  assertInjected("/v1/node-https");
});

test("Python urllib", async () => {
  const script = `import os, urllib.request
req = urllib.request.Request("https://api.openai.com/v1/urllib", headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
print(urllib.request.urlopen(req).read().decode())`;
  const r = await fx.run([SYSTEM_PYTHON, "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  assertInjected("/v1/urllib");
});

test("Python requests", async () => {
  const script = `import os, requests
r = requests.get("https://api.openai.com/v1/requests", headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
r.raise_for_status(); print(r.text)`;
  const r = await fx.run([SYSTEM_PYTHON, "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  assertInjected("/v1/requests");
});

test("Python httpx", async () => {
  const script = `import os, httpx
r = httpx.get("https://api.openai.com/v1/httpx", headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
r.raise_for_status(); print(r.text)`;
  const r = await fx.run([SYSTEM_PYTHON, "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  assertInjected("/v1/httpx");
});

test("git clone over https gets the API-key header (basic_password) on every request", async () => {
  const r = await fx.run(["sh", "-c", 'cd "$(mktemp -d)" && git clone -q https://git.test/git/repo.git && cat repo/README']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello through the proxy\n");
  const gitRequests = fx.peer.requests.filter((q) => q.path.startsWith("/git/"));
  assert.ok(gitRequests.length >= 2, "info/refs and upload-pack");
  for (const q of gitRequests) {
    assert.equal(q.headers.authorization, `Basic ${Buffer.from(`:${SECRETS.gitlocal}`).toString("base64")}`);
  }
});

/** The request the peer saw at `path` carries the v1 connection's OAuth 1.0a signature of `url` (and form). */
function assertSignedWithOAuth1(path: string, url: string, form?: Record<string, string>): void {
  const q = seen(fx.peer, path);
  const header = String(q.headers.authorization);
  assert.match(header, /^OAuth /);
  const params = Object.fromEntries([...header.slice(6).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, decodeURIComponent(m[2]!)]));
  assert.equal(params.oauth_consumer_key, SECRETS.xConsumerKey);
  assert.equal(params.oauth_token, SECRETS.xOauth1Token);
  // the same signature, recomputed from the request the peer saw
  const expected = signOAuth1Request({
    method: q.method,
    url,
    ...(form ? { form } : {}),
    consumerKey: SECRETS.xConsumerKey,
    consumerSecret: SECRETS.xConsumerSecret,
    token: SECRETS.xOauth1Token,
    tokenSecret: SECRETS.xOauth1Secret,
    nonce: params.oauth_nonce!,
    timestamp: params.oauth_timestamp!,
  });
  assert.equal(header, expected);
}

test("X: the most specific route picks the kind; auth endpoints are never injected", async () => {
  const r = await fx.run([
    "sh",
    "-c",
    [
      "curl -sS --fail https://api.x.com/2/users/me",
      "curl -sS --fail -X POST -d 'status=hello world&x=1' 'https://api.x.com/1.1/statuses/update.json?trim=true'",
      "curl -sS --fail -X POST -H 'Content-Type: application/json' -d '{\"a\":1}' https://upload.x.com/1.1/media/upload.json",
      "curl -sS --fail -X POST -d grant_type=refresh_token https://api.x.com/2/oauth2/token",
    ].join(" && "),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen(fx.peer, "/2/users/me").headers.authorization, `Bearer ${SECRETS.xBearer}`);

  assertSignedWithOAuth1("/1.1/statuses/update.json?trim=true", "https://api.x.com/1.1/statuses/update.json?trim=true", { status: "hello world", x: "1" });
  assertSignedWithOAuth1("/1.1/media/upload.json", "https://upload.x.com/1.1/media/upload.json"); // JSON bodies are not signed
  assert.equal(seen(fx.peer, "/1.1/media/upload.json").body, '{"a":1}');
  assert.equal(seen(fx.peer, "/2/oauth2/token").headers.authorization, undefined, "the token endpoint gets no credential");
});

test("--provider limits injection: other providers' hosts are tunnelled, their variables untouched", async () => {
  const own = `--cacert ${fx.peer.caFile} --cert ${fx.peer.clientCertFile} --key ${fx.peer.clientKeyFile}`;
  const r = await fx.run(["sh", "-c", `curl -sS --fail ${own} -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/only-x && curl -sS --fail https://api.x.com/2/only-x && echo "$OPENAI_API_KEY"`], {
    options: ["--provider", "x"],
    env: { OPENAI_API_KEY: "from-the-parent" },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen(fx.peer, "/v1/only-x").headers.authorization, "Bearer from-the-parent", "openai is not injected");
  assert.equal(seen(fx.peer, "/v1/only-x").clientCert, true, "the child's own TLS handshake reached the peer");
  assert.equal(seen(fx.peer, "/2/only-x").headers.authorization, `Bearer ${SECRETS.xBearer}`);
  assert.match(r.stdout, /from-the-parent\n$/);
  // the user's own variable is passed on, and said to be
  assert.match(r.stderr, /warning: OPENAI_API_KEY reaches the child as set in your environment: "openai" is connected but not injected in this run \(add --provider openai to inject it instead\)/);
  assert.ok(!r.stderr.includes("from-the-parent"), "the value is never printed");
});

test("--use picks the connection; a route kind the named connection cannot serve falls back to one that can", async () => {
  const r = await fx.run(["sh", "-c", "curl -sS --fail https://api.openai.com/v1/use-work && curl -sS --fail 'https://api.x.com/2/use-v1?q=a' && curl -sS --fail https://api.x.com/1.1/use-v1"], {
    options: ["--use", "openai=work", "--use", "x=v1"],
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen(fx.peer, "/v1/use-work").headers.authorization, `Bearer ${SECRETS.openaiWork}`);
  // X's v2 takes OAuth 1.0a user context too: the named OAuth 1.0a connection signs it
  assertSignedWithOAuth1("/2/use-v1?q=a", "https://api.x.com/2/use-v1?q=a");
  assertSignedWithOAuth1("/1.1/use-v1", "https://api.x.com/1.1/use-v1");

  const back = await fx.run(["sh", "-c", "curl -sS --fail https://api.x.com/1.1/use-default && curl -sS --fail https://api.x.com/2/use-default"], { options: ["--use", "x=default"] });
  assert.equal(back.code, 0, back.stderr);
  assertSignedWithOAuth1("/1.1/use-default", "https://api.x.com/1.1/use-default");
  assert.equal(seen(fx.peer, "/2/use-default").headers.authorization, `Bearer ${SECRETS.xBearer}`);
});

test("response headers and bodies pass through unchanged", async () => {
  const r = await fx.run(["curl", "-sS", "-D", "-", "https://api.openai.com/v1/headers"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^X-Peer: tls-server\r$/m);
  assert.match(r.stdout, /^Set-Cookie: a=1\r$/m);
  assert.match(r.stdout, /^Set-Cookie: b=2\r$/m);
  assert.match(r.stdout, /\{"ok":true,"host":"api.openai.com","path":"\/v1\/headers"\}$/);
});
