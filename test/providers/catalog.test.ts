// The bundled catalogue: every file is a valid definition (by our validator and by the editor
// JSON Schema), named after its file, at least as wide as the Python reference, with the
// reference's known defects fixed and no client credentials anywhere.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import { validateDefinitionText, expandBaseUrl, routeHostProblem } from "../../src/providers/validate.js";
import type { ProviderDefinition } from "../../src/providers/schema.js";

const catalogDir = fileURLToPath(new URL("../../src/providers/catalog/", import.meta.url));
const schemaPath = fileURLToPath(new URL("../../schema/provider.schema.json", import.meta.url));

const files = readdirSync(catalogDir).filter((f) => f.endsWith(".json")).sort();
const texts = new Map(files.map((f) => [f.slice(0, -".json".length), readFileSync(catalogDir + f, "utf8")]));
const defs = new Map<string, ProviderDefinition>();
for (const [name, text] of texts) defs.set(name, JSON.parse(text) as ProviderDefinition);

function def(name: string): ProviderDefinition {
  const d = defs.get(name);
  assert.ok(d, `catalog has ${name}.json`);
  return d;
}

const REFERENCE_44 = [
  "ahrefs", "apollo", "ashby", "atlassian", "beehiiv", "brevo", "buffer", "calendly", "clearbit", "discord",
  "dub", "g2", "github", "gitlab", "google", "hubspot", "hunter", "instantly", "intercom", "keywords-everywhere",
  "klaviyo-oauth", "klaviyo", "lemlist", "linear", "livestorm", "mailchimp", "mention-me", "microsoft", "notion",
  "openai", "optimizely", "postiz", "postmark", "resend", "rewardful", "savvycal", "semrush", "sendgrid", "slack",
  "tolt", "typeform", "wistia", "x", "zapier",
];

test("the catalogue has at least the 44 services of the reference", () => {
  assert.ok(files.length >= 44, `expected >= 44 files, found ${files.length}`);
  assert.equal(REFERENCE_44.length, 44);
  for (const n of REFERENCE_44) assert.ok(defs.has(n), `missing ${n}.json`);
});

test("every catalogue file parses, validates, and is named after its file", () => {
  for (const [name, text] of texts) {
    const d = validateDefinitionText(text, `${catalogDir}${name}.json`);
    assert.equal(d.name, name, `${name}.json declares name ${JSON.stringify(d.name)}`);
    assert.equal(d.schema_version, 1);
    assert.ok(text.endsWith("}\n"), `${name}.json ends with a newline`);
  }
});

test("every catalogue file validates against schema/provider.schema.json", () => {
  const ajv = new Ajv2020.default({ allErrors: true, strict: true });
  ajv.addFormat("regex", {
    type: "string",
    validate: (s: string) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    },
  });
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")) as object);
  for (const [name, d] of defs) {
    const ok = validate(d);
    assert.ok(ok, `${name}.json: ${ajv.errorsText(validate.errors)}`);
  }
  // The schema is not vacuous: it rejects what the validator rejects.
  const bad: [string, unknown][] = [
    ["missing oauth", { schema_version: 1, name: "a", display_name: "A", auth_type: "oauth2", flow: "pkce" }],
    ["name with ':'", { ...def("openai"), name: "a:b" }],
    ["regex route", { ...def("openai"), routes: [{ host: "regex:.*openai.*" }] }],
    ["bare-suffix wildcard", { ...def("openai"), routes: [{ host: "*.com" }] }],
    ["http token URL", { ...def("slack"), oauth: { ...def("slack").oauth, token_url: "http://slack.com/api/oauth.v2.access" } }],
    ["bad client_auth_method", { ...def("slack"), oauth: { ...def("slack").oauth, client_auth_method: "basic" } }],
    ["lowercase env var", { ...def("openai"), export: { env: { api_key: "openai_key" } } }],
    ["x without oauth1", { ...def("x"), oauth1: null }],
    ["empty route auth list", { ...def("x"), routes: [{ host: "api.x.com", auth: [] }] }],
    ["repeated route auth", { ...def("x"), routes: [{ host: "api.x.com", auth: ["oauth1", "oauth1"] }] }],
  ];
  for (const [why, value] of bad) assert.equal(validate(value), false, `schema should reject: ${why}`);
  // http on loopback and {base_url} templates are fine.
  assert.equal(validate({ ...def("slack"), oauth: { ...def("slack").oauth, token_url: "http://127.0.0.1:8080/token" } }), true);
});

test("the reference's mix of auth types is kept", () => {
  const ref = REFERENCE_44.map(def);
  assert.equal(ref.filter((d) => d.auth_type === "oauth2").length, 13);
  assert.equal(ref.filter((d) => d.auth_type === "api_key").length, 31);
  assert.equal(def("postiz").flow, "device_code");
  assert.equal(def("postiz").oauth?.device_token_request, "json");
  assert.equal(def("linear").flow, "dcr_pkce");
  assert.equal(def("linear").oauth?.supports_dcr, true);
  for (const d of ref) {
    if (d.auth_type === "api_key") assert.equal(d.flow, "api_key", d.name);
    else assert.ok(d.oauth, `${d.name} has an oauth section`);
  }
});

