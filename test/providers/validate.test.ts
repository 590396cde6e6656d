// The provider definition validator: every problem is reported with the file, the JSON path
// and what was expected; valid definitions come back untouched (unknown fields kept).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ProviderDefinitionError, ExitCode } from "../../src/errors.js";
import {
  validateDefinition,
  validateDefinitionText,
  expandBaseUrl,
  collectDefinitionProblems,
  endpointUrlProblem,
  routeHostProblem,
} from "../../src/providers/validate.js";
import type { ProviderDefinition } from "../../src/providers/schema.js";

const FILE = "/home/u/.authsome/providers/acme.json";

function oauthDef(): Record<string, unknown> {
  return {
    schema_version: 1,
    name: "acme",
    display_name: "Acme",
    auth_type: "oauth2",
    flow: "pkce",
    oauth: {
      authorization_url: "https://auth.acme.example/authorize",
      token_url: "https://auth.acme.example/token",
      scopes: ["read"],
    },
    routes: [{ host: "api.acme.example" }],
    export: { env: { access_token: "ACME_ACCESS_TOKEN" } },
  };
}

function apiKeyDef(): Record<string, unknown> {
  return {
    schema_version: 1,
    name: "acmecrm",
    display_name: "Acme CRM",
    auth_type: "api_key",
    flow: "api_key",
    api_key: { header_name: "X-Acme-Key", header_prefix: "" },
    export: { env: { api_key: "ACME_API_KEY" } },
    host_url: "api.acme.example",
  };
}

/** Runs `fn`, expects a ProviderDefinitionError, returns its message lines. */
function problems(fn: () => unknown): string[] {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ProviderDefinitionError, `expected a ProviderDefinitionError, got ${String(caught)}`);
  assert.equal(caught.exitCode, ExitCode.usage);
  assert.ok(caught.hint && caught.hint.length > 0, "the error has a hint");
  return caught.message.split("\n");
}

/** Asserts one line names the file, the JSON path, and contains every expectation fragment. */
function assertLine(lines: string[], path: string, ...fragments: (string | RegExp)[]): void {
  const prefix = `${FILE}: ${path}: `;
  const line = lines.find((l) => l.startsWith(prefix));
  assert.ok(line, `no problem reported at ${path}; got:\n${lines.join("\n")}`);
  for (const f of fragments) {
    if (typeof f === "string") assert.ok(line.includes(f), `"${line}" should contain "${f}"`);
    else assert.match(line, f);
  }
}

test("valid definitions come back as the same object, unknown fields kept", () => {
  const d = { ...oauthDef(), logo: "img.logo.dev/name/acme", oauth: { ...(oauthDef().oauth as object), future_field: 1 } };
  const out = validateDefinition(d, FILE);
  assert.equal(out, d);
  assert.equal((out as Record<string, unknown>).logo, "img.logo.dev/name/acme");
  assert.equal((out.oauth as Record<string, unknown>).future_field, 1);
  // The Python format as written by Python 0.2.3 (user provider file) is accepted as is.
  assert.equal(validateDefinition(apiKeyDef(), FILE).name, "acmecrm");
});

test("malformed JSON is reported with file, line and column", () => {
  const text = '{\n  "schema_version": 1,\n  "name": "acme"\n  "display_name": "Acme"\n}\n';
  const lines = problems(() => validateDefinitionText(text, FILE));
  assert.equal(lines.length, 1);
  assertLine(lines, "$", "malformed JSON", "line 4, column 3", 'expected "," or "}"');

  const trailing = problems(() => validateDefinitionText('{"name": "a",}', FILE));
  assertLine(trailing, "$", "line 1, column 14", "trailing comma");

  const truncated = problems(() => validateDefinitionText('{"name": "a"', FILE));
  assertLine(truncated, "$", "line 1, column 13", "the end of the text");

  const empty = problems(() => validateDefinitionText("", FILE));
  assertLine(empty, "$", "line 1, column 1", "expected a value");
});

