// The pure router: which connection (if any) a request gets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.js";
import { resolvedPath, RouteTable, type AvailableConnection } from "../../src/proxy/router.js";
import type { ProviderDefinition } from "../../src/providers/schema.js";

const catalog = (name: string) => JSON.parse(readFileSync(join(ROOT, "src/providers/catalog", `${name}.json`), "utf8")) as ProviderDefinition;
const conn = (provider: string, connection: string, authType: AvailableConnection["authType"]): AvailableConnection => ({ provider, connection, authType });

test("X: the most specific route wins and picks the connection of its kind", () => {
  const table = new RouteTable({
    definitions: [catalog("x")],
    connections: [conn("x", "default", "oauth2"), conn("x", "v1", "oauth1")],
    defaults: { x: "default" },
  });
  assert.equal(table.match("api.x.com", 443, "/2/users/me")?.connection, "default");
  assert.equal(table.match("api.x.com", 443, "/1.1/statuses/update.json?x=1")?.authType, "oauth1");
  assert.equal(table.match("upload.x.com", 443, "/1.1/media/upload.json")?.connection, "v1");
  assert.equal(table.match("api.twitter.com", 443, "/2/tweets")?.authType, "oauth2");
  // auth endpoints are never injected, though the host is intercepted
  assert.equal(table.routesHost("api.x.com", 443), true);
  for (const path of ["/2/oauth2/token", "/2/oauth2/revoke", "/oauth/request_token", "/oauth/authorize", "/oauth/authenticate?oauth_token=t", "/oauth/access_token", "/oauth2/token", "/oauth2/invalidate_token", "/1.1/oauth/invalidate_token"]) {
    assert.equal(table.match("api.x.com", 443, path), undefined, path);
  }
  // other ports and look-alikes are not routed
  assert.equal(table.routesHost("api.x.com", 8443), false);
  assert.equal(table.routesHost("api.x.com.evil.test", 443), false);
  assert.equal(table.routesHost("evilapi.x.com", 443), false);
});

test("auth endpoints on an IPv6 literal host are not injected either", () => {
  const oauth = { authorization_url: "https://[::1]:8443/authorize", token_url: "https://[::1]:8443/token/", client_id: "c" };
  const def = { schema_version: 1, name: "local", display_name: "Local", auth_type: "oauth2", flow: "pkce", routes: [{ host: "[::1]:8443" }], oauth } as ProviderDefinition;
  const table = new RouteTable({ definitions: [def], connections: [conn("local", "default", "oauth2")] });
  assert.equal(table.match("::1", 8443, "/v1/things")?.provider, "local");
  assert.equal(table.match("::1", 8443, "/token"), undefined);
  assert.equal(table.match("::1", 8443, "/authorize?x=1"), undefined);
});

test("device and registration endpoints are not injected either", () => {
  const oauth = { authorization_url: "https://id.local.test/authorize", token_url: "https://id.local.test/token", device_authorization_url: "https://id.local.test/device/code", registration_endpoint: "https://id.local.test/register", client_id: "c" };
  const def = { schema_version: 1, name: "local", display_name: "Local", auth_type: "oauth2", flow: "pkce", routes: [{ host: "id.local.test" }], oauth } as ProviderDefinition;
  const table = new RouteTable({ definitions: [def], connections: [conn("local", "default", "oauth2")] });
  assert.equal(table.match("id.local.test", 443, "/userinfo")?.provider, "local");
  for (const path of ["/device/code", "/register", "/register/"]) assert.equal(table.match("id.local.test", 443, path), undefined, path);
});