test("every definition has routes: plain or anchored wildcard hosts, never a regex; host_url is a plain host", () => {
  for (const [name, d] of defs) {
    assert.ok(Array.isArray(d.routes) && d.routes.length > 0, `${name} has routes`);
    for (const r of d.routes) {
      assert.equal(routeHostProblem(r.host), null, `${name}: ${r.host}`);
      assert.ok(!r.host.includes("regex"), `${name}: ${r.host}`);
    }
    assert.equal(typeof d.host_url, "string", `${name} keeps host_url`);
    assert.match(d.host_url as string, /^[a-z0-9.-]+$/, `${name}: host_url ${d.host_url} is a plain host`);
  }
});

test("x: endpoints, client auth, rotation, identity, OAuth 1.0a and app-only, routes", () => {
  const x = def("x");
  assert.equal(x.host_url, "api.x.com");
  assert.equal(x.auth_type, "oauth2");
  assert.equal(x.flow, "pkce");
  assert.deepEqual(x.flows, ["pkce", "oauth1", "app_only"]);
  const o = x.oauth!;
  assert.equal(o.authorization_url, "https://x.com/i/oauth2/authorize");
  assert.equal(o.token_url, "https://api.x.com/2/oauth2/token");
  assert.equal(o.revocation_url, "https://api.x.com/2/oauth2/revoke");
  assert.deepEqual(o.scopes, ["tweet.read", "tweet.write", "users.read", "offline.access"]);
  assert.equal(o.client_auth_method, "client_secret_basic");
  assert.equal(o.client_id_in_body, true);
  assert.equal(o.rotates_refresh_token, true);
  assert.deepEqual(o.dead_grant_errors, ["invalid_request"]);
  assert.equal(o.client_id_env, "X_CLIENT_ID");
  assert.equal(o.client_secret_env, "X_CLIENT_SECRET");
  assert.deepEqual(x.identity, {
    url: "https://api.x.com/2/users/me",
    id_path: "data.id",
    label_path: "data.username",
    label_prefix: "@",
  });
  assert.deepEqual(x.export?.env, {
    access_token: "X_ACCESS_TOKEN",
    refresh_token: "X_REFRESH_TOKEN",
    "account.label": "X_USERNAME",
  });
  assert.deepEqual(x.oauth1, {
    request_token_url: "https://api.x.com/oauth/request_token",
    authorize_url: "https://api.x.com/oauth/authorize",
    authenticate_url: "https://api.x.com/oauth/authenticate",
    access_token_url: "https://api.x.com/oauth/access_token",
    invalidate_url: "https://api.x.com/1.1/oauth/invalidate_token",
    consumer_key_env: "X_API_KEY",
    consumer_secret_env: "X_API_SECRET",
    access_token_env: "X_ACCESS_TOKEN",
    access_token_secret_env: "X_ACCESS_TOKEN_SECRET",
  });
  assert.deepEqual(x.app_only, {
    token_url: "https://api.x.com/oauth2/token",
    invalidate_url: "https://api.x.com/oauth2/invalidate_token",
  });
  // v2 takes OAuth 2.0 or OAuth 1.0a user context (x-protocol.md 4.4); v1.1 and uploads only OAuth 1.0a
  const routes = (x.routes ?? []).map((r) => `${r.host}${r.path_prefix ?? ""} ${r.auth ?? "-"}`).sort();
  assert.deepEqual(routes, [
    "api.twitter.com oauth2,oauth1",
    "api.twitter.com/1.1/ oauth1",
    "api.x.com oauth2,oauth1",
    "api.x.com/1.1/ oauth1",
    "upload.twitter.com oauth1",
    "upload.x.com oauth1",
  ]);
  assert.ok(!JSON.stringify(x).includes("twitter.com/i/oauth2"), "no authorize on twitter.com");
  assert.ok(!JSON.stringify(x.oauth).includes("api.twitter.com"), "oauth endpoints on api.x.com");
});

test("notion: HTTP Basic at the token endpoint and the Notion-Version header", () => {
  const n = def("notion");
  assert.equal(n.oauth?.client_auth_method, "client_secret_basic");
  assert.deepEqual(n.headers, { "Notion-Version": "2022-06-28" });
  assert.deepEqual(n.routes, [{ host: "api.notion.com" }]);
});

test("ashby: Basic with base64(\"<key>:\"), not the raw key", () => {
  assert.deepEqual(def("ashby").api_key, { header_name: "Authorization", header_prefix: "Basic", value_format: "basic_username" });
  // lemlist wants the key as the Basic password: base64(":<key>")
  assert.deepEqual(def("lemlist").api_key, { header_name: "Authorization", header_prefix: "Basic", value_format: "basic_password" });
});

test("mailchimp: routes the data-centre hosts <dc>.api.mailchimp.com", () => {
  const m = def("mailchimp");
  assert.deepEqual(m.routes, [{ host: "*.api.mailchimp.com" }]);
});