test("validateDefinitionText accepts a BOM and then validates the content", () => {
  const d = validateDefinitionText("\uFEFF" + JSON.stringify(apiKeyDef()), FILE);
  assert.equal(d.name, "acmecrm");
  const lines = problems(() => validateDefinitionText(JSON.stringify({ ...apiKeyDef(), name: 7 }), FILE));
  assertLine(lines, "$.name", "expected a string", "got 7");
});

test("not an object at all", () => {
  assertLine(problems(() => validateDefinition([1, 2], FILE)), "$", "expected a JSON object", "got an array");
  assertLine(problems(() => validateDefinition(null, FILE)), "$", "expected a JSON object", "got null");
});

test("missing required fields are all reported, one per line", () => {
  const lines = problems(() => validateDefinition({ routes: [] }, FILE));
  assertLine(lines, "$.schema_version", "expected a number", "missing");
  assertLine(lines, "$.name", "expected a string", "missing");
  assertLine(lines, "$.display_name", "expected a string", "missing");
  assertLine(lines, "$.auth_type", 'expected one of "oauth2", "api_key"', "missing");
  assertLine(lines, "$.flow", 'expected one of "pkce"', "missing");
  assert.equal(lines.length, 5, lines.join("\n"));
});

test("oauth section and its URLs are required for OAuth flows", () => {
  const d = oauthDef();
  delete d.oauth;
  assertLine(problems(() => validateDefinition(d, FILE)), "$.oauth", "expected an object", "auth_type");

  const noToken = oauthDef();
  delete (noToken.oauth as Record<string, unknown>).token_url;
  assertLine(problems(() => validateDefinition(noToken, FILE)), "$.oauth.token_url", "expected a string", "missing");

  const dev = { ...oauthDef(), flow: "device_code" };
  assertLine(problems(() => validateDefinition(dev, FILE)), "$.oauth.device_authorization_url", "device_code");

  const x = { ...oauthDef(), flows: ["pkce", "oauth1", "app_only"] };
  const lines = problems(() => validateDefinition(x, FILE));
  assertLine(lines, "$.oauth1", "expected an object", "oauth1");
  assertLine(lines, "$.app_only", "expected an object", "app_only");
});

test("bad enum values name the allowed values", () => {
  const d = oauthDef();
  (d.oauth as Record<string, unknown>).client_auth_method = "basic";
  (d.oauth as Record<string, unknown>).token_response_format = "xml";
  d.auth_type = "oauth3";
  d.flows = ["pkce", "magic"];
  const lines = problems(() => validateDefinition(d, FILE));
  assertLine(lines, "$.oauth.client_auth_method", '"client_secret_basic", "client_secret_post", "none"', 'got "basic"');
  assertLine(lines, "$.oauth.token_response_format", '"json", "form", "auto"', 'got "xml"');
  assertLine(lines, "$.auth_type", 'expected one of "oauth2", "api_key"', 'got "oauth3"');
  assertLine(lines, "$.flows[1]", "expected one of", 'got "magic"');

  const ak = { ...apiKeyDef(), api_key: { value_format: "base64" } };
  assertLine(problems(() => validateDefinition(ak, FILE)), "$.api_key.value_format", '"raw", "basic_username", "basic_password"');

  const mismatch = { ...apiKeyDef(), flow: "pkce" };
  assertLine(problems(() => validateDefinition(mismatch, FILE)), "$.flow", 'expected "api_key" when auth_type is "api_key"');
});

