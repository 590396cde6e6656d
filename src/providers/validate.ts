// Validation of provider definitions (bundled catalogue files and user-registered ones).
// Pure: no I/O. Every problem is reported with the file, the JSON path and what was expected,
// all of them at once, one per line. Unknown fields are allowed and kept (the value itself is
// returned, not a stripped copy), so definitions round-trip through `inspect`/`register`.

import { fileURLToPath } from "node:url";
import { ProviderDefinitionError } from "../errors.js";
import { isValidName, NAME_RULE } from "../home/names.js";
import type { FlowType, ProviderDefinition } from "./schema.js";

/** The JSON schema of a definition, as installed with the package (for hints). */
export const SCHEMA_FILE = fileURLToPath(new URL("../../schema/provider.schema.json", import.meta.url));

export const ENV_VAR_RE = /^[A-Z_][A-Z0-9_]*$/;

const AUTH_TYPES = ["oauth2", "api_key"] as const;
const FLOW_TYPES = ["pkce", "device_code", "dcr_pkce", "api_key", "oauth1", "app_only"] as const;
const CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;
const DEVICE_TOKEN_REQUESTS = ["form", "json"] as const;
const TOKEN_RESPONSE_FORMATS = ["json", "form", "auto"] as const;
const VALUE_FORMATS = ["raw", "basic_username", "basic_password"] as const;
const ROUTE_AUTHS = ["oauth2", "api_key", "oauth1", "app_only"] as const;
/** Flows that need an `oauth` section. */
const OAUTH_FLOWS: readonly string[] = ["pkce", "device_code", "dcr_pkce"];

