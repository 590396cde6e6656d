// A real OAuth 2.0 / OpenID Connect authorization server (panva's certified `oidc-provider`)
// on 127.0.0.1 for tests. Login and consent are ours: automatic (for fetch-driven tests) or
// tiny HTML pages (for the playwright test). A Koa middleware in front counts token requests
// and injects failures on demand.
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Configuration, ClientMetadata, KoaContextWithOIDC } from "oidc-provider";

/** Every static client may use this redirect URI (the CLI's loopback callback). */
export const CALLBACK_URL = "http://127.0.0.1:7998/auth/callback/oauth";
export const ACCOUNT_ID = "user-1";
/** A request header that overrides the interaction mode for that request (test helpers use it). */
export const MODE_HEADER = "x-test-interaction";
export const SCOPES = ["openid", "offline_access", "profile", "email", "read", "write"];
const ALL_GRANTS = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"];

/** Statically registered clients, one per client authentication method. */
export const CLIENTS = {
  basic: { clientId: "basic-client", clientSecret: "basic-secret", authMethod: "client_secret_basic" },
  post: { clientId: "post-client", clientSecret: "post-secret", authMethod: "client_secret_post" },
  public: { clientId: "public-client", clientSecret: null, authMethod: "none" },
} as const;
// Used by the helpers below to introspect any token; not meant for the code under test.
const INTROSPECTOR = { clientId: "introspector", clientSecret: "introspector-secret" };

/**
 * What the token endpoint does instead of answering, once per failNext() call:
 * "500" internal error (JSON body), "503" plain text, "non-json" HTML with 200,
 * "oversized" a 2 MiB JSON body, "no-access-token" 200 JSON without access_token,
 * "200-error" 200 JSON carrying error (GitHub's style), "hang" never answers until close,
 * "slow_down" RFC 8628's 400 asking a device poller to back off (oidc-provider never sends it),
 * "slow" answers normally, after 1.5 s (a refresh caught in flight); "slow-answer" does its work
 * at once (a refresh token rotates) and sends the answer 1.5 s later.
 */
export type TokenFailure = "500" | "503" | "non-json" | "oversized" | "no-access-token" | "200-error" | "hang" | "slow_down" | "slow" | "slow-answer";
/** "auto": login as ACCOUNT_ID and grant everything; "auto-deny": access_denied; "page": HTML forms. */
export type InteractionMode = "auto" | "auto-deny" | "page";

export interface OidcServerOptions {
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  refreshTokenTtl?: number;
  deviceCodeTtl?: number;
  interactions?: InteractionMode;
  /** Extra redirect URIs allowed for the static clients. */
  redirectUris?: string[];
  /** Extra static clients (oidc-provider client metadata). */
  clients?: ClientMetadata[];
  /** Rotate refresh tokens on every use (default true). */
  rotateRefreshToken?: boolean;
}

export interface TokenRequestRecord {
  grantType: string | undefined;
  /** The request carried an Authorization: Basic header. */
  basicAuth: boolean;
  status: number;
  /** Date.now() when it arrived. */
  at: number;
  /** The request body was JSON, not a form. */
  json: boolean;
}