test("URLs must be https, or http only on a loopback host", () => {
  const d = oauthDef();
  (d.oauth as Record<string, unknown>).token_url = "http://auth.acme.example/token";
  (d.oauth as Record<string, unknown>).authorization_url = "ftp://auth.acme.example/authorize";
  (d.oauth as Record<string, unknown>).revocation_url = "not a url";
  const lines = problems(() => validateDefinition(d, FILE));
  assertLine(lines, "$.oauth.token_url", "expected an https URL (or http on a loopback host)", 'got "http://auth.acme.example/token"');
  assertLine(lines, "$.oauth.authorization_url", "expected an https URL", 'got "ftp://auth.acme.example/authorize"');
  assertLine(lines, "$.oauth.revocation_url", "expected an https URL", "not a URL");

  for (const ok of ["http://127.0.0.1:9000/token", "http://127.8.9.10/token", "http://localhost:3000/t", "http://[::1]:8080/t", "https://auth.acme.example/t"]) {
    assert.equal(endpointUrlProblem(ok), null, ok);
    const good = oauthDef();
    (good.oauth as Record<string, unknown>).token_url = ok;
    validateDefinition(good, FILE);
  }
  for (const bad of ["http://128.0.0.1/t", "http://localhost.evil.example/t", "http://127.0.0.1.evil.example/t", "https://user:pw@auth.acme.example/t"]) {
    assert.notEqual(endpointUrlProblem(bad), null, bad);
  }

  const id = { ...oauthDef(), identity: { url: "http://api.acme.example/me", id_path: "id" } };
  assertLine(problems(() => validateDefinition(id, FILE)), "$.identity.url", "expected an https URL");
});

test("{base_url} templates are checked after substituting oauth.base_url", () => {
  const d = oauthDef();
  Object.assign(d.oauth as object, {
    base_url: "https://github.example.com",
    authorization_url: "{base_url}/login/oauth/authorize",
    token_url: "{base_url}/login/oauth/access_token",
  });
  validateDefinition(d, FILE);

  const insecure = oauthDef();
  Object.assign(insecure.oauth as object, { base_url: "http://github.example.com", token_url: "{base_url}/token" });
  assertLine(problems(() => validateDefinition(insecure, FILE)), "$.oauth.base_url", "expected an https URL");

  // Without a base_url of its own the template is still structurally checked.
  const noBase = oauthDef();
  Object.assign(noBase.oauth as object, { token_url: "{base_url}/token" });
  validateDefinition(noBase, FILE);
  Object.assign(noBase.oauth as object, { token_url: "{base_url} token" });
  assertLine(problems(() => validateDefinition(noBase, FILE)), "$.oauth.token_url", "after substituting {base_url}");
});

test("provider names never contain ':' and follow the store's name rule", () => {
  // the same rule as every provider name a command takes (home/names.ts), length included
  for (const bad of ["a:b", "-acme", "", "acme corp", "../acme", "a".repeat(129)]) {
    const lines = problems(() => validateDefinition({ ...apiKeyDef(), name: bad }, FILE));
    assertLine(lines, "$.name", "expected a provider name (use letters, digits, '.', '_' or '-', starting with a letter or digit; at most 128 characters", `got ${JSON.stringify(bad).slice(0, 40)}`); // long values are shown cut
  }
  for (const ok of ["a", "klaviyo-oauth", "acme_2.v1"]) validateDefinition({ ...apiKeyDef(), name: ok }, FILE);
});