const URL_EXPECTATION = "an https URL (or http on a loopback host)";
/** Stands in for `{base_url}` when a template has no base URL of its own to check against. */
const PLACEHOLDER_BASE = "https://base-url.invalid";

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const PORT = "(?::([0-9]{1,5}))?";
const PLAIN_HOST_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*${PORT}$`);
const WILDCARD_HOST_RE = new RegExp(`^\\*\\.${LABEL}(?:\\.${LABEL})+${PORT}$`);
/** RFC 9110 token characters: what a header name may contain. */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Fields the proxy frames, addresses or connects a message by: a definition's credential or extra header never takes their place. */
const RESERVED_HEADERS = ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade", "expect"];
/** Control characters other than HTAB (RFC 9110 5.5): never in a header value. */
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** The keys a route object may have. */
const ROUTE_KEYS = ["host", "host_pattern", "path_prefix", "auth"];

/** One thing wrong with a definition. */
export interface DefinitionProblem {
  /** JSON path, like `$.oauth.token_url`. */
  path: string;
  /** What was expected and what was found. */
  message: string;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short, safe description of a value for an error message. */
function describe(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  if (v === null) return "null";
  if (typeof v === "string") {
    const s = v.length > 80 ? `${v.slice(0, 77)}...` : v;
    return JSON.stringify(s);
  }
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "an array";
  return "an object";
}

function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === "localhost" || h === "[::1]" || h === "::1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255);
}

/**
 * Why `url` is not acceptable as an endpoint, or null when it is: https anywhere, http only on
 * loopback (127.0.0.0/8, ::1, localhost), no user info in it.
 */
export function endpointUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `expected ${URL_EXPECTATION}, got ${describe(url)} (not a URL)`;
  }
  if (parsed.protocol === "https:") {
    // fall through to the user-info check
  } else if (parsed.protocol === "http:") {
    if (!isLoopbackHost(parsed.hostname)) {
      return `expected ${URL_EXPECTATION}, got ${describe(url)} (http is only allowed on 127.0.0.0/8, ::1 or localhost)`;
    }
  } else {
    return `expected ${URL_EXPECTATION}, got ${describe(url)}`;
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return `expected ${URL_EXPECTATION} without user name or password in it, got a URL with credentials`;
  }
  return null;
}

/** Why `host` is not a valid route host, or null. Exported for the router and `register`. */
export function routeHostProblem(host: string): string | null {
  const expected =
    'expected a lowercase host name (optionally with ":port") or "*." followed by a host name of at least two labels';
  const plain = PLAIN_HOST_RE.exec(host);
  const wild = plain ? null : WILDCARD_HOST_RE.exec(host);
  const m = plain ?? wild;
  if (!m || host.length > 260) {
    if (host.startsWith("regex:") || /[\\^$()[\]|+?]|\.\*|.\*/.test(host)) {
      return `${expected} (never a regular expression), got ${describe(host)}`;
    }
    return `${expected}, got ${describe(host)}`;
  }
  const port = m[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    return `expected a port between 1 and 65535, got ${describe(host)}`;
  }
  return null;
}

class Checker {
  readonly problems: DefinitionProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Reports a wrong type; returns whether `v` is a string. */
  string(obj: Obj, key: string, path: string, opts: { required?: boolean; nullable?: boolean; nonEmpty?: boolean } = {}): boolean {
    const v = obj[key];
    const p = childPath(path, key);
    if (v === undefined) {
      if (opts.required) this.add(p, `expected a string, got ${describe(v)}`);
      return false;
    }
    if (v === null && opts.nullable && !opts.required) return false;
    if (typeof v !== "string") {
      this.add(p, `expected a string${opts.nullable ? " or null" : ""}, got ${describe(v)}`);
      return false;
    }
    if (opts.nonEmpty && v.trim() === "") {
      this.add(p, `expected a non-empty string, got ""`);
      return false;
    }
    return true;
  }

  boolean(obj: Obj, key: string, path: string): void {
    const v = obj[key];
    if (v !== undefined && typeof v !== "boolean") this.add(childPath(path, key), `expected true or false, got ${describe(v)}`);
  }

  oneOf(obj: Obj, key: string, path: string, allowed: readonly string[], required = false): string | undefined {
    const v = obj[key];
    const p = childPath(path, key);
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || !allowed.includes(v)) {
      this.add(p, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  stringArray(obj: Obj, key: string, path: string, allowed?: readonly string[]): string[] | undefined {
    const v = obj[key];
    const p = childPath(path, key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.add(p, `expected an array of strings, got ${describe(v)}`);
      return undefined;
    }
    const good: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== "string") {
        this.add(childPath(p, i), `expected a string, got ${describe(item)}`);
      } else if (allowed && !allowed.includes(item)) {
        this.add(childPath(p, i), `expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${describe(item)}`);
      } else {
        good.push(item);
      }
    });
    return good;
  }

  stringMap(obj: Obj, key: string, path: string, check?: (k: string, v: string, p: string) => void): void {
    const v = obj[key];
    const p = childPath(path, key);
    if (v === undefined) return;
    if (!isObject(v)) {
      this.add(p, `expected an object of strings, got ${describe(v)}`);
      return;
    }
    for (const [k, val] of Object.entries(v)) {
      const kp = childPath(p, k);
      if (typeof val !== "string") this.add(kp, `expected a string, got ${describe(val)}`);
      else check?.(k, val, kp);
    }
  }

  envName(obj: Obj, key: string, path: string): void {
    if (this.string(obj, key, path)) {
      const v = obj[key] as string;
      if (!ENV_VAR_RE.test(v)) this.add(childPath(path, key), notAnEnvName(v));
    }
  }

  /** A URL field; `{base_url}` is substituted first when `base` is given (oauth URLs only). */
  url(obj: Obj, key: string, path: string, opts: { required?: boolean; base?: string | undefined } = {}): void {
    if (!this.string(obj, key, path, { required: opts.required, nullable: !opts.required })) return;
    let v = obj[key] as string;
    if (opts.base !== undefined) v = v.split("{base_url}").join(opts.base);
    const problem = endpointUrlProblem(v);
    if (problem) {
      const shown = v === obj[key] ? problem : `${problem.replace(/, got .*$/, "")}, got ${describe(obj[key])} (after substituting {base_url})`;
      this.add(childPath(path, key), shown);
    }
  }

  /** A section that may be absent or null; returns it when it is an object. */
  section(obj: Obj, key: string, required: string | null): Obj | undefined {
    const v = obj[key];
    const p = childPath("$", key);
    if (v === undefined || v === null) {
      if (required) this.add(p, `expected an object (${required}), got ${describe(v)}`);
      return undefined;
    }
    if (!isObject(v)) {
      this.add(p, `expected an object${required ? "" : " or null"}, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }
}