test("paths are matched as the server resolves them: an auth endpoint spelled another way is still not injected", () => {
  const table = new RouteTable({ definitions: [catalog("x")], connections: [conn("x", "default", "oauth2"), conn("x", "v1", "oauth1")] });
  for (const path of ["/2/../2/oauth2/token", "/2/oauth2/%74oken", "//2//oauth2/token", "/2/./oauth2/token/", "/2/OAuth2/Token", "/x/%2e%2e/2/oauth2/token?grant_type=x", "/2/..\\2\\oauth2\\token"]) {
    assert.equal(table.match("api.x.com", 443, path), undefined, path);
  }
  // and the route is the one of the resolved path
  assert.equal(table.match("api.x.com", 443, "/2/../1.1/statuses/update.json")?.authType, "oauth1");
  assert.equal(table.match("api.x.com", 443, "/2/%2e%2e/2/users/me")?.authType, "oauth2");
  assert.equal(resolvedPath("/a/b/../c/./d//e/"), "/a/c/d/e/");
  assert.equal(resolvedPath("/a/%7euser/%2Fencoded-slash-stays"), "/a/~user/%2Fencoded-slash-stays");
  assert.equal(resolvedPath("/../.."), "/");
  // a backslash is a slash to servers that parse with the URL standard (Node's, browsers')
  assert.equal(resolvedPath("/2/..\\..\\admin"), "/admin");
  assert.equal(table.match("api.x.com", 443, "/2/..\\1.1\\statuses/update.json")?.authType, "oauth1");
});

test("a route whose kind has no connection falls back to the less specific one", () => {
  const table = new RouteTable({ definitions: [catalog("x")], connections: [conn("x", "default", "oauth2")] });
  assert.equal(table.match("api.x.com", 443, "/1.1/search/tweets.json")?.authType, "oauth2");
  assert.equal(table.routesHost("upload.x.com", 443), false, "no oauth1 connection: upload.x.com is tunnelled");
  const appOnly = new RouteTable({ definitions: [catalog("x")], connections: [conn("x", "app", "app_only")] });
  assert.equal(appOnly.match("api.x.com", 443, "/2/tweets/search/recent")?.authType, "app_only", "app-only bearer serves oauth2 routes");
});

test("X's v2 takes OAuth 2.0, else OAuth 1.0a user context, else an app-only bearer: the route's order beats the default", () => {
  const table = (connections: AvailableConnection[], defaults?: Record<string, string>, preferred?: Record<string, string>) =>
    new RouteTable({ definitions: [catalog("x")], connections, defaults, preferred });
  const oauth1Only = table([conn("x", "v1", "oauth1")]);
  assert.equal(oauth1Only.match("api.x.com", 443, "/2/users/me")?.connection, "v1");
  assert.equal(oauth1Only.match("api.twitter.com", 443, "/2/tweets")?.authType, "oauth1");
  assert.equal(oauth1Only.match("api.x.com", 443, "/1.1/statuses/update.json")?.authType, "oauth1");
  const all = [conn("x", "app", "app_only"), conn("x", "v1", "oauth1"), conn("x", "user", "oauth2")];
  // the default is the first login (here the app-only one); the route still prefers a user's OAuth 2.0 token
  assert.equal(table(all, { x: "app" }).match("api.x.com", 443, "/2/tweets")?.connection, "user");
  assert.equal(table(all.slice(0, 2), { x: "app" }).match("api.x.com", 443, "/2/tweets")?.connection, "v1", "user context before app-only");
  assert.equal(table(all.slice(0, 2), { x: "app" }).match("api.x.com", 443, "/1.1/statuses/update.json")?.connection, "v1");
  // within a kind the default comes first, and --use beats the route's order when it fits
  const two = [conn("x", "user", "oauth2"), conn("x", "work", "oauth2"), conn("x", "v1", "oauth1")];
  assert.equal(table(two, { x: "work" }).match("api.x.com", 443, "/2/tweets")?.connection, "work");
  assert.equal(table(two, { x: "v1" }).match("api.x.com", 443, "/2/tweets")?.connection, "user");
  assert.equal(table(two, { x: "user" }, { x: "v1" }).match("api.x.com", 443, "/2/tweets")?.connection, "v1");
  assert.equal(table(two, { x: "user" }, { x: "work" }).match("api.x.com", 443, "/1.1/statuses/update.json")?.connection, "v1", "--use of a kind the route does not take");
});