test("route hosts are plain lowercase hosts or anchored wildcards, never regexes", () => {
  const bad: [string, string][] = [
    ["regex:.*googleapis.*", "never a regular expression"],
    [".*googleapis.*", "never a regular expression"],
    ["*.com", "at least two labels"],
    ["*", "lowercase host name"],
    ["API.acme.example", "lowercase host name"],
    ["api.*.example", "lowercase host name"],
    ["https://api.acme.example", "lowercase host name"],
    ["api.acme.example:99999", "port between 1 and 65535"],
    ["api.acme.example/v1", "lowercase host name"],
  ];
  for (const [host, fragment] of bad) {
    const lines = problems(() => validateDefinition({ ...apiKeyDef(), routes: [{ host: "ok.example" }, { host }] }, FILE));
    assertLine(lines, "$.routes[1].host", fragment, `got ${JSON.stringify(host)}`);
  }
  for (const host of ["api.acme.example", "*.googleapis.com", "*.api.mailchimp.com", "localhost:8443", "127.0.0.1:9000"]) {
    assert.equal(routeHostProblem(host), null, host);
  }

  const lines = problems(() =>
    validateDefinition({ ...apiKeyDef(), routes: [{ host: "api.acme.example", path_prefix: "v1/", auth: "oauth1" }, "api.acme.example"] }, FILE),
  );
  assertLine(lines, "$.routes[0].path_prefix", 'expected a path starting with "/"', 'got "v1/"');
  assertLine(lines, "$.routes[0].auth", "oauth1 section");
  assertLine(lines, "$.routes[1]", "expected a route object");
  assertLine(problems(() => validateDefinition({ ...apiKeyDef(), routes: { host: "a.b" } }, FILE)), "$.routes", "expected an array");
});

test("bad key_pattern regular expressions are reported", () => {
  const lines = problems(() => validateDefinition({ ...apiKeyDef(), api_key: { key_pattern: "^sk-[A-Z" } }, FILE));
  assertLine(lines, "$.api_key.key_pattern", "expected a valid regular expression", 'got "^sk-[A-Z"');
});

test("legacy host_url values are accepted, garbage is not", () => {
  for (const h of ["regex:.*googleapis.*", "api.acme.example", "https://api.acme.example", "API.Acme.example", null]) {
    validateDefinition({ ...apiKeyDef(), host_url: h }, FILE);
  }
  assertLine(problems(() => validateDefinition({ ...apiKeyDef(), host_url: "not a host" }, FILE)), "$.host_url", "expected a plain host name");
  assertLine(problems(() => validateDefinition({ ...apiKeyDef(), host_url: 3 }, FILE)), "$.host_url", "expected a string or null");
});

test("export variables, headers, arrays and env names are typed", () => {
  const d = {
    ...oauthDef(),
    export: { env: { access_token: "acme-token", refresh_token: 5 } },
    headers: { "Notion-Version": 2022, "Bad Header": "x" },
  };
  Object.assign((d as Record<string, unknown>).oauth as object, { scopes: "read write", dead_grant_errors: [1], client_id_env: "acme_id", pkce: "yes" });
  const lines = problems(() => validateDefinition(d, FILE));
  assertLine(lines, "$.export.env.access_token", "environment variable name matching ^[A-Z_][A-Z0-9_]*$", "got a 10-character value that is not one");
  assertLine(lines, "$.export.env.refresh_token", "expected a string", "got 5");
  assertLine(lines, '$.headers["Notion-Version"]', "expected a string", "got 2022");
  assertLine(lines, '$.headers["Bad Header"]', "HTTP header name");
  assertLine(lines, "$.oauth.scopes", "expected an array of strings");
  assertLine(lines, "$.oauth.dead_grant_errors[0]", "expected a string");
  assertLine(lines, "$.oauth.client_id_env", "environment variable name");
  assertLine(lines, "$.oauth.pkce", "expected true or false");
  assert.ok(lines.length >= 8);
});