function checkOAuth(c: Checker, oauth: Obj, flows: ReadonlySet<string>): void {
  const path = "$.oauth";
  let base: string | undefined;
  if (c.string(oauth, "base_url", path, { nullable: true })) {
    const b = oauth.base_url as string;
    const problem = endpointUrlProblem(b);
    if (problem) c.add(`${path}.base_url`, problem);
    else base = b.replace(/\/+$/, "");
  }
  // A template without its own base URL is checked against a placeholder base; the real one
  // comes at login (GitHub Enterprise and the like).
  const templBase = base ?? PLACEHOLDER_BASE;
  c.url(oauth, "authorization_url", path, { required: true, base: templBase });
  c.url(oauth, "token_url", path, { required: true, base: templBase });
  for (const k of ["revocation_url", "device_authorization_url", "registration_endpoint", "resource_url", "issuer"]) {
    c.url(oauth, k, path, { base: templBase });
  }
  if (flows.has("device_code") && (oauth.device_authorization_url === undefined || oauth.device_authorization_url === null)) {
    c.add(`${path}.device_authorization_url`, `expected ${URL_EXPECTATION} (the device_code flow needs it), got ${describe(oauth.device_authorization_url)}`);
  }
  c.stringArray(oauth, "scopes", path);
  for (const k of ["pkce", "supports_device_flow", "supports_dcr", "client_id_in_body", "rotates_refresh_token"]) {
    c.boolean(oauth, k, path);
  }
  c.oneOf(oauth, "device_token_request", path, DEVICE_TOKEN_REQUESTS);
  c.oneOf(oauth, "client_auth_method", path, CLIENT_AUTH_METHODS);
  c.oneOf(oauth, "token_response_format", path, TOKEN_RESPONSE_FORMATS);
  c.stringArray(oauth, "dead_grant_errors", path);
  c.envName(oauth, "client_id_env", path);
  c.envName(oauth, "client_secret_env", path);
  c.stringMap(oauth, "authorize_params", path);
}

function checkApiKey(c: Checker, apiKey: Obj): void {
  const path = "$.api_key";
  if (c.string(apiKey, "header_name", path)) {
    const problem = headerNameProblem(apiKey.header_name as string);
    if (problem) c.add(`${path}.header_name`, problem);
  }
  if (c.string(apiKey, "header_prefix", path)) {
    const p = apiKey.header_prefix as string;
    if (CONTROL_RE.test(p)) c.add(`${path}.header_prefix`, `expected text without line breaks or control characters, got ${describe(p)}`);
  }
  c.oneOf(apiKey, "value_format", path, VALUE_FORMATS);
  if (c.string(apiKey, "key_pattern", path)) {
    try {
      new RegExp(apiKey.key_pattern as string);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      c.add(`${path}.key_pattern`, `expected a valid regular expression, got ${describe(apiKey.key_pattern)} (${why})`);
    }
  }
  c.envName(apiKey, "env", path);
}

function checkOAuth1(c: Checker, s: Obj): void {
  const path = "$.oauth1";
  c.url(s, "request_token_url", path, { required: true });
  c.url(s, "authorize_url", path, { required: true });
  c.url(s, "authenticate_url", path);
  c.url(s, "access_token_url", path, { required: true });
  c.url(s, "invalidate_url", path);
  c.envName(s, "consumer_key_env", path);
  c.envName(s, "consumer_secret_env", path);
  c.envName(s, "access_token_env", path);
  c.envName(s, "access_token_secret_env", path);
}

function checkAppOnly(c: Checker, s: Obj): void {
  const path = "$.app_only";
  c.url(s, "token_url", path, { required: true });
  c.url(s, "invalidate_url", path);
}

