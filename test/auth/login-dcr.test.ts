// dcr_pkce against the real authorization server: the definition names only a protected resource
// (as an MCP server is named); its 401 points at RFC 9728 metadata, which names the issuer; the
// issuer's metadata gives the endpoints; RFC 7591 registers a client for the exact redirect URI.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { cliAsync, emptyHome, freePort, writeProvider } from "../helpers.js";
import { recordingBrowser } from "./login-fixtures.js";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";
import { authorizationServerMetadataUrls, reachableFrom, resourceMetadataHint, wellKnownUrl } from "../../src/auth/discovery.js";

const PORT = 7994;
const REDIRECT = `http://127.0.0.1:${PORT}/auth/callback/oauth`;

let server: OidcServer;
let resource: Server;
let resourceUrl: string;
const resourceHits: string[] = [];

let other: OidcServer;

before(async () => {
  server = await startOidcServer();
  other = await startOidcServer();
  // An MCP-style protected resource: unauthenticated requests get a 401 naming its metadata.
  resource = createServer((req, res) => {
    resourceHits.push(req.url ?? "");
    const origin = `http://127.0.0.1:${(resource.address() as { port: number }).port}`;
    if (req.url === "/.well-known/oauth-protected-resource/mcp") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [server.issuer], bearer_methods_supported: ["header"] }));
    }
    if (req.url === "/mcp") {
      res.writeHead(401, { "www-authenticate": `Bearer error="invalid_token", resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` });
      return res.end();
    }
    // metadata that describes another resource, naming another authorization server (RFC 9728 §3.3: not to be used)
    if (req.url === "/.well-known/oauth-protected-resource/mismatch") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ resource: `${origin}/elsewhere`, authorization_servers: [other.issuer] }));
    }
    // authorization servers that do not do S256 PKCE: one lists only "plain", one lists nothing
    const pkce = /^\/\.well-known\/oauth-authorization-server\/(plain-pkce|no-pkce)$/.exec(req.url ?? "");
    if (pkce) {
      res.writeHead(200, { "content-type": "application/json" });
      const methods = pkce[1] === "plain-pkce" ? { code_challenge_methods_supported: ["plain"] } : {};
      return res.end(JSON.stringify({ issuer: `${origin}/${pkce[1]}`, authorization_endpoint: server.authorizationEndpoint, token_endpoint: `${server.issuer}/token`, registration_endpoint: server.registrationEndpoint, ...methods }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => resource.listen(0, "127.0.0.1", resolve));
  resourceUrl = `http://127.0.0.1:${(resource.address() as { port: number }).port}/mcp`;
});
after(async () => {
  resource?.close();
  await server?.close();
  await other?.close();
});

/** A home with a dcr_pkce provider whose oauth section is `oauth`. */
function homeWithMcpProvider(oauth: Record<string, unknown>): string {
  const home = emptyHome();
  writeProvider(home, { schema_version: 1, name: "mcpdemo", display_name: "MCP demo", auth_type: "oauth2", flow: "dcr_pkce", routes: [{ host: "127.0.0.1" }], oauth });
  return home;
}

async function dcrLogin(home: string, extra: string[] = [], port = PORT, env: Record<string, string> = {}): Promise<URL> {
  const opener = recordingBrowser();
  const running = cliAsync(["login", "mcpdemo", "--port", String(port), "--timeout", "30", ...extra], { home, env: { BROWSER: opener.command, DISPLAY: undefined, ...env } });
  const authorize = new URL(await opener.url(0));
  await fetch(await server.authorize(authorize, `http://127.0.0.1:${port}/auth/callback/oauth`));
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  return authorize;
}

test("dcr_pkce discovers through the resource's 401 hint, registers a client for the exact redirect URI, and the token works", async () => {
  const home = homeWithMcpProvider({
    // deliberately wrong: only discovery can find the real endpoints
    authorization_url: "http://127.0.0.1:9/authorize",
    token_url: "http://127.0.0.1:9/token",
    resource_url: resourceUrl,
    scopes: ["openid", "offline_access"],
    supports_dcr: true,
  });
  resourceHits.length = 0;
  const authorize = await dcrLogin(home);
  assert.deepEqual(resourceHits.slice(0, 2), ["/mcp", "/.well-known/oauth-protected-resource/mcp"], "the 401's resource_metadata hint was followed");
  assert.equal(authorize.origin, server.issuer, "the discovered authorization endpoint, not the definition's");
  assert.equal(authorize.searchParams.get("redirect_uri"), REDIRECT);
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  const clientId = authorize.searchParams.get("client_id")!;
  assert.ok(clientId && !["basic-client", "post-client", "public-client"].includes(clientId), "a freshly registered client");

  const token = (await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home })).stdout.trim();
  const introspection = await server.introspect(token);
  assert.equal(introspection.active, true);
  assert.equal(introspection.client_id, clientId);

  // Refresh (the stored token made to look expired) goes to the discovered token endpoint with the registered client.
  server.resetCounters();
  const store = new Connections(new Vault(new Home(home), "default"));
  const stored = (await store.get("mcpdemo"))!;
  await store.put({ ...stored, expires_at: new Date(Date.now() - 1000).toISOString() });
  store.vault.close();
  const refreshed = await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home });
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.equal(server.tokenRequests("refresh_token"), 1);
  assert.notEqual(refreshed.stdout.trim(), token);
  assert.equal((await server.introspect(refreshed.stdout.trim())).active, true);

  // A second login reuses the registration made for this redirect URI.
  const again = await dcrLogin(home, ["--connection", "second"]);
  assert.equal(again.searchParams.get("client_id"), clientId);
  assert.equal((await cliAsync(["logout", "mcpdemo", "--connection", "second"], { home })).code, 0);

  // Logout revokes at the discovered revocation endpoint.
  const current = (await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home })).stdout.trim();
  const out = await cliAsync(["logout", "mcpdemo"], { home });
  assert.equal(out.code, 0, out.stderr);
  assert.equal((await server.introspect(current)).active, false);
});