test("--use wins when it fits, else the default, else the first of the kind", () => {
  const input = { definitions: [catalog("openai")], connections: [conn("openai", "a", "api_key"), conn("openai", "b", "api_key")] };
  assert.equal(new RouteTable(input).match("api.openai.com", 443, "/v1")?.connection, "a");
  assert.equal(new RouteTable({ ...input, defaults: { openai: "b" } }).match("api.openai.com", 443, "/v1")?.connection, "b");
  assert.equal(new RouteTable({ ...input, defaults: { openai: "b" }, preferred: { openai: "a" } }).match("api.openai.com", 443, "/v1")?.connection, "a");
});

test("wildcards match whole labels; host patterns are anchored; exact beats wildcard beats pattern", () => {
  const def = (name: string, routes: ProviderDefinition["routes"]): ProviderDefinition =>
    ({ schema_version: 1, name, display_name: name, auth_type: "api_key", flow: "api_key", routes }) as ProviderDefinition;
  const table = new RouteTable({
    definitions: [def("wild", [{ host: "*.example.com" }]), def("exact", [{ host: "api.example.com" }]), def("pat", [{ host: "", host_pattern: "[a-z]+\\.example\\.(com|org)" }])],
    connections: [conn("wild", "default", "api_key"), conn("exact", "default", "api_key"), conn("pat", "default", "api_key")],
  });
  assert.equal(table.match("api.example.com", 443, "/")?.provider, "exact");
  assert.equal(table.match("a.b.example.com", 443, "/")?.provider, "wild");
  assert.equal(table.match("example.com", 443, "/"), undefined, "*. needs at least one label");
  assert.equal(table.match("web.example.org", 443, "/")?.provider, "pat");
  assert.equal(table.match("web.example.org.evil.test", 443, "/"), undefined, "patterns are anchored");
  assert.equal(table.match("xexample.com", 443, "/"), undefined);
});

test("ties are resolved by provider name and reported once", () => {
  const def = (name: string): ProviderDefinition => ({ schema_version: 1, name, display_name: name, auth_type: "api_key", flow: "api_key", routes: [{ host: "api.shared.test" }] }) as ProviderDefinition;
  const notices: string[] = [];
  const table = new RouteTable({ definitions: [def("zeta"), def("alpha")], connections: [conn("zeta", "default", "api_key"), conn("alpha", "default", "api_key")] }, (m) => notices.push(m));
  for (let i = 0; i < 3; i++) assert.equal(table.match("api.shared.test", 443, "/x")?.provider, "alpha");
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /alpha .* zeta .* both match api\.shared\.test/);
});

test("a definition without routes routes its host_url (with \"routes\": [] nothing); a Python regex: host_url routes nothing (it would match anyone's host)", () => {
  const base = { schema_version: 1, display_name: "d", auth_type: "api_key", flow: "api_key" };
  const table = new RouteTable({
    definitions: [{ ...base, name: "plain", host_url: "https://api.plain.test/v1" } as ProviderDefinition, { ...base, name: "google", host_url: "regex:.*googleapis.*" } as ProviderDefinition],
    connections: [conn("plain", "default", "api_key"), conn("google", "default", "api_key")],
  });
  assert.equal(table.match("api.plain.test", 443, "/v1/x")?.provider, "plain");
  // "routes": [] says so: nowhere, its host_url included
  const none = new RouteTable({ definitions: [{ ...base, name: "plain", host_url: "api.plain.test", routes: [] } as ProviderDefinition], connections: [conn("plain", "default", "api_key")] });
  assert.equal(none.routesHost("api.plain.test", 443), false);
  for (const host of ["www.googleapis.com", "googleapis.attacker.example", "evilgoogleapis.com"]) assert.equal(table.match(host, 443, "/"), undefined, host);
});