function checkIdentity(c: Checker, s: Obj): void {
  const path = "$.identity";
  c.url(s, "url", path, { required: true });
  c.string(s, "id_path", path, { required: true, nonEmpty: true });
  c.string(s, "label_path", path, { nonEmpty: true });
  c.string(s, "label_prefix", path);
}

function checkRoutes(c: Checker, def: Obj, has: { oauth: boolean; apiKey: boolean; oauth1: boolean; appOnly: boolean }): void {
  const routes = def.routes;
  if (routes === undefined) return;
  if (!Array.isArray(routes)) {
    c.add("$.routes", `expected an array of routes ({host, path_prefix?, auth?}), got ${describe(routes)}`);
    return;
  }
  routes.forEach((r, i) => {
    const p = `$.routes[${i}]`;
    if (!isObject(r)) {
      c.add(p, `expected a route object ({host, path_prefix?, auth?}), got ${describe(r)}`);
      return;
    }
    // a misspelt key (path-prefix) would leave the route wider than meant
    for (const key of Object.keys(r)) if (!ROUTE_KEYS.includes(key)) c.add(`${p}.${key}`, `expected one of the route's keys (${ROUTE_KEYS.join(", ")}), got ${JSON.stringify(key)}`);
    const hasPattern = typeof r.host_pattern === "string";
    if (hasPattern && r.host !== undefined) c.add(p, "expected host or host_pattern, got both (the pattern would route hosts the host does not name)");
    if (c.string(r, "host", p, { required: !hasPattern })) {
      const problem = routeHostProblem(r.host as string);
      if (problem) c.add(`${p}.host`, problem);
    }
    if (c.string(r, "host_pattern", p, { nonEmpty: true })) {
      const problem = hostPatternProblem(r.host_pattern as string);
      if (problem) c.add(`${p}.host_pattern`, problem);
    }
    if (c.string(r, "path_prefix", p)) {
      const pp = r.path_prefix as string;
      if (!pp.startsWith("/")) c.add(`${p}.path_prefix`, `expected a path starting with "/", got ${describe(pp)}`);
    }
    const kinds = routeAuthKinds(c, r, p);
    const needs: Record<string, [boolean, string]> = {
      oauth2: [has.oauth, "an oauth section"],
      oauth1: [has.oauth1, "an oauth1 section"],
      app_only: [has.appOnly, "an app_only section"],
      api_key: [has.apiKey, 'auth_type "api_key" or "api_key" among the flows'],
    };
    for (const auth of kinds) {
      const need = needs[auth];
      if (need && !need[0]) c.add(`${p}.auth`, `expected the definition to have ${need[1]} for a route with auth ${JSON.stringify(auth)}, got none`);
    }
  });
}

/** A route's `auth`: one kind, or a non-empty list of distinct kinds in order of preference. */
function routeAuthKinds(c: Checker, r: Obj, p: string): string[] {
  if (!Array.isArray(r.auth)) {
    const one = c.oneOf(r, "auth", p, ROUTE_AUTHS);
    return one === undefined ? [] : [one];
  }
  const kinds = c.stringArray(r, "auth", p, ROUTE_AUTHS) ?? [];
  if (r.auth.length === 0) c.add(`${p}.auth`, `expected one of ${ROUTE_AUTHS.map((a) => JSON.stringify(a)).join(", ")} or a list of them, got []`);
  const repeated = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (repeated) c.add(`${p}.auth`, `expected each kind once, got ${JSON.stringify(repeated)} twice`);
  return kinds;
}

/**
 * What is wrong with a value that should name an environment variable. The value is not shown: the
 * usual mistake is the secret itself in place of its variable's name, and errors reach logs.
 */
function notAnEnvName(value: string): string {
  return `expected an environment variable name matching ${ENV_VAR_RE.source} (the variable's name, never the secret itself), got a ${value.length}-character value that is not one`;
}

function headerNameProblem(name: string): string | undefined {
  if (!HEADER_NAME_RE.test(name)) return `expected an HTTP header name (letters, digits and !#$%&'*+.^_\`|~-), got ${describe(name)}`;
  if (RESERVED_HEADERS.includes(name.toLowerCase())) return `expected a header the proxy does not frame or address messages by (not ${RESERVED_HEADERS.join(", ")}), got ${describe(name)}`;
  return undefined;
}

