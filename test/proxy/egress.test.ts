// authsome behind the user's own proxy (a company's egress proxy; Debian's mitmproxy here, see
// peers/forward-proxy.ts): `authsome run` reaches services through it, https in CONNECT tunnels
// with the credential added inside them (the proxy never sees it) and plain http in absolute
// form; NO_PROXY hosts and --resolve'd ones go direct; a proxy that refuses is named in the
// child's 502 (its password starred); authsome's own calls (a token refresh) and the library's
// fetch go through it too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { cliAsync, emptyHome, ROOT, writeProvider } from "../helpers.js";
import { startForwardProxy, type ForwardProxy } from "../peers/forward-proxy.js";
import { startTlsPeer, type TlsPeer } from "../peers/tls-server.js";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { newConnection } from "../../src/vault/records.js";
import { Vault } from "../../src/vault/store.js";
import { proxyHome, SECRETS, seen } from "./fixtures.js";

const USER = "corp";
const PASSWORD = "proxy-password-SECRET";

let peer: TlsPeer;
let plain: Server;
const plainRequests: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
let egress: ForwardProxy;
let home: string;

before(async () => {
  peer = await startTlsPeer({ hosts: ["api.openai.com", "other.test", "auth.egress.test"] });
  plain = createServer((req, res) => {
    plainRequests.push({ url: req.url ?? "", headers: req.headers });
    res.end("plain ok\n");
  });
  plain.listen(0, "127.0.0.1");
  await once(plain, "listening");
  const plainPort = (plain.address() as AddressInfo).port;
  egress = await startForwardProxy(
    { "api.openai.com:443": peer.port, "other.test:443": peer.port, "auth.egress.test:443": peer.port, "plain.egress.test:80": plainPort },
    `${USER}:${PASSWORD}`,
  );
  home = await proxyHome();
});
after(async () => {
  await egress.close();
  await peer.close();
  plain.close();
});

/** `authsome run` with the user's proxy in its environment (and no --resolve, unless given). */
function run(command: string, opts: { options?: string[]; env?: Record<string, string> } = {}) {
  const proxy = egress.url(USER, PASSWORD);
  return cliAsync(["run", "--upstream-ca", peer.caFile, ...(opts.options ?? []), "--", "sh", "-c", command], { home, env: { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, ...opts.env } });
}

test("run reaches services through the user's proxy: the credential is added inside the tunnel, which the proxy never sees into", async () => {
  const before = egress.log().length;
  const own = `--cacert ${peer.caFile} --cert ${peer.clientCertFile} --key ${peer.clientKeyFile}`;
  const r = await run(
    [
      'curl -sS --fail -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/through-egress',
      `curl -sS --fail ${own} https://other.test/tunnel-through-egress`,
      "curl -sS --fail http://plain.egress.test/plain-through-egress",
    ].join(" && "),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen(peer, "/v1/through-egress").headers.authorization, `Bearer ${SECRETS.openai}`);
  const tunnelled = seen(peer, "/tunnel-through-egress");
  assert.ok(tunnelled.clientCert, "a host with no route is still the child's own TLS, end to end");
  const got = plainRequests.find((q) => q.url === "/plain-through-egress");
  assert.ok(got, "plain http reached its server through the proxy");
  assert.equal(got.headers.host, "plain.egress.test");
  assert.equal(got.headers["proxy-authorization"], undefined, "no proxy credential goes past the proxy");

  const log = egress.log().slice(before);
  assert.deepEqual(
    log.map((e) => [e.connect ?? e.request, e.auth]),
    [
      ["api.openai.com:443", [USER, PASSWORD]],
      ["other.test:443", [USER, PASSWORD]],
      ["http://plain.egress.test/plain-through-egress", [USER, PASSWORD]],
    ],
    "each connection went through the proxy with the credential of its URL; https only as a tunnel",
  );
  assert.ok(!JSON.stringify(log).includes(SECRETS.openai), "the proxy never saw the key");
  assert.match(r.stderr, /reaching services through http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+/);
  assert.ok(!r.stderr.includes(PASSWORD), "the proxy's password is not printed");
});