test("dcr_pkce with a resource that publishes nothing falls back to the issuer's OpenID discovery", async () => {
  const home = homeWithMcpProvider({ authorization_url: `${server.issuer}/auth`, token_url: `${server.issuer}/token`, issuer: server.issuer, scopes: ["openid"], supports_dcr: true });
  const authorize = await dcrLogin(home);
  assert.equal(authorize.pathname, new URL(server.authorizationEndpoint).pathname);
  const token = (await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home })).stdout.trim();
  assert.equal((await server.introspect(token)).active, true);
});

test("discovery URLs: path insertion for RFC 8414 and RFC 9728, OpenID appended last; the 401 hint parsed", () => {
  assert.equal(wellKnownUrl("https://as.example.com/tenant1/", "oauth-authorization-server"), "https://as.example.com/.well-known/oauth-authorization-server/tenant1");
  assert.equal(wellKnownUrl("https://mcp.example.com/mcp", "oauth-protected-resource"), "https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
  assert.deepEqual(authorizationServerMetadataUrls("https://as.example.com/tenant1"), [
    "https://as.example.com/.well-known/oauth-authorization-server/tenant1",
    "https://as.example.com/.well-known/openid-configuration/tenant1",
    "https://as.example.com/tenant1/.well-known/openid-configuration",
  ]);
  assert.deepEqual(authorizationServerMetadataUrls("https://as.example.com"), [
    "https://as.example.com/.well-known/oauth-authorization-server",
    "https://as.example.com/.well-known/openid-configuration",
  ]);
  assert.equal(resourceMetadataHint('Bearer realm="mcp", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"'), "https://mcp.example.com/.well-known/oauth-protected-resource");
  assert.equal(resourceMetadataHint("Bearer resource_metadata=https://x.example/m, scope=read"), "https://x.example/m");
  assert.equal(resourceMetadataHint('Bearer error="invalid_token"'), undefined);
});

/** Makes the stored token of `connection` look expired, so that the next get refreshes it. */
async function expire(home: string, connection = "default"): Promise<void> {
  const store = new Connections(new Vault(new Home(home), "default"));
  const stored = (await store.get("mcpdemo", connection))!;
  await store.put({ ...stored, expires_at: new Date(Date.now() - 1000).toISOString() });
  store.vault.close();
}

const issuerProvider = () => ({ authorization_url: `${server.issuer}/auth`, token_url: `${server.issuer}/token`, issuer: server.issuer, scopes: ["openid", "offline_access"], supports_dcr: true, client_secret_env: "MCPDEMO_CLIENT_SECRET" });

test("a server that forgot its registered client: login --force registers anew, unless other connections were issued to that client", async () => {
  const home = homeWithMcpProvider(issuerProvider());
  const first = (await dcrLogin(home)).searchParams.get("client_id")!;
  await server.forgetClient(first);
  const forced = await dcrLogin(home, ["--force"]);
  const renewed = forced.searchParams.get("client_id")!;
  assert.notEqual(renewed, first, "a new registration");
  const token = (await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home })).stdout.trim();
  assert.equal((await server.introspect(token)).client_id, renewed);
  // with another connection issued to the client, --force keeps it (registering would break that one)
  await dcrLogin(home, ["--connection", "work"]);
  const kept = await dcrLogin(home, ["--force"]);
  assert.equal(kept.searchParams.get("client_id"), renewed);
});

test("an authorization server that does not list S256 PKCE is refused before anything is registered or opened", async () => {
  const origin = new URL(resourceUrl).origin;
  for (const [path, said] of [["no-pkce", "none"], ["plain-pkce", 'only "plain"']] as const) {
    const home = homeWithMcpProvider({ ...issuerProvider(), issuer: `${origin}/${path}` });
    const opener = recordingBrowser();
    const r = await cliAsync(["login", "mcpdemo", "--port", String(PORT), "--timeout", "30"], { home, env: { BROWSER: opener.command, DISPLAY: undefined } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`the authorization server ${origin}/${path} does not support PKCE with S256 \\(its metadata lists ${said} in code_challenge_methods_supported\\)`));
    assert.equal(opener.opened(), 0);
    const store = new Connections(new Vault(new Home(home), "default"));
    assert.equal(await store.client("mcpdemo"), undefined, "no client registered or stored");
    store.vault.close();
  }
});