/**
 * A host pattern (anchored by the router) must name hosts of one domain: it ends in that domain,
 * written literally with escaped dots (at least two labels, after an escaped dot or alone), and has no
 * alternative at its top level. `.*`, `googleapis\..*` or `.*googleapis\.com` could route a
 * credential to anyone's host.
 */
function hostPatternProblem(pattern: string): string | undefined {
  try {
    new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    return `expected a valid regular expression, got ${describe(pattern)} (${e instanceof Error ? e.message : String(e)})`;
  }
  const body = pattern.replace(/^\^/, "").replace(/\$$/, "");
  if (topLevelAlternative(body)) return `expected a pattern without a top-level alternative (group it: (a|b)\\.example\\.com), got ${describe(pattern)}`;
  if (!/(?:^|\\\.)[a-z0-9-]+(?:\\\.[a-z0-9-]+)+$/i.test(body)) {
    return `expected a pattern ending in its domain, written literally after an escaped dot (like .*\\.example\\.com), got ${describe(pattern)}`;
  }
  return undefined;
}

/** Whether a regular expression has a `|` outside every group and class. */
function topLevelAlternative(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === "\\") i++;
    else if (inClass) inClass = ch !== "]";
    else if (ch === "[") inClass = true;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "|" && depth === 0) return true;
  }
  return false;
}

function checkHostUrl(c: Checker, def: Obj): void {
  if (!c.string(def, "host_url", "$", { nullable: true })) return;
  const h = def.host_url as string;
  // Legacy Python "regex:<re>" values are accepted and ignored for routing (routes are used instead).
  if (h.startsWith("regex:")) return;
  // Python also reads a full URL here and keeps its host name.
  let host = h;
  if (h.includes("://")) {
    try {
      const u = new URL(h);
      host = u.protocol === "https:" || u.protocol === "http:" ? u.host : "";
    } catch {
      host = "";
    }
  }
  const problem = host === "" ? "not a host" : routeHostProblem(host.toLowerCase());
  if (problem || host.startsWith("*.")) {
    c.add("$.host_url", `expected a plain host name (optionally with ":port"), an http(s) URL or "regex:<expression>", got ${describe(h)}`);
  }
}