export interface OidcServer {
  issuer: string;
  port: number;
  tokenEndpoint: string;
  authorizationEndpoint: string;
  deviceAuthorizationEndpoint: string;
  revocationEndpoint: string;
  registrationEndpoint: string;
  userinfoEndpoint: string;
  /** POSTs to the token endpoint so far, all or of one grant_type. */
  tokenRequests(grantType?: string): number;
  tokenRequestLog(): TokenRequestRecord[];
  resetCounters(): void;
  /** The next `times` token requests fail this way (counted, never reach the provider). */
  failNext(kind: TokenFailure, times?: number): void;
  /** How many of the failures asked for are still to come (a request takes its failure as it arrives). */
  pendingFailures(): number;
  setInteractionMode(mode: InteractionMode): void;
  /** Register a client with a chosen id (and secret); defaults as the static clients. */
  addClient(meta: ClientMetadata): Promise<void>;
  /** Forget a client, as a server that purges unused registrations does. */
  forgetClient(clientId: string): Promise<void>;
  /** RFC 7662 introspection by a privileged client. */
  introspect(token: string): Promise<{ active: boolean; [k: string]: unknown }>;
  /** GET the userinfo endpoint with the token as Bearer. */
  userinfo(token: string): Promise<{ status: number; body: Record<string, unknown> | null }>;
  /**
   * A fresh authorization code for a PKCE login, obtained through the automatic interactions
   * (whatever the current mode, this one request runs "auto").
   */
  authorizationCode(params: { clientId: string; scope?: string; redirectUri?: string; extra?: Record<string, string> }): Promise<{ code: string; verifier: string; redirectUri: string; state: string }>;
  /** Follow the authorization redirects (auto interactions) until the redirect URI; returns that URL. */
  authorize(authorizeUrl: string | URL, redirectUri?: string): Promise<URL>;
  /** Complete a device flow user code as the browser would (code page, confirm, login, consent). */
  approveDeviceCode(userCode: string): Promise<void>;
  denyDeviceCode(userCode: string): Promise<void>;
  close(): Promise<void>;
}

// oidc-provider warns at import (it wants Node 22 LTS) and about its in-memory adapter:
// expected in tests, so those lines are dropped while it loads.
async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  const drop =
    (orig: (...a: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === "string" && args[0].startsWith("oidc-provider ")) return;
      orig(...args);
    };
  console.warn = drop(warn);
  console.info = drop(info);
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      data += chunk;
      if (data.length > limit) reject(new Error("body too large"));
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