test("a secret pasted where a variable's name belongs is never echoed", () => {
  const secret = "0123456789abcdef0123456789abcdef01234567";
  const d = { ...oauthDef(), export: { env: { access_token: secret } } };
  Object.assign((d as Record<string, unknown>).oauth as object, { client_secret_env: secret });
  const message = problems(() => validateDefinition(d, FILE)).join("\n");
  assert.match(message, /\$\.oauth\.client_secret_env: expected an environment variable name .*\(the variable's name, never the secret itself\), got a 40-character value/);
  assert.match(message, /\$\.export\.env\.access_token: expected an environment variable name/);
  assert.ok(!message.includes(secret.slice(0, 12)), message);
});

test("the error message never echoes unrelated fields and truncates long values", () => {
  const long = "x".repeat(500);
  const lines = problems(() => validateDefinition({ ...apiKeyDef(), name: `${long}:`, client_secret: "s3cr3t-value" }, FILE));
  assert.ok(lines.every((l) => l.length < 400));
  assert.ok(lines.every((l) => !l.includes("s3cr3t-value")));
});

test("collectDefinitionProblems returns an empty list for valid definitions", () => {
  assert.deepEqual(collectDefinitionProblems(oauthDef()), []);
  assert.ok(collectDefinitionProblems({}).length > 0);
});

test("expandBaseUrl substitutes {base_url} in a copy", () => {
  const d = oauthDef() as unknown as ProviderDefinition;
  Object.assign(d.oauth!, {
    base_url: "https://github.com",
    authorization_url: "{base_url}/login/oauth/authorize",
    token_url: "{base_url}/login/oauth/access_token",
    device_authorization_url: "{base_url}/login/device/code",
    revocation_url: null,
  });
  const own = expandBaseUrl(d);
  assert.equal(own.oauth?.authorization_url, "https://github.com/login/oauth/authorize");
  assert.equal(own.oauth?.device_authorization_url, "https://github.com/login/device/code");
  assert.equal(own.oauth?.revocation_url, null);
  assert.equal(d.oauth?.token_url, "{base_url}/login/oauth/access_token", "the original is untouched");

  const ghe = expandBaseUrl(d, "https://ghe.example.com/");
  assert.equal(ghe.oauth?.token_url, "https://ghe.example.com/login/oauth/access_token");
  assert.equal(ghe.oauth?.base_url, "https://ghe.example.com");
  validateDefinition(ghe, FILE);

  assert.throws(() => expandBaseUrl(d, "http://ghe.example.com"), ProviderDefinitionError);
  const noBase = structuredClone(d);
  delete noBase.oauth!.base_url;
  assert.throws(() => expandBaseUrl(noBase), (e: unknown) => e instanceof ProviderDefinitionError && e.message.includes("{base_url}"));
  // Nothing templated: a plain copy.
  const plain = oauthDef() as unknown as ProviderDefinition;
  const copy = expandBaseUrl(plain);
  assert.notEqual(copy, plain);
  assert.deepEqual(copy, plain);
});

test("another deployment's base URL (GitHub Enterprise): the public service's fixed hosts are not its routes, nor its identity endpoint", async () => {
  const { RouteTable } = await import("../../src/proxy/router.js");
  const file = new URL("../../src/providers/catalog/github.json", import.meta.url);
  const github = validateDefinitionText(readFileSync(file, "utf8"), "github.json");
  const ghe = expandBaseUrl(github, "https://github.example.com/");
  assert.deepEqual(ghe.routes, [{ host: "github.example.com" }]);
  assert.equal(ghe.host_url, "github.example.com");
  assert.equal(ghe.identity, null, "https://api.github.com/user would get the Enterprise token");
  const table = new RouteTable({ definitions: [ghe], connections: [{ provider: "github", connection: "default", authType: "oauth2" }] });
  assert.equal(table.match("api.github.com", 443, "/user"), undefined);
  assert.equal(table.match("github.example.com", 443, "/api/v3/user")?.provider, "github");
  assert.equal(table.match("github.example.com", 443, "/login/oauth/access_token"), undefined, "its auth endpoints stay uninjected");
  // the definition's own base changes nothing
  assert.deepEqual(expandBaseUrl(github, "https://github.com").routes, github.routes);
  assert.deepEqual(expandBaseUrl(github, "https://github.com").identity, github.identity);
});

test("routes: a host pattern names hosts of one domain; unknown keys and host beside host_pattern are refused", () => {
  const withRoutes = (routes: unknown[]) => collectDefinitionProblems({ ...apiKeyDef(), routes }).map((p) => `${p.path}: ${p.message}`);
  for (const pattern of [".*\\.legacy\\.test", "api\\.example\\.com", "(api|www)\\.example\\.com", "[a-z0-9-]+\\.googleapis\\.com"]) assert.deepEqual(withRoutes([{ host_pattern: pattern }]), [], pattern);
  for (const pattern of [".*", "googleapis\\..*", ".*googleapis\\.com", ".*googleapis.*", "com", ".*|x\\.evil\\.com"]) {
    assert.match(withRoutes([{ host_pattern: pattern }]).join("\n"), /^\$\.routes\[0\]\.host_pattern: expected a pattern/, pattern);
  }
  assert.match(withRoutes([{ host: "slack.com", "path-prefix": "/api/" }]).join("\n"), /\$\.routes\[0\]\.path-prefix: expected one of the route's keys/);
  assert.match(withRoutes([{ host: "api.any.com", host_pattern: ".*\\.any\\.com" }]).join("\n"), /\$\.routes\[0\]: expected host or host_pattern, got both/);
});

test("a route's auth is one kind or a list of distinct kinds, each of which the definition has", () => {
  const withRoutes = (d: Record<string, unknown>, auth: unknown) => collectDefinitionProblems({ ...d, routes: [{ host: "api.acme.example", auth }] }).map((p) => `${p.path}: ${p.message}`).join("\n");
  const both = { ...oauthDef(), flows: ["pkce", "oauth1"], oauth1: { request_token_url: "https://acme.example/rt", authorize_url: "https://acme.example/a", authenticate_url: "https://acme.example/in", access_token_url: "https://acme.example/at" } };
  assert.equal(withRoutes(both, ["oauth2", "oauth1"]), "");
  assert.equal(withRoutes(both, "oauth1"), "");
  assert.match(withRoutes(both, []), /^\$\.routes\[0\]\.auth: expected one of "oauth2", "api_key", "oauth1", "app_only" or a list of them, got \[\]$/);
  assert.match(withRoutes(both, ["oauth1", "oauth1"]), /^\$\.routes\[0\]\.auth: expected each kind once, got "oauth1" twice$/);
  assert.match(withRoutes(both, ["oauth2", "bearer"]), /^\$\.routes\[0\]\.auth\[1\]: expected one of "oauth2", "api_key", "oauth1", "app_only", got "bearer"$/);
  assert.match(withRoutes(oauthDef(), ["oauth2", "oauth1"]), /^\$\.routes\[0\]\.auth: expected the definition to have an oauth1 section for a route with auth "oauth1", got none$/);
  assert.match(withRoutes(both, { kind: "oauth2" }), /^\$\.routes\[0\]\.auth: expected one of "oauth2"/);
  assert.match(collectDefinitionProblems({ ...both, oauth1: { ...both.oauth1, authenticate_url: "http://acme.example/in" } }).map((p) => p.path).join("\n"), /^\$\.oauth1\.authenticate_url$/);
});

test("headers the proxy frames or addresses messages by are never a definition's, and no control character is in a header value", () => {
  const found = (d: Record<string, unknown>) => collectDefinitionProblems(d).map((p) => `${p.path}: ${p.message}`).join("\n");
  for (const name of ["Host", "content-length", "Transfer-Encoding", "Connection", "Proxy-Authorization"]) {
    assert.match(found({ ...apiKeyDef(), api_key: { header_name: name } }), /\$\.api_key\.header_name: expected a header the proxy does not frame/, name);
    assert.match(found({ ...apiKeyDef(), headers: { [name]: "x" } }), /expected a header the proxy does not frame/, name);
  }
  assert.match(found({ ...apiKeyDef(), api_key: { header_prefix: "Bearer\u0001" } }), /header_prefix: expected text without line breaks or control characters/);
  assert.match(found({ ...apiKeyDef(), headers: { "X-Version": "1\u0000" } }), /expected a header value without line breaks or control characters/);
  assert.equal(found({ ...apiKeyDef(), headers: { "X-Tabbed": "a\tb" } }), "", "a tab is allowed");
});