/** Every problem of `value` as a provider definition; empty when it is valid. */
export function collectDefinitionProblems(value: unknown): DefinitionProblem[] {
  const c = new Checker();
  if (!isObject(value)) {
    c.add("$", `expected a JSON object (a provider definition), got ${describe(value)}`);
    return c.problems;
  }
  const def = value;

  const sv = def.schema_version;
  if (typeof sv !== "number" || !Number.isFinite(sv)) c.add("$.schema_version", `expected a number (1), got ${describe(sv)}`);

  if (c.string(def, "name", "$", { required: true })) {
    if (!isValidName(def.name)) {
      c.add("$.name", `expected a provider name (${NAME_RULE}; at most 128 characters, never ":"), got ${describe(def.name)}`);
    }
  }
  c.string(def, "display_name", "$", { required: true });
  const authType = c.oneOf(def, "auth_type", "$", AUTH_TYPES, true);
  const flow = c.oneOf(def, "flow", "$", FLOW_TYPES, true);
  const extraFlows = c.stringArray(def, "flows", "$", FLOW_TYPES) ?? [];
  const flows = new Set<string>([...(flow ? [flow] : []), ...extraFlows]);

  if (authType === "api_key" && flow !== undefined && flow !== "api_key") {
    c.add("$.flow", `expected "api_key" when auth_type is "api_key", got ${describe(flow)}`);
  }
  if (authType === "oauth2" && flow === "api_key") {
    c.add("$.flow", `expected an OAuth flow ("pkce", "device_code", "dcr_pkce", "oauth1" or "app_only") when auth_type is "oauth2", got "api_key"`);
  }

  const needsOAuth = authType === "oauth2" && !(flow === "oauth1" || flow === "app_only")
    ? "auth_type is \"oauth2\""
    : [...flows].some((f) => OAUTH_FLOWS.includes(f))
      ? `flow ${[...flows].filter((f) => OAUTH_FLOWS.includes(f)).map((f) => JSON.stringify(f)).join(", ")} needs it`
      : null;
  const oauth = c.section(def, "oauth", needsOAuth);
  if (oauth) checkOAuth(c, oauth, flows);

  const apiKey = c.section(def, "api_key", null);
  if (apiKey) checkApiKey(c, apiKey);

  const oauth1 = c.section(def, "oauth1", flows.has("oauth1") ? 'the "oauth1" flow needs it' : null);
  if (oauth1) checkOAuth1(c, oauth1);

  const appOnly = c.section(def, "app_only", flows.has("app_only") ? 'the "app_only" flow needs it' : null);
  if (appOnly) checkAppOnly(c, appOnly);

  const identity = c.section(def, "identity", null);
  if (identity) checkIdentity(c, identity);

  const exp = c.section(def, "export", null);
  if (exp) {
    c.stringMap(exp, "env", "$.export", (k, v, p) => {
      if (k.trim() === "") c.add(p, "expected a record field name (access_token, refresh_token, api_key, account.id, account.label) as the key, got \"\"");
      if (!ENV_VAR_RE.test(v)) c.add(p, notAnEnvName(v));
    });
  }

  checkHostUrl(c, def);
  checkRoutes(c, def, {
    oauth: oauth !== undefined,
    apiKey: authType === "api_key" || flows.has("api_key"),
    oauth1: oauth1 !== undefined,
    appOnly: appOnly !== undefined,
  });

  c.stringMap(def, "headers", "$", (k, v, p) => {
    const problem = headerNameProblem(k);
    if (problem) c.add(p, `${problem} as the key`);
    if (CONTROL_RE.test(v)) c.add(p, `expected a header value without line breaks or control characters, got ${describe(v)}`);
  });

  c.string(def, "docs", "$", { nullable: true });
  const md = def.metadata;
  if (md !== undefined && !isObject(md)) c.add("$.metadata", `expected an object, got ${describe(md)}`);

  return c.problems;
}

function fail(file: string, problems: readonly DefinitionProblem[]): never {
  const lines = problems.map((p) => `${file}: ${p.path}: ${p.message}`);
  throw new ProviderDefinitionError(lines.join("\n"), {
    hint: `Fix the provider definition in ${file} (see ${SCHEMA_FILE}) and try again.`,
  });
}

/**
 * Checks `value` as a provider definition and returns it (the same object, unknown fields kept).
 * Throws ProviderDefinitionError listing every problem, one per line:
 * `<file>: <JSON path>: expected ..., got ...`.
 */
export function validateDefinition(value: unknown, file: string): ProviderDefinition {
  const problems = collectDefinitionProblems(value);
  if (problems.length > 0) fail(file, problems);
  return value as ProviderDefinition;
}

/** Line and column (1-based) of a character offset in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Finds the first JSON syntax error in `text` (which JSON.parse rejected), independent of the
 * engine's message wording: its offset and what was expected there.
 */