export async function startOidcServer(options: OidcServerOptions = {}): Promise<OidcServer> {
  const { default: Provider } = await quietly(() => import("oidc-provider"));

  // The issuer must name the port, so listen first and hand requests over once built.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const http: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  let currentMode: InteractionMode = options.interactions ?? "auto";
  const failures: TokenFailure[] = [];
  let log: TokenRequestRecord[] = [];
  const redirectUris = [CALLBACK_URL, ...(options.redirectUris ?? [])];
  const base: ClientMetadata = { client_id: "", grant_types: ALL_GRANTS, response_types: ["code"], redirect_uris: redirectUris };

  const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const configuration: Configuration = {
    clients: [
      { ...base, client_id: CLIENTS.basic.clientId, client_secret: CLIENTS.basic.clientSecret, token_endpoint_auth_method: "client_secret_basic" },
      { ...base, client_id: CLIENTS.post.clientId, client_secret: CLIENTS.post.clientSecret, token_endpoint_auth_method: "client_secret_post" },
      // A CLI without a secret is a native app (RFC 8252).
      { ...base, client_id: CLIENTS.public.clientId, token_endpoint_auth_method: "none", application_type: "native" },
      { client_id: INTROSPECTOR.clientId, client_secret: INTROSPECTOR.clientSecret, grant_types: [], response_types: [], redirect_uris: [] },
      ...(options.clients ?? []),
    ],
    jwks: { keys: [{ ...jwk, kid: "test-key", use: "sig", alg: "RS256" } as never] },
    cookies: { keys: ["test-cookie-key"] },
    scopes: SCOPES,
    claims: { openid: ["sub"], profile: ["name", "preferred_username"], email: ["email", "email_verified"] },
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, name: `Test ${sub}`, preferred_username: sub, email: `${sub}@example.test`, email_verified: true };
        },
      };
    },
    pkce: { required: () => true },
    // Every code exchange gets a refresh token, not only offline_access ones.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    rotateRefreshToken: () => options.rotateRefreshToken ?? true,
    ttl: {
      AccessToken: () => options.accessTokenTtl ?? 3600,
      AuthorizationCode: 60,
      DeviceCode: () => options.deviceCodeTtl ?? 600,
      IdToken: 3600,
      RefreshToken: () => options.refreshTokenTtl ?? 14 * 24 * 3600,
      Interaction: 3600,
      Session: 3600,
      Grant: 14 * 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.body = page("Device login", `${err ? `<p id=error>${esc(err.name)}</p>` : ""}${form}<button id=submit type=submit form="op.deviceInputForm">Continue</button>`);
        },
        userCodeConfirmSource: async (ctx, form, _client, _info, userCode) => {
          ctx.body = page("Confirm device", `<p><code id=user-code>${esc(userCode)}</code></p>${form}<button id=approve type=submit form="op.deviceConfirmForm">Continue</button><button id=deny type=submit form="op.deviceConfirmForm" name=abort value=yes>Abort</button>`);
        },
        successSource: async (ctx) => {
          ctx.body = page("Device login complete", "<p id=done>You can close this page.</p>");
        },
      },
      registration: { enabled: true },
      // A client may revoke only its own tokens; others' are ignored with 200, as RFC 7009 allows.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async () => true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: false },
    },
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = page("Error", `<pre id=error>${esc(JSON.stringify(out))}</pre>`);
    },
  };

  const provider = await quietly(() => new Provider(issuer, configuration));

  provider.use(async (koaCtx, next) => {
    const ctx = koaCtx as KoaContextWithOIDC;
    if (ctx.method === "POST" && ctx.path === "/token") return tokenGate(ctx, next);
    if (ctx.path.startsWith("/interaction/")) return interaction(ctx);
    return next();
  });

  async function tokenGate(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
    const basicAuth = /^basic /i.test(ctx.get("authorization"));
    const at = Date.now();
    const json = ctx.is("application/json") === "application/json";
    let failure = failures.shift();
    if (failure === "slow") {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      failure = undefined;
    }
    if (!failure || failure === "slow-answer") {
      await next();
      if (failure) await new Promise((resolve) => setTimeout(resolve, 1500));
      let grantType: string | undefined;
      try {
        grantType = ctx.oidc?.params?.grant_type as string | undefined;
      } catch {
        grantType = undefined;
      }
      log.push({ grantType, basicAuth, status: ctx.status, at, json });
      return;
    }
    const grantType = new URLSearchParams(await readBody(ctx.req)).get("grant_type") ?? undefined;
    switch (failure) {
      case "500":
        ctx.status = 500;
        ctx.body = { error: "server_error", error_description: "injected failure" };
        break;
      case "503":
        ctx.status = 503;
        ctx.type = "text";
        ctx.body = "Service Unavailable";
        break;
      case "non-json":
        ctx.status = 200;
        ctx.type = "html";
        ctx.body = "<html><body>Welcome to the captive portal</body></html>";
        break;
      case "oversized":
        ctx.status = 200;
        ctx.type = "json";
        ctx.body = `{"access_token":"x","token_type":"Bearer","pad":"${"a".repeat(2 * 1024 * 1024)}"}`;
        break;
      case "no-access-token":
        ctx.status = 200;
        ctx.body = { token_type: "Bearer", expires_in: 3600 };
        break;
      case "200-error":
        ctx.status = 200;
        ctx.body = { error: "bad_verification_code", error_description: "The code passed is incorrect or expired." };
        break;
      case "slow_down":
        ctx.status = 400;
        ctx.body = { error: "slow_down", error_description: "polling too fast" };
        break;
      case "hang":
        await new Promise<void>((resolve) => ctx.req.socket.once("close", () => resolve()));
        ctx.respond = false;
        break;
    }
    log.push({ grantType, basicAuth, status: ctx.status, at, json });
  }

  // Login and consent, answered here; oidc-provider only sees the results.
  async function interaction(ctx: KoaContextWithOIDC): Promise<void> {
    const [, , uid, action] = ctx.path.split("/");
    ctx.set("cache-control", "no-store");
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, "interaction mismatch");
    const prompt = details.prompt.name;
    const finish = async (result: Record<string, unknown>, merge = true) => {
      const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
      ctx.status = 303;
      ctx.redirect(to);
    };
    const consent = async () => {
      const clientId = String(details.params.client_id);
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session!.accountId, clientId });
      if (!grant) ctx.throw(400, "grant not found");
      const d = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(" "));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, s] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, s.join(" "));
      await finish({ consent: { grantId: await grant.save() } });
    };
    const deny = () => finish({ error: "access_denied", error_description: "End-User denied the request" }, false);
    // Helpers send this header so they work whatever mode the browser-facing pages are in.
    const forced = ctx.get(MODE_HEADER);
    const mode = forced === "auto" || forced === "auto-deny" || forced === "page" ? forced : currentMode;

    if (ctx.method === "GET" && !action) {
      if (mode === "auto-deny") return deny();
      if (mode === "auto") return prompt === "login" ? finish({ login: { accountId: ACCOUNT_ID } }, false) : consent();
      const scopes = esc(String(details.params.scope ?? ""));
      ctx.type = "html";
      ctx.body =
        prompt === "login"
          ? page("Sign in", `<form method=post action="/interaction/${esc(uid!)}/login"><input name=login value="${ACCOUNT_ID}" autofocus><button id=submit type=submit>Sign in</button></form>`)
          : page("Authorize", `<p>Client <b id=client>${esc(String(details.params.client_id))}</b> asks for <code id=scopes>${scopes}</code></p>` +
              `<form method=post action="/interaction/${esc(uid!)}/confirm"><button id=approve type=submit>Approve</button></form>` +
              `<form method=post action="/interaction/${esc(uid!)}/abort"><button id=deny type=submit>Deny</button></form>`);
      return;
    }
    if (ctx.method !== "POST") ctx.throw(405);
    if (action === "login" && prompt === "login") {
      const login = new URLSearchParams(await readBody(ctx.req)).get("login")?.trim();
      if (!login) ctx.throw(400, "login required");
      return finish({ login: { accountId: login } }, false);
    }
    if (action === "confirm" && prompt === "consent") return consent();
    if (action === "abort") return deny();
    ctx.throw(400, "unexpected interaction step");
  }

  handler = provider.callback();

  const url = (route: string) => `${issuer}${route}`;
  async function introspect(token: string) {
    const basic = Buffer.from(`${INTROSPECTOR.clientId}:${INTROSPECTOR.clientSecret}`).toString("base64");
    const res = await fetch(url("/token/introspection"), {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
    });
    if (!res.ok) throw new Error(`introspection answered ${res.status}`);
    return (await res.json()) as { active: boolean };
  }

  async function userinfo(token: string) {
    const res = await fetch(url("/me"), { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = null;
    }
    return { status: res.status, body };
  }

  return {
    issuer,
    port,
    tokenEndpoint: url("/token"),
    authorizationEndpoint: url("/auth"),
    deviceAuthorizationEndpoint: url("/device/auth"),
    revocationEndpoint: url("/token/revocation"),
    registrationEndpoint: url("/reg"),
    userinfoEndpoint: url("/me"),
    tokenRequests: (grantType) => (grantType ? log.filter((r) => r.grantType === grantType).length : log.length),
    tokenRequestLog: () => [...log],
    resetCounters: () => {
      log = [];
    },
    failNext: (kind, times = 1) => {
      for (let i = 0; i < times; i++) failures.push(kind);
    },
    pendingFailures: () => failures.length,
    setInteractionMode: (m) => {
      currentMode = m;
    },
    async addClient(meta) {
      // Stored the way dynamic registration stores clients, but with the caller's id and secret.
      const full: ClientMetadata = { ...base, ...meta };
      await provider.Client.validate(full);
      const { adapter } = provider.Client as unknown as { adapter: { upsert(id: string, payload: object, ttl?: number): Promise<void> } };
      await adapter.upsert(full.client_id, full);
    },
    async forgetClient(clientId) {
      const { adapter } = provider.Client as unknown as { adapter: { destroy(id: string): Promise<void> } };
      await adapter.destroy(clientId);
    },
    introspect,
    userinfo,
    authorize: (authorizeUrl, redirectUri = CALLBACK_URL) => followRedirects(authorizeUrl, redirectUri),
    async authorizationCode({ clientId, scope = "openid offline_access profile", redirectUri = CALLBACK_URL, extra = {} }) {
      const { verifier, challenge } = pkcePair();
      const state = randomBytes(8).toString("hex");
      const query = { client_id: clientId, response_type: "code", redirect_uri: redirectUri, scope, state, code_challenge: challenge, code_challenge_method: "S256", ...extra };
      const jar = new CookieJar({ [MODE_HEADER]: "auto" });
      const back = await followRedirects(`${issuer}/auth?${new URLSearchParams(query)}`, redirectUri, jar);
      const code = back.searchParams.get("code");
      if (!code) throw new Error(`no code in the callback: ${back.search}`);
      return { code, verifier, redirectUri, state };
    },
    approveDeviceCode: (userCode) => completeDeviceCode(issuer, userCode, true),
    denyDeviceCode: (userCode) => completeDeviceCode(issuer, userCode, false),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** A minimal cookie jar for one browser-like session (paths ignored: one host only). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  /** `headers` go with every request (e.g. MODE_HEADER). */
  constructor(private readonly headers: Record<string, string> = {}) {}
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0]!;
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  /** One request, no redirect following, cookies sent and kept. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = { ...this.headers, ...(init.headers as Record<string, string> | undefined), cookie: this.header() };
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(res);
    return res;
  }
}

/**
 * Follows redirects as a browser would, with cookies, until one points at `stopAt` (the
 * client's redirect URI, which need not be listening); returns that URL. Throws on any
 * other non-redirect answer. `first` continues from a response already in hand.
 */
export async function followRedirects(start: string | URL, stopAt: string, jar = new CookieJar(), first?: Response): Promise<URL> {
  let current = new URL(start);
  if (current.href.startsWith(stopAt)) return current;
  let res = first ?? (await jar.fetch(current));
  for (let hops = 0; hops < 20; hops++) {
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`expected a redirect from ${current.pathname}, got ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
    current = new URL(location, current);
    if (current.href.startsWith(stopAt)) return current;
    res = await jar.fetch(current);
  }
  throw new Error("too many redirects");
}

/** Follows redirects until a page (non-3xx) answers; returns it. */
export async function browse(jar: CookieJar, res: Response, from: string | URL): Promise<Response> {
  let current = new URL(from);
  for (let hops = 0; hops < 20 && res.status >= 300 && res.status < 400; hops++) {
    current = new URL(res.headers.get("location") ?? "", current);
    res = await jar.fetch(current);
  }
  return res;
}

async function completeDeviceCode(issuer: string, userCode: string, approve: boolean): Promise<void> {
  const jar = new CookieJar({ [MODE_HEADER]: "auto" });
  const formPage = await jar.fetch(`${issuer}/device`);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(await formPage.text())?.[1];
  if (!xsrf) throw new Error("device page has no xsrf field");
  const body = new URLSearchParams({ xsrf, user_code: userCode, confirm: "yes" });
  if (!approve) body.set("abort", "yes");
  const posted = await jar.fetch(`${issuer}/device`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  // Approval runs login and consent through the (auto) interactions, then the success page.
  const last = await browse(jar, posted, `${issuer}/device`);
  const text = await last.text();
  const expected = approve ? "id=done" : "id=error";
  if (!text.includes(expected)) throw new Error(`device ${approve ? "approval" : "denial"} did not finish: ${last.status} ${text.slice(0, 300)}`);
}