test("NO_PROXY hosts, --resolve'd ones and loopback (however spelled) are reached directly, not through the user's proxy", async () => {
  const before = egress.log().length;
  // the child's curl is told to ignore NO_PROXY, so that only authsome's reading of it decides
  const r = await run(
    [
      'curl -sS --fail --noproxy "" -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/resolved-direct',
      'curl -s --noproxy "" -o /dev/null -w "%{http_connect}" https://other.test/no-proxy-direct',
      `curl -sS --fail --noproxy "" -k -o /dev/null https://127.1:${peer.port}/loopback-direct`,
      "true",
    ].join("; "),
    { options: ["--resolve", `api.openai.com:443:127.0.0.1:${peer.port}`], env: { NO_PROXY: ".other.test" } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen(peer, "/v1/resolved-direct").headers.authorization, `Bearer ${SECRETS.openai}`);
  // other.test is not a name this machine can resolve: direct, it cannot be reached
  assert.match(r.stdout, /502$/);
  assert.equal(peer.requests.filter((q) => q.path === "/no-proxy-direct").length, 0);
  seen(peer, "/loopback-direct");
  assert.deepEqual(egress.log().slice(before), [], "the proxy saw none of them");
});

test("a proxy that refuses: the child gets 502 naming it (credentials starred), for routed, tunnelled and plain-http requests alike", async () => {
  const wrong = egress.url(USER, "wrong-password-SECRET");
  const r = await run(
    ['curl -sS https://api.openai.com/v1/refused; echo', 'curl -s -o /dev/null -w "%{http_connect}\\n" https://other.test/refused', "curl -sS http://plain.egress.test/refused", "true"].join("; "),
    { env: { HTTPS_PROXY: wrong, HTTP_PROXY: wrong } },
  );
  assert.equal(r.code, 0, r.stderr);
  const [body, tunnel, plainBody] = r.stdout.trim().split("\n");
  const plainAnswer = JSON.parse(plainBody!) as { error: string; message: string };
  assert.equal(plainAnswer.error, "upstream_proxy_failed", "the proxy's own 407 is not handed to the child as if authsome's proxy asked for a credential");
  assert.match(plainAnswer.message, /^plain\.egress\.test could not be reached: the proxy http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+ answered 407 to the request for http:\/\/plain\.egress\.test\//);
  const answer = JSON.parse(body!) as { error: string; message: string; hint: string };
  assert.equal(answer.error, "upstream_proxy_failed");
  assert.match(answer.message, /^api\.openai\.com could not be reached: the proxy http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+ answered 407 to CONNECT api\.openai\.com:443/);
  assert.match(answer.hint, /HTTPS_PROXY.*NO_PROXY/);
  assert.equal(tunnel, "502");
  assert.ok(!(r.stdout + r.stderr).includes("wrong-password-SECRET"));
  assert.equal(peer.requests.filter((q) => q.path.endsWith("/refused")).length, 0);
});

test("authsome's own calls go through the user's proxy: a refresh reaches the token endpoint in a tunnel", async () => {
  const h = emptyHome();
  writeProvider(h, {
    schema_version: 1,
    name: "egressidp",
    display_name: "Egress IdP",
    auth_type: "oauth2",
    flow: "pkce",
    oauth: { authorization_url: "https://auth.egress.test/authorize", token_url: "https://auth.egress.test/oauth/token", scopes: ["read"], client_auth_method: "none" },
    routes: [{ host: "api.egress.test" }],
  });
  const connections = new Connections(new Vault(new Home(h), "default"));
  await connections.saveClient("egressidp", { client_id: "egress-client" });
  await connections.save(
    newConnection({ profile: "default", provider: "egressidp", connection_name: "default", auth_type: "oauth2", access_token: "expired-access-token", refresh_token: "egress-refresh-token-SECRET", expires_at: new Date(Date.now() - 60_000).toISOString() }),
  );
  connections.vault.close();
  const env = { NODE_EXTRA_CA_CERTS: peer.caFile, HTTPS_PROXY: egress.url(USER, PASSWORD) };

  const before = egress.log().length;
  const r = await cliAsync(["get", "egressidp", "--field", "access_token", "--show-secret"], { home: h, env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^peer-issued-\d+$/, "the token the endpoint issued");
  const grant = peer.requests.filter((q) => q.path === "/oauth/token").at(-1)!;
  assert.equal(grant.sni, "auth.egress.test");
  assert.deepEqual(egress.log().slice(before), [{ connect: "auth.egress.test:443", auth: [USER, PASSWORD] }]);

  // a wrong proxy password: the error names the proxy, never the password
  await expire(h);
  const refused = await cliAsync(["get", "egressidp", "--field", "access_token", "--show-secret"], { home: h, env: { ...env, HTTPS_PROXY: egress.url(USER, "wrong-password-SECRET") } });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /could not reach the token endpoint https:\/\/auth\.egress\.test\/oauth\/token through the proxy http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+: the proxy answered 407 to CONNECT auth\.egress\.test:443/);
  assert.ok(!refused.stderr.includes("wrong-password-SECRET"));
});

test("the library's fetch goes through the user's proxy too, unless given a dispatcher of its own", async () => {
  // a Node process of its own: it trusts the peer's CA from its start (NODE_EXTRA_CA_CERTS)
  const script = `
    import { Authsome } from ${JSON.stringify(join(ROOT, "dist/index.js"))};
    import { Agent } from "undici";
    const authsome = new Authsome();
    console.log((await authsome.fetch("openai", "https://api.openai.com/v1/library-through-egress")).status);
    // a dispatcher of the caller's own goes direct, where the name cannot be resolved
    console.log(await authsome.fetch("openai", "https://api.openai.com/v1/own-dispatcher", { dispatcher: new Agent() }).then((res) => res.status, (err) => err.cause?.code));
  `;
  const before = egress.log().length;
  // asynchronous: the peer answers from this process
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, AUTHSOME_HOME: home, NODE_EXTRA_CA_CERTS: peer.caFile, HTTPS_PROXY: egress.url(USER, PASSWORD), NO_PROXY: "" },
    cwd: ROOT,
  });
  assert.deepEqual(stdout.trim().split("\n"), ["200", "ENOTFOUND"]);
  assert.equal(seen(peer, "/v1/library-through-egress").headers.authorization, `Bearer ${SECRETS.openai}`);
  assert.deepEqual(egress.log().slice(before), [{ connect: "api.openai.com:443", auth: [USER, PASSWORD] }]);
});

async function expire(h: string): Promise<void> {
  const connections = new Connections(new Vault(new Home(h), "default"));
  const record = (await connections.get("egressidp"))!;
  await connections.put({ ...record, expires_at: new Date(Date.now() - 60_000).toISOString() });
  connections.vault.close();
}