function findJsonSyntaxError(text: string): { offset: number; expected: string } {
  let i = 0;
  class SyntaxAt extends Error {
    constructor(readonly offset: number, readonly expected: string) {
      super(expected);
    }
  }
  const ws = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const found = (): string => (i >= text.length ? "the end of the text" : text[i] === '"' ? "'\"'" : JSON.stringify(text[i]));
  const err = (expected: string): never => {
    throw new SyntaxAt(i, `expected ${expected}, found ${found()}`);
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) err(`"${word}"`);
      i++;
    }
  };
  const str = (): void => {
    if (text[i] !== '"') err("a string");
    i++;
    for (;;) {
      if (i >= text.length) err('a closing "');
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === "\\") {
        i++;
        const e = text[i];
        if (e === "u") {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9A-Fa-f]/.test(text[i] ?? "")) err("four hex digits after \\u");
            i++;
          }
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i++;
        } else {
          err('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
      } else if (ch.charCodeAt(0) < 0x20) {
        err("no control characters inside a string (write \\n, \\t, ...)");
      } else {
        i++;
      }
    }
  };
  const num = (): void => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m) err("a value (object, array, string, number, true, false or null)");
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') err(text[i] === "}" ? "a property name (no trailing comma before })" : 'a property name in double quotes');
        str();
        ws();
        if (text[i] !== ":") err('":" after the property name');
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        err('"," or "}" after a property value');
      }
    } else if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === "]") err("a value (no trailing comma before ])");
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        err('"," or "]" after an array element');
      }
    } else if (ch === '"') {
      str();
    } else if (ch === "t") {
      literal("true");
    } else if (ch === "f") {
      literal("false");
    } else if (ch === "n") {
      literal("null");
    } else {
      num();
    }
  };
  try {
    value();
    ws();
    if (i < text.length) err("the end of the text after the JSON value");
  } catch (e) {
    if (e instanceof SyntaxAt) return { offset: e.offset, expected: e.expected };
    throw e;
  }
  return { offset: 0, expected: "valid JSON" };
}

/** Parses `text` as JSON and validates it; malformed JSON is reported with line and column. */
export function validateDefinitionText(text: string, file: string): ProviderDefinition {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    const { offset, expected } = findJsonSyntaxError(body);
    const { line, column } = lineColumn(body, offset);
    fail(file, [{ path: "$", message: `malformed JSON at line ${line}, column ${column}: ${expected}` }]);
  }
  return validateDefinition(value, file);
}

const OAUTH_URL_FIELDS = ["authorization_url", "token_url", "revocation_url", "device_authorization_url", "registration_endpoint", "resource_url", "issuer"] as const;

/**
 * A copy of `def` with `{base_url}` replaced in its oauth URLs, by `baseUrl` when given (and
 * then also recorded as `oauth.base_url`), else by the definition's own `oauth.base_url`.
 * Throws ProviderDefinitionError when a URL needs a base URL and none is known, or when the
 * base URL is not https (http only on loopback).
 */
export function expandBaseUrl(def: ProviderDefinition, baseUrl?: string): ProviderDefinition {
  const copy = structuredClone(def);
  const oauth = copy.oauth;
  if (!oauth) return copy;
  const base = baseUrl ?? oauth.base_url ?? undefined;
  const templated = OAUTH_URL_FIELDS.filter((k) => typeof oauth[k] === "string" && (oauth[k] as string).includes("{base_url}"));
  if (base === undefined) {
    if (templated.length > 0) {
      throw new ProviderDefinitionError(
        `provider ${JSON.stringify(def.name)}: $.oauth.${templated[0]} uses {base_url} but no base URL is set`,
        { hint: "Give the base URL (for example https://github.example.com) at login, or set oauth.base_url in the definition." },
      );
    }
    return copy;
  }
  const problem = endpointUrlProblem(base);
  if (problem) {
    throw new ProviderDefinitionError(`provider ${JSON.stringify(def.name)}: base URL: ${problem}`, {
      hint: "Use an https URL such as https://github.example.com.",
    });
  }
  const trimmed = base.replace(/\/+$/, "");
  for (const k of templated) oauth[k] = (oauth[k] as string).split("{base_url}").join(trimmed);
  const own = def.oauth?.base_url?.replace(/\/+$/, "");
  if (baseUrl !== undefined) oauth.base_url = trimmed;
  if (baseUrl !== undefined && trimmed !== own) {
    // another deployment (GitHub Enterprise): the definition's fixed hosts name the public service,
    // and a token of this one must never go there; its API is on the base URL's own host
    const host = new URL(trimmed).host;
    copy.routes = [{ host }];
    copy.host_url = host;
    if (copy.identity?.url && new URL(copy.identity.url).host !== host) copy.identity = null;
  }
  return copy;
}

/** The flows a definition accepts: its default flow first, then the others. */
export function definitionFlows(def: ProviderDefinition): FlowType[] {
  const out: FlowType[] = [def.flow];
  for (const f of def.flows ?? []) if (!out.includes(f)) out.push(f);
  return out;
}
