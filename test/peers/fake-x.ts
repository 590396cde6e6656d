// A fake X (Twitter) on 127.0.0.1, speaking X's wire protocol as ../shared/reference/x-protocol.md
// describes it, with the documented quirks enforced:
// - OAuth 2.0: /i/oauth2/authorize (auto-approve or deny), /2/oauth2/token (authorization_code
//   with PKCE, codes valid 30 s; refresh_token single-use and rotated, a reused one gets 400
//   invalid_request "Value passed for the token was invalid."; client_credentials refused),
//   HTTP Basic for confidential clients on token and revoke, client_id always in the body,
//   /2/oauth2/revoke; access tokens live 2 hours on a clock the test moves (advance()).
// - OAuth 1.0a: /oauth/request_token, /oauth/authorize (redirect, or a PIN page for oob),
//   /oauth/access_token, /1.1/oauth/invalidate_token; every signature is recomputed (RFC 5849,
//   with the signer under test, itself checked against published vectors) and nonces are single-use.
// - App-only: /oauth2/token (client_credentials, Basic(urlencoded key:secret)), one token per
//   app until /oauth2/invalidate_token.
// - /2/users/me with a user bearer token or an OAuth 1.0a signature; /2/users/by/username/:name
//   also with the app-only bearer. User ids are strings beyond 2^53.
// Errors come in X's shapes: OAuth JSON errors on /2/oauth2/*, {"errors":[{code,message}]} on
// v1.1 and OAuth 1.0a endpoints, problem objects on v2.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { percentEncode, signOAuth1Request } from "../../src/auth/oauth1/sign.js";

export const X_USER = { id: "1460000000000000000123", username: "fake_x_user", name: "Fake X User" } as const;
export const X_CLIENTS = {
  confidential: { id: "Y29uZmlkZW50aWFsLWNsaWVudA", secret: "conf-secret-8c4f0d1e", type: "confidential" },
  public: { id: "cHVibGljLWNsaWVudA", secret: null, type: "public" },
} as const;
/** The app's API key and secret (OAuth 1.0a consumer, also used for app-only tokens). */
export const X_CONSUMER = { key: "xvz1evFS4wEEPTGEFPHBog", secret: "L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg" } as const;

const ACCESS_TTL_S = 7200;
const CODE_TTL_MS = 30_000;
const TIMESTAMP_SKEW_S = 300;

type Endpoint =
  | "oauth2/authorize"
  | "token:authorization_code"
  | "token:refresh_token"
  | "token:other"
  | "oauth2/revoke"
  | "users/me"
  | "users/by/username"
  | "request_token"
  | "oauth/authorize"
  | "access_token"
  | "1.1/invalidate_token"
  | "app/token"
  | "app/invalidate_token";

export interface FakeX {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  /** Moves the server's clock (token and code lifetimes) forward. */
  advance(ms: number): void;
  /** Requests answered per endpoint since the last reset. */
  count(endpoint: Endpoint): number;
  resetCounts(): void;
  /** What the authorize pages do: approve (default) or deny. */
  setApproval(mode: "approve" | "deny"): void;
  /** An OAuth 1.0a access token and secret for X_USER, as the developer portal hands them out. */
  issuePortalToken(): { token: string; secret: string };
  /** Whether a token still works at the API. */
  oauth2AccessActive(token: string): boolean;
  oauth2RefreshActive(token: string): boolean;
  oauth1Active(token: string): boolean;
  appTokenActive(token: string): boolean;
  /** The PIN page for an oob request token (what the person reads). */
  lastPin(): string | undefined;
  /** x.json with every X URL pointing here. */
  definition(): Record<string, unknown>;
  close(): Promise<void>;
}

interface Oauth2Access {
  client: string;
  expiresAt: number;
  scope: string;
  revoked: boolean;
}
interface Oauth2Refresh {
  client: string;
  scope: string;
  used: boolean;
}
interface Code {
  client: string;
  redirectUri: string;
  challenge: string;
  method: string;
  scope: string;
  issuedAt: number;
  used: boolean;
}
interface RequestToken {
  secret: string;
  callback: string;
  verifier?: string;
}

const rand = (n = 24) => randomBytes(n).toString("base64url");

function send(res: ServerResponse, status: number, body: unknown, type = "application/json;charset=utf-8"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-rate-limit-limit": "75", "x-rate-limit-remaining": "74", "x-rate-limit-reset": String(Math.floor(Date.now() / 1000) + 900) });
  res.end(text);
}