test("google: host_url is a plain host and routes are anchored to *.googleapis.com", () => {
  const g = def("google");
  assert.equal(g.host_url, "www.googleapis.com");
  assert.deepEqual(g.routes, [{ host: "*.googleapis.com" }]);
  assert.ok(!JSON.stringify(g).includes("regex:"));
  assert.equal(g.oauth?.device_authorization_url, "https://oauth2.googleapis.com/device/code");
});

test("github: templated URLs with base_url, auto token response format, device flow", () => {
  const gh = def("github");
  const o = gh.oauth!;
  assert.equal(o.base_url, "https://github.com");
  assert.equal(o.authorization_url, "{base_url}/login/oauth/authorize");
  assert.equal(o.token_url, "{base_url}/login/oauth/access_token");
  assert.equal(o.device_authorization_url, "{base_url}/login/device/code");
  assert.equal(o.token_response_format, "auto");
  assert.equal(o.supports_device_flow, true);
  assert.equal(o.client_id_env, "GITHUB_CLIENT_ID");
  assert.equal(o.client_secret_env, "GITHUB_CLIENT_SECRET");
  assert.equal(typeof gh.docs, "string");
  const expanded = expandBaseUrl(gh);
  assert.equal(expanded.oauth?.token_url, "https://github.com/login/oauth/access_token");
  assert.equal(expanded.oauth?.device_authorization_url, "https://github.com/login/device/code");
});

test("linear: no revocation URL pointing at the token endpoint", () => {
  const l = def("linear");
  assert.equal(l.oauth?.revocation_url ?? null, null);
  assert.notEqual(l.oauth?.revocation_url, l.oauth?.token_url);
});

test("klaviyo and klaviyo-oauth both exist and share a.klaviyo.com", () => {
  assert.equal(def("klaviyo").auth_type, "api_key");
  assert.equal(def("klaviyo-oauth").auth_type, "oauth2");
  assert.deepEqual(def("klaviyo").routes?.map((r) => r.host), ["a.klaviyo.com"]);
  assert.deepEqual(def("klaviyo-oauth").routes?.map((r) => r.host), ["a.klaviyo.com"]);
});

test("api-key headers and key patterns follow the reference", () => {
  assert.equal(def("openai").api_key?.key_pattern, "^sk-[A-Za-z0-9_-]{20,}$");
  assert.ok(new RegExp(def("openai").api_key!.key_pattern!).test("sk-abcdefghijklmnopqrstuvwxyz"));
  assert.deepEqual(def("brevo").api_key, { header_name: "api-key", header_prefix: "" });
  assert.deepEqual(def("postmark").api_key, { header_name: "X-Postmark-Server-Token", header_prefix: "" });
  assert.deepEqual(def("g2").api_key, { header_name: "Authorization", header_prefix: "Token" });
  assert.deepEqual(def("klaviyo").api_key, { header_name: "Authorization", header_prefix: "Klaviyo-API-Key" });
  assert.equal(def("g2").export?.env?.api_key, "G2_API_TOKEN");
  assert.equal(def("livestorm").export?.env?.api_key, "LIVESTORM_API_TOKEN");
  assert.equal(def("mention-me").export?.env?.api_key, "MENTIONME_API_KEY");
});

test("OAuth providers (other than DCR) name environment variables for client credentials", () => {
  for (const [name, d] of defs) {
    if (d.auth_type !== "oauth2" || d.flow === "dcr_pkce") continue;
    const prefix = name.toUpperCase().replace(/-/g, "_");
    assert.equal(d.oauth?.client_id_env, `${prefix}_CLIENT_ID`, name);
    assert.equal(d.oauth?.client_secret_env, `${prefix}_CLIENT_SECRET`, name);
  }
});

test("export variables are unique across the catalogue", () => {
  const seen = new Map<string, string>();
  for (const [name, d] of defs) {
    for (const v of Object.values(d.export?.env ?? {})) {
      assert.ok(!seen.has(v), `${v} is exported by both ${seen.get(v)} and ${name}`);
      seen.set(v, name);
    }
  }
});

test("no file contains a client id, client secret or any other credential value", () => {
  const credentialKey = /^(client_id|client_secret|consumer_key|consumer_secret|api_key|access_token|refresh_token|token|secret|password|bearer_token)$/i;
  const walk = (v: unknown, path: string, file: string): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`, file));
      return;
    }
    if (typeof v !== "object" || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      const p = `${path}.${k}`;
      if (p === "$.export.env") continue; // record field -> variable name, not values
      assert.ok(!(credentialKey.test(k) && typeof child === "string"), `${file}: ${p} holds a credential value`);
      assert.notEqual(k, "client", `${file}: ${p}: no client section`);
      walk(child, p, file);
    }
  };
  for (const [name, d] of defs) walk(d, "$", `${name}.json`);
  for (const [name, text] of texts) {
    assert.doesNotMatch(text, /"client_(id|secret)"\s*:/, `${name}.json`);
    assert.doesNotMatch(text, /env:[A-Z_]+/, `${name}.json uses the *_env fields instead`);
  }
});