test("a dcr login on another port does not register a client over the one other connections were issued to; --force does", async () => {
  const home = homeWithMcpProvider(issuerProvider());
  const first = await dcrLogin(home);
  const other = await freePort();
  const opener = recordingBrowser();
  const refused = await cliAsync(["login", "mcpdemo", "--connection", "second", "--port", String(other), "--timeout", "30"], { home, env: { BROWSER: opener.command, DISPLAY: undefined } });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, new RegExp(`the connections "default" of "mcpdemo" were issued to client ${first.searchParams.get("client_id")}; registering a new client for http://127\\.0\\.0\\.1:${other}/auth/callback/oauth would replace it`));
  assert.match(refused.stderr, new RegExp(`hint: log in with --port ${PORT} to use that client`));
  assert.equal(opener.opened(), 0, "refused before the browser opened");
  // the first connection still refreshes with its client
  await expire(home);
  const refreshed = await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home });
  assert.equal(refreshed.code, 0, refreshed.stderr);
  // the same port reuses the client; --force registers another
  const second = await dcrLogin(home, ["--connection", "second"]);
  assert.equal(second.searchParams.get("client_id"), first.searchParams.get("client_id"));
  const forced = await dcrLogin(home, ["--connection", "third", "--force"], other);
  assert.notEqual(forced.searchParams.get("client_id"), first.searchParams.get("client_id"));
});

test("a pre-registered client after a registered one takes nothing of the registration: refresh authenticates it as itself", async () => {
  const home = homeWithMcpProvider(issuerProvider());
  await dcrLogin(home);
  await server.addClient({ client_id: "manual-confidential", client_secret: "manual-secret-SECRET", token_endpoint_auth_method: "client_secret_basic", redirect_uris: [REDIRECT] } as never);
  const manual = await dcrLogin(home, ["--force", "--client-id", "manual-confidential"], PORT, { MCPDEMO_CLIENT_SECRET: "manual-secret-SECRET" });
  assert.equal(manual.searchParams.get("client_id"), "manual-confidential");
  const store = new Connections(new Vault(new Home(home), "default"));
  const client = (await store.client("mcpdemo"))!;
  store.vault.close();
  assert.equal(client.client_id, "manual-confidential");
  assert.equal(client.metadata.registration, undefined, "the old client's registration is not this client's");
  await expire(home);
  server.resetCounters();
  const refreshed = await cliAsync(["get", "mcpdemo", "--field", "access_token", "--show-secret"], { home });
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.equal(server.tokenRequests("refresh_token"), 1);
});

test("dcr_pkce: an authorization answer from another issuer, or without the iss the server says it sends, is refused (RFC 9207)", async () => {
  const tampered: Array<[string, (callback: URL) => void]> = [
    ["another issuer", (callback) => callback.searchParams.set("iss", other.issuer)],
    ["no issuer", (callback) => callback.searchParams.delete("iss")],
  ];
  for (const [what, tamper] of tampered) {
    const home = homeWithMcpProvider(issuerProvider());
    const opener = recordingBrowser();
    const running = cliAsync(["login", "mcpdemo", "--port", String(PORT), "--timeout", "30"], { home, env: { BROWSER: opener.command, DISPLAY: undefined } });
    const callback = new URL(await server.authorize(new URL(await opener.url(0)), REDIRECT));
    assert.equal(callback.searchParams.get("iss"), server.issuer, "the real server names itself");
    tamper(callback);
    await fetch(callback).catch(() => {});
    const r = await running;
    assert.equal(r.code, 4, `${what}: ${r.stderr}`);
    assert.match(r.stderr, what === "no issuer" ? /carried no issuer, though .* says it sends one; refused/ : /came from the issuer .*, not .*; refused/);
    assert.equal((await cliAsync(["get", "mcpdemo"], { home })).code, 5, "nothing stored");
  }
});

test("dcr_pkce: protected-resource metadata that describes another resource is not used (RFC 9728 §3.3)", async () => {
  const origin = new URL(resourceUrl).origin;
  const home = homeWithMcpProvider({ ...issuerProvider(), resource_url: `${origin}/mismatch` });
  const authorize = await dcrLogin(home);
  assert.equal(authorize.origin, server.issuer, "the definition's issuer, not the server the mismatched document named");
  assert.equal(other.tokenRequests(), 0);
});

test("discovery goes from a remote resource only to https: never to this machine's own http services", () => {
  assert.equal(reachableFrom("https://mcp.example.com/mcp", "https://auth.example.com"), true);
  assert.equal(reachableFrom("https://mcp.example.com/mcp", "http://127.0.0.1:8080/"), false);
  assert.equal(reachableFrom("https://mcp.example.com/mcp", "http://localhost/.well-known/oauth-protected-resource"), false);
  assert.equal(reachableFrom("https://mcp.example.com/mcp", "http://auth.example.com"), false);
  assert.equal(reachableFrom("http://127.0.0.1:3000/mcp", "http://127.0.0.1:4000"), true, "a local resource may name a local server");
});
