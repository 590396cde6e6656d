// authHeaders: the one place a connection becomes a request's credential headers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { authHeaders } from "../../src/auth/request-auth.js";
import type { AuthsomeError } from "../../src/errors.js";
import { signOAuth1Request } from "../../src/auth/oauth1/sign.js";
import { newConnection, type ClientRecord } from "../../src/vault/records.js";
import type { ProviderDefinition } from "../../src/providers/schema.js";

const def = (extra: Partial<ProviderDefinition> = {}): ProviderDefinition =>
  ({ schema_version: 1, name: "p", display_name: "P", auth_type: "api_key", flow: "api_key", ...extra }) as ProviderDefinition;
const base = { provider: "p", profile: "default", connection_name: "default" };
const req = { method: "GET", url: "https://api.p.test/v1/x?a=1" };

test("bearer for oauth2 and app_only, with the definition's extra headers", () => {
  const d = def({ headers: { "Notion-Version": "2022-06-28" } });
  assert.deepEqual(authHeaders(d, newConnection({ ...base, auth_type: "oauth2", access_token: "tok" }), undefined, req, undefined), { "Notion-Version": "2022-06-28", Authorization: "Bearer tok" });
  assert.deepEqual(authHeaders(d, newConnection({ ...base, auth_type: "app_only", access_token: "app" }), undefined, req, undefined).Authorization, "Bearer app");
});

test("API keys: header name, prefix and value format", () => {
  const key = newConnection({ ...base, auth_type: "api_key", api_key: "k3y" });
  assert.deepEqual(authHeaders(def({ api_key: {} }), key, undefined, req, undefined), { Authorization: "Bearer k3y" });
  assert.deepEqual(authHeaders(def({ api_key: { header_name: "X-Api-Key", header_prefix: "" } }), key, undefined, req, undefined), { "X-Api-Key": "k3y" });
  assert.equal(authHeaders(def({ api_key: { header_prefix: "Basic", value_format: "basic_username" } }), key, undefined, req, undefined).Authorization, `Basic ${Buffer.from("k3y:").toString("base64")}`);
  assert.equal(authHeaders(def({ api_key: { header_prefix: "Basic", value_format: "basic_password" } }), key, undefined, req, undefined).Authorization, `Basic ${Buffer.from(":k3y").toString("base64")}`);
});

test("OAuth 1.0a: form bodies are signed, JSON bodies are not", () => {
  const record = newConnection({ ...base, auth_type: "oauth1", access_token: "tok", token_secret: "ts" });
  const client = { client_id: "oauth2-client", client_secret: "oauth2-secret", consumer_key: "ck", consumer_secret: "cs" } as unknown as ClientRecord;
  const params = (h: string) => Object.fromEntries([...h.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, decodeURIComponent(m[2]!)]));
  const check = (r: { method: string; url: string; body?: string; contentType?: string }, form?: Record<string, string>) => {
    const header = authHeaders(def(), record, client, r, undefined).Authorization!;
    const p = params(header);
    const expected = signOAuth1Request({ method: r.method, url: r.url, ...(form ? { form } : {}), consumerKey: "ck", consumerSecret: "cs", token: "tok", tokenSecret: "ts", nonce: p.oauth_nonce!, timestamp: p.oauth_timestamp! });
    assert.equal(header, expected);
  };
  check({ method: "POST", url: "https://api.p.test/1.1/s.json?q=a+b", body: "status=hi%20there&n=1", contentType: "application/x-www-form-urlencoded; charset=utf-8" }, { status: "hi there", n: "1" });
  check({ method: "POST", url: "https://api.p.test/1.1/s.json", body: '{"status":"x"}', contentType: "application/json" });
  assert.throws(() => authHeaders(def(), record, undefined, req, undefined), /consumer key and secret/);
});

test("missing or unusable credentials are errors without the secret", () => {
  assert.throws(() => authHeaders(def(), newConnection({ ...base, auth_type: "oauth2" }), undefined, req, undefined), (e: AuthsomeError) => /no access token/.test(e.message) && e.hint === "run `authsome login p --force`");
  // the hint names the profile it is given (Connections.hintScope), not the record's
  assert.throws(() => authHeaders(def(), newConnection({ ...base, auth_type: "oauth2" }), undefined, req, { profile: "default" }), (e: AuthsomeError) => e.hint === "run `authsome login p --profile default --force`");
  assert.throws(() => authHeaders(def(), newConnection({ ...base, auth_type: "api_key", api_key: "a\r\nX-Evil: 1" }), undefined, req, undefined), (e: Error) => !e.message.includes("Evil"));
});