const oauthError = (res: ServerResponse, status: number, error: string, description: string) => send(res, status, { error, error_description: description });
const v1Error = (res: ServerResponse, status: number, code: number, message: string) => send(res, status, { errors: [{ code, message }] });
const problem = (res: ServerResponse, status: number, title: string, detail: string, type = "about:blank") => send(res, status, { title, detail, type, status });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** HTTP Basic, each half form-urlencoded (as X and RFC 6749 §2.3.1 want). */
function basic(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return undefined;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };
  return { user: dec(decoded.slice(0, i)), password: dec(decoded.slice(i + 1)) };
}

/** The OAuth 1.0a Authorization header's parameters, decoded; undefined when it is not one. */
function oauthHeader(req: IncomingMessage): Map<string, string> | undefined {
  const h = req.headers.authorization ?? "";
  if (!/^OAuth\s/i.test(h)) return undefined;
  const params = new Map<string, string>();
  for (const m of h.slice(6).matchAll(/([A-Za-z0-9_.~%-]+)="([^"]*)"/g)) params.set(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!));
  return params;
}

export async function startFakeX(): Promise<FakeX> {
  let offset = 0;
  const now = () => Date.now() + offset;
  let approval: "approve" | "deny" = "approve";
  const counts = new Map<Endpoint, number>();
  const hit = (e: Endpoint) => counts.set(e, (counts.get(e) ?? 0) + 1);

  const codes = new Map<string, Code>();
  const access2 = new Map<string, Oauth2Access>();
  const refresh2 = new Map<string, Oauth2Refresh>();
  const requestTokens = new Map<string, RequestToken>();
  const access1 = new Map<string, { secret: string; active: boolean }>();
  const nonces = new Set<string>();
  let appToken: string | undefined;
  let lastPin: string | undefined;
  let origin = "";

  const clientById = (id: string | undefined) => Object.values(X_CLIENTS).find((c) => c.id === id);

  /** X's client authentication at /2/oauth2/token and /2/oauth2/revoke; answers the error itself and returns undefined on failure. */
  function authenticateClient(req: IncomingMessage, form: URLSearchParams, res: ServerResponse): (typeof X_CLIENTS)[keyof typeof X_CLIENTS] | undefined {
    const creds = basic(req);
    const bodyId = form.get("client_id") ?? undefined;
    if (form.has("client_secret")) {
      oauthError(res, 401, "unauthorized_client", "Missing valid authorization header");
      return undefined;
    }
    if (!bodyId && !creds) {
      oauthError(res, 400, "invalid_request", "Missing required parameter [client_id].");
      return undefined;
    }
    const client = clientById(creds?.user ?? bodyId);
    if (!client) {
      oauthError(res, 401, "unauthorized_client", "Missing valid authorization header");
      return undefined;
    }
    if (client.type === "confidential") {
      // a confidential app must send Basic on every call, with the exact secret (a trailing newline fails)
      if (!creds || creds.user !== client.id || creds.password !== client.secret) {
        oauthError(res, 401, "unauthorized_client", "Missing valid authorization header");
        return undefined;
      }
    } else if (creds) {
      oauthError(res, 401, "unauthorized_client", "Missing valid authorization header");
      return undefined;
    }
    // field-observed: client_id is required in the body even with Basic
    if (bodyId !== client.id) {
      oauthError(res, 400, "invalid_request", "Missing required parameter [client_id].");
      return undefined;
    }
    return client;
  }

  function issuePair(client: string, scope: string): Record<string, unknown> {
    const at = `${rand(30)}OjE3MDAwMDAwMDA6MToxOmF0OjE`;
    access2.set(at, { client, scope, expiresAt: now() + ACCESS_TTL_S * 1000, revoked: false });
    const body: Record<string, unknown> = { token_type: "bearer", expires_in: ACCESS_TTL_S, access_token: at, scope };
    if (scope.split(" ").includes("offline.access")) {
      const rt = `${rand(30)}OjE3MDAwMDAwMDA6MToxOnJ0OjE`;
      refresh2.set(rt, { client, scope, used: false });
      body.refresh_token = rt;
    }
    return body;
  }

  /**
   * Recomputes the OAuth 1.0a signature of the request; returns the token used (or "" without one),
   * or undefined after answering the error.
   */
  function verifyOAuth1(req: IncomingMessage, url: URL, form: URLSearchParams | undefined, res: ServerResponse, tokenSecret: (token: string) => string | undefined): { token: string; params: Map<string, string> } | undefined {
    const p = oauthHeader(req);
    const fail = () => {
      v1Error(res, 401, 32, "Could not authenticate you.");
      return undefined;
    };
    if (!p) return fail();
    if (p.get("oauth_signature_method") !== "HMAC-SHA1" || p.get("oauth_consumer_key") !== X_CONSUMER.key) return fail();
    const version = p.get("oauth_version");
    if (version !== undefined && version !== "1.0") return fail();
    const ts = Number(p.get("oauth_timestamp"));
    const nonce = p.get("oauth_nonce") ?? "";
    if (!Number.isInteger(ts) || Math.abs(ts - Date.now() / 1000) > TIMESTAMP_SKEW_S) return fail();
    if (!nonce || !/^[\x21-\x7e]+$/.test(nonce)) return fail();
    const token = p.get("oauth_token") ?? "";
    const secret = token ? tokenSecret(token) : "";
    if (secret === undefined) {
      v1Error(res, 401, 89, "Invalid or expired token.");
      return undefined;
    }
    const extra: Record<string, string> = {};
    for (const [k, v] of p) {
      if (["oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature", "oauth_timestamp", "oauth_nonce", "oauth_version"].includes(k)) continue;
      if (k === "realm") continue;
      extra[k] = v;
    }
    const expected = signOAuth1Request({
      method: req.method ?? "GET",
      url: url.href,
      form,
      consumerKey: X_CONSUMER.key,
      consumerSecret: X_CONSUMER.secret,
      token: token || null,
      tokenSecret: secret,
      nonce,
      timestamp: p.get("oauth_timestamp")!,
      version: version === undefined ? null : "1.0",
      extraOAuthParams: extra,
    });
    const sig = /oauth_signature="([^"]*)"/.exec(expected)![1]!;
    if (percentEncode(p.get("oauth_signature") ?? "") !== sig) return fail();
    const nonceKey = `${ts}:${nonce}`;
    if (nonces.has(nonceKey)) return fail(); // a replayed request
    nonces.add(nonceKey);
    return { token, params: p };
  }

  const userBody = () => ({ data: { id: X_USER.id, name: X_USER.name, username: X_USER.username } });

  /** Who a v2 request is: "user", "app", or undefined after answering 401. */
  function v2Caller(req: IncomingMessage, url: URL, res: ServerResponse): "user" | "app" | undefined {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (bearer) {
      const a = access2.get(bearer);
      if (a && !a.revoked && a.expiresAt > now()) return "user";
      if (appToken && bearer === appToken) return "app";
      problem(res, 401, "Unauthorized", "Unauthorized");
      return undefined;
    }
    if (oauthHeader(req)) {
      const ok = verifyOAuth1(req, url, undefined, res, (t) => (access1.get(t)?.active ? access1.get(t)!.secret : undefined));
      return ok ? "user" : undefined;
    }
    problem(res, 401, "Unauthorized", "Unauthorized");
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
    const method = req.method ?? "GET";
    const raw = method === "POST" ? await readBody(req) : "";
    const isForm = /^application\/x-www-form-urlencoded/i.test(req.headers["content-type"] ?? "");
    const form = isForm ? new URLSearchParams(raw) : new URLSearchParams();
    const route = `${method} ${url.pathname}`;

    switch (route) {
      // ---------------------------------------------------------------- OAuth 2.0
      case "GET /i/oauth2/authorize": {
        hit("oauth2/authorize");
        const q = url.searchParams;
        const client = clientById(q.get("client_id") ?? undefined);
        const redirect = q.get("redirect_uri") ?? "";
        const state = q.get("state") ?? "";
        const method = q.get("code_challenge_method") ?? "";
        // X shows an error page (no redirect) for a bad client or callback
        if (!client || !/^http:\/\/127\.0\.0\.1:\d+\//.test(redirect)) return send(res, 400, "<h1>Something went wrong</h1>", "text/html");
        if (q.get("response_type") !== "code" || !q.get("code_challenge") || !["S256", "plain"].includes(method) || state.length > 500) {
          return send(res, 400, "<h1>Something went wrong</h1>", "text/html");
        }
        const back = new URL(redirect);
        if (approval === "deny") {
          back.searchParams.set("error", "access_denied");
          back.searchParams.set("state", state);
        } else {
          const code = `${rand(30)}OjE3MDAwMDAwMDA6MToxOmFjOjE`;
          codes.set(code, { client: client.id, redirectUri: redirect, challenge: q.get("code_challenge")!, method, scope: q.get("scope") ?? "", issuedAt: now(), used: false });
          back.searchParams.set("state", state);
          back.searchParams.set("code", code);
        }
        res.writeHead(302, { location: back.href });
        return void res.end();
      }
      case "POST /2/oauth2/token": {
        const grant = form.get("grant_type");
        hit(grant === "authorization_code" ? "token:authorization_code" : grant === "refresh_token" ? "token:refresh_token" : "token:other");
        if (!grant) return oauthError(res, 400, "invalid_request", "Missing required parameter [grant_type].");
        if (grant !== "authorization_code" && grant !== "refresh_token") {
          return oauthError(res, 400, "invalid_request", "Value passed for the grant type was invalid. Grant type should be one of [authorization_code, refresh_token].");
        }
        const client = authenticateClient(req, form, res);
        if (!client) return;
        if (grant === "authorization_code") {
          const code = codes.get(form.get("code") ?? "");
          const verifier = form.get("code_verifier") ?? "";
          const bad = () => oauthError(res, 400, "invalid_request", "Value passed for the authorization code was invalid.");
          if (!code || code.used || code.client !== client.id || now() - code.issuedAt > CODE_TTL_MS) return bad();
          code.used = true;
          const computed = code.method === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
          if (computed !== code.challenge || form.get("redirect_uri") !== code.redirectUri) return bad();
          return send(res, 200, issuePair(client.id, code.scope));
        }
        const rt = refresh2.get(form.get("refresh_token") ?? "");
        if (!rt || rt.used || rt.client !== client.id) return oauthError(res, 400, "invalid_request", "Value passed for the token was invalid.");
        rt.used = true; // single use: every refresh rotates
        return send(res, 200, issuePair(client.id, rt.scope));
      }
      case "POST /2/oauth2/revoke": {
        hit("oauth2/revoke");
        const client = authenticateClient(req, form, res);
        if (!client) return;
        const token = form.get("token") ?? "";
        if (!token) return oauthError(res, 400, "invalid_request", "Missing required parameter [token].");
        const a = access2.get(token);
        if (a && a.client === client.id) a.revoked = true;
        const r = refresh2.get(token);
        if (r && r.client === client.id) r.used = true;
        return send(res, 200, { revoked: true });
      }
      case "GET /2/users/me": {
        hit("users/me");
        const who = v2Caller(req, url, res);
        if (!who) return;
        if (who === "app") {
          return problem(
            res,
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            "https://api.twitter.com/2/problems/unsupported-authentication",
          );
        }
        return send(res, 200, userBody());
      }
      // ---------------------------------------------------------------- OAuth 1.0a
      case "POST /oauth/request_token": {
        hit("request_token");
        const ok = verifyOAuth1(req, url, isForm ? form : undefined, res, () => undefined);
        if (!ok) return;
        const callback = ok.params.get("oauth_callback") ?? "";
        if (callback !== "oob" && !/^http:\/\/127\.0\.0\.1:\d+\//.test(callback)) {
          return v1Error(res, 401, 415, "Callback URL not approved for this client application. Approved callback URLs can be adjusted in your application settings");
        }
        const token = rand(20);
        const secret = rand(24);
        requestTokens.set(token, { secret, callback });
        return send(res, 200, new URLSearchParams({ oauth_token: token, oauth_token_secret: secret, oauth_callback_confirmed: "true" }).toString(), "text/html;charset=utf-8");
      }
      case "GET /oauth/authorize": {
        hit("oauth/authorize");
        const token = url.searchParams.get("oauth_token") ?? "";
        const rt = requestTokens.get(token);
        if (!rt) return send(res, 400, "<h1>Whoa there!</h1><p>The request token for this page is invalid.</p>", "text/html");
        if (approval === "deny") {
          requestTokens.delete(token);
          if (rt.callback === "oob") return send(res, 200, "<p>You didn't authorize the app.</p>", "text/html");
          const back = new URL(rt.callback);
          back.searchParams.set("denied", token);
          res.writeHead(302, { location: back.href });
          return void res.end();
        }
        if (rt.callback === "oob") {
          rt.verifier = String(1_000_000 + Math.floor(Math.random() * 9_000_000));
          lastPin = rt.verifier;
          return send(res, 200, `<p>Next, return to the app and enter this PIN to complete the authorization process:</p><kbd aria-labelledby="code-desc"><code id="oauth_pin">${rt.verifier}</code></kbd>`, "text/html");
        }
        rt.verifier = rand(16);
        const back = new URL(rt.callback);
        back.searchParams.set("oauth_token", token);
        back.searchParams.set("oauth_verifier", rt.verifier);
        res.writeHead(302, { location: back.href });
        return void res.end();
      }
      case "POST /oauth/access_token": {
        hit("access_token");
        const ok = verifyOAuth1(req, url, isForm ? form : undefined, res, (t) => requestTokens.get(t)?.secret);
        if (!ok) return;
        const rt = requestTokens.get(ok.token)!;
        const verifier = ok.params.get("oauth_verifier") ?? form.get("oauth_verifier") ?? "";
        if (!rt.verifier || verifier !== rt.verifier) {
          requestTokens.delete(ok.token);
          return v1Error(res, 401, 89, "Invalid or expired token.");
        }
        requestTokens.delete(ok.token); // single use
        const { token, secret } = portalToken();
        return send(res, 200, new URLSearchParams({ oauth_token: token, oauth_token_secret: secret, user_id: X_USER.id, screen_name: X_USER.username }).toString(), "text/html;charset=utf-8");
      }
      case "POST /1.1/oauth/invalidate_token": {
        hit("1.1/invalidate_token");
        const ok = verifyOAuth1(req, url, isForm ? form : undefined, res, (t) => (access1.get(t)?.active ? access1.get(t)!.secret : undefined));
        if (!ok) return;
        access1.get(ok.token)!.active = false;
        return send(res, 200, { access_token: ok.token });
      }
      // ---------------------------------------------------------------- app-only
      case "POST /oauth2/token": {
        hit("app/token");
        const creds = basic(req);
        if (!creds || creds.user !== X_CONSUMER.key || creds.password !== X_CONSUMER.secret || form.get("grant_type") !== "client_credentials") {
          return send(res, 403, { errors: [{ code: 99, label: "authenticity_token_error", message: "Unable to verify your credentials" }] });
        }
        // one token per app, the same on every call until invalidated
        appToken ??= `AAAAAAAAAAAAAAAAAAAAA${rand(12)}%2F${rand(12)}%3D${rand(20)}`;
        return send(res, 200, { token_type: "bearer", access_token: appToken });
      }
      case "POST /oauth2/invalidate_token": {
        hit("app/invalidate_token");
        const creds = basic(req);
        if (!creds || creds.user !== X_CONSUMER.key || creds.password !== X_CONSUMER.secret) {
          return send(res, 403, { errors: [{ code: 99, label: "authenticity_token_error", message: "Unable to verify your credentials" }] });
        }
        const token = form.get("access_token") ?? url.searchParams.get("access_token") ?? "";
        if (!appToken || token !== appToken) return v1Error(res, 401, 89, "Invalid or expired token.");
        appToken = undefined;
        return send(res, 200, { access_token: token });
      }
    }
    if (method === "GET" && url.pathname.startsWith("/2/users/by/username/")) {
      hit("users/by/username");
      const who = v2Caller(req, url, res);
      if (!who) return;
      const name = decodeURIComponent(url.pathname.slice("/2/users/by/username/".length));
      if (name !== X_USER.username) return send(res, 200, { errors: [{ title: "Not Found Error", detail: `Could not find user with username: [${name}].`, type: "https://api.twitter.com/2/problems/resource-not-found" }] });
      return send(res, 200, userBody());
    }
    return v1Error(res, 404, 34, "Sorry, that page does not exist.");
  }

  function portalToken(): { token: string; secret: string } {
    const token = `${X_USER.id}-${rand(24)}`;
    const secret = rand(33);
    access1.set(token, { secret, active: true });
    return { token, secret };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) problem(res, 500, "Internal Server Error", String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    port,
    advance: (ms) => void (offset += ms),
    count: (e) => counts.get(e) ?? 0,
    resetCounts: () => counts.clear(),
    setApproval: (mode) => void (approval = mode),
    issuePortalToken: portalToken,
    oauth2AccessActive: (t) => {
      const a = access2.get(t);
      return Boolean(a && !a.revoked && a.expiresAt > now());
    },
    oauth2RefreshActive: (t) => {
      const r = refresh2.get(t);
      return Boolean(r && !r.used);
    },
    oauth1Active: (t) => Boolean(access1.get(t)?.active),
    appTokenActive: (t) => appToken !== undefined && t === appToken,
    lastPin: () => lastPin,
    definition() {
      const text = readFileSync(new URL("../../src/providers/catalog/x.json", import.meta.url), "utf8");
      return JSON.parse(text.replace(/https:\/\/(api\.)?x\.com\//g, `${origin}/`)) as Record<string, unknown>;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
