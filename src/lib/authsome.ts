// The library: the CLI's store, providers, logins and single-flight refresh, inside a program.
// Constructing it opens nothing; the store (and its SQLite driver) is loaded on first use, and
// every credential handed out goes through the same code as `authsome get` and the proxy.
import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { assertName } from "../home/names.js";
import { missingFieldError } from "../auth/connection-fields.js";
import { usableConnection } from "../auth/credentials.js";
import { egressProxyFor, proxyDispatcher } from "../auth/egress.js";
import { DEFAULT_REFRESH_WINDOW_SECONDS } from "../auth/expiry.js";
import { EXPORT_FORMATS, exportConnection, type ExportFormat } from "../auth/export.js";
import { MAX_LOGIN_WAIT_SECONDS } from "../auth/interaction.js";
import { login as runLogin, loginSummary, type LoginSummary } from "../auth/login.js";
import { refreshConnection, RefreshesAfter401 } from "../auth/refresh.js";
import { authHeaders, credentialHeaderNames } from "../auth/request-auth.js";
import { removeStored, type RemoveResult } from "../auth/remove.js";
import { logoutConnection, revokeProvider, type LogoutResult, type RevokeResult } from "../auth/signout.js";
import { audit } from "../home/audit.js";
import { configuredRefreshWindow } from "../home/config.js";
import { Home } from "../home/home.js";
import { resolveHomeDir } from "../home/paths.js";
import { DEFAULT_CALLBACK_PORT } from "../input/callback-server.js";
import { ProviderRegistry } from "../providers/registry.js";
import type { FlowType, ProviderDefinition } from "../providers/schema.js";
import { expandBaseUrl } from "../providers/validate.js";
import type { Connections } from "../vault/connections.js";
import { redactSecrets, type ClientRecord, type ConnectionAuthType, type ConnectionRecord, type ConnectionStatus } from "../vault/records.js";
import { programInteraction, type LoginCallbacks } from "./interaction.js";
import { absoluteUrl, prepareRequest, ProviderRoutes, signableBody, type PreparedRequest } from "./request.js";

export interface AuthsomeOptions {
  /** The authsome home. Default: $AUTHSOME_HOME, else ~/.authsome (as the CLI). */
  home?: string;
  /** The profile. Default: $AUTHSOME_PROFILE, else the home's default profile (as the CLI). */
  profile?: string;
  /** Where AUTHSOME_* settings and the definitions' credential variables are read. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/** One provider as `authsome list` shows it. */
export interface ProviderInfo {
  name: string;
  display_name: string;
  auth_type: ProviderDefinition["auth_type"];
  /** "bundled" with authsome, or "user" (a file in <home>/providers). */
  source: "bundled" | "user";
  definition: ProviderDefinition;
}

/** One stored connection, without secrets (the fields of `authsome list --json`). */
export interface ConnectionSummary {
  provider: string;
  name: string;
  /** The connection used when none is named. */
  default: boolean;
  /** "unreadable": the record cannot be decrypted or parsed; `error` says why. */
  status: ConnectionStatus | "unreadable";
  auth_type?: ConnectionAuthType;
  account?: ConnectionRecord["account"];
  scopes?: string[] | null;
  expires_at?: string | null;
  error?: string;
}

export interface ConnectionOption {
  /** Default: the provider's default connection. */
  connection?: string;
}

export interface AuthHeadersRequest extends ConnectionOption {
  /** Default "GET". */
  method?: string;
  /** The absolute URL, query included (OAuth 1.0a signs it). */
  url: string | URL;
  /** A form body (URLSearchParams, or a string with a form contentType) is part of an OAuth 1.0a signature; other bodies are not. */
  body?: string | URLSearchParams;
  contentType?: string;
}

export interface LibraryLoginOptions extends LoginCallbacks {
  /** Default: the definition's flow. */
  flow?: FlowType;
  /** Default: the definition's scopes. */
  scopes?: string[];
  /** Default: "default" (or the flow's own name for a second kind of credential). */
  connection?: string;
  /** Replace a connected connection. */
  force?: boolean;
  /** OAuth client id (not a secret). The secret comes from the definition's variable or `ask`. */
  clientId?: string;
  /** For providers with templated endpoints. */
  baseUrl?: string;
  /** Loopback port of the PKCE callback. Default: $AUTHSOME_CALLBACK_PORT, else 7998. */
  port?: number;
  /** How long to wait for the authorization. Default 300 000 ms. */
  timeoutMs?: number;
  /** OAuth 1.0a: the PIN (out-of-band) flow; the PIN comes from `ask` (a "pin" field). */
  pin?: boolean;
  /** OAuth 1.0a: store an access token and secret issued elsewhere (the definition's variables, else `ask`). */
  existingToken?: boolean;
}

export type FetchOptions = ConnectionOption;

const DEFAULT_LOGIN_TIMEOUT_MS = 300_000;

type Store = { connections: Connections };

export class Authsome {
  private readonly env: NodeJS.ProcessEnv;
  private readonly requestedProfile: string | undefined;
  private readonly root: string;
  private cachedHome: Home | undefined;
  private cachedProfile: string | undefined;
  private cachedRegistry: ProviderRegistry | undefined;
  private store: Promise<Store> | undefined;
  private readonly after401 = new RefreshesAfter401();

  constructor(options: AuthsomeOptions = {}) {
    this.env = options.env ?? process.env;
    // an empty or mistyped `home` (an unset variable passed on) must not fall back to the real home
    if (options.home !== undefined && (typeof options.home !== "string" || options.home === "")) {
      throw new UsageError(`home must be a directory path, not ${JSON.stringify(options.home)}`, { hint: "leave it out to use $AUTHSOME_HOME or ~/.authsome" });
    }
    this.root = options.home !== undefined ? resolve(options.home) : resolveHomeDir(this.env);
    this.requestedProfile = options.profile;
  }

  /** The home directory in use. */
  get homeDir(): string {
    return this.root;
  }

  /** The profile in use (reads the home's config.json; creates nothing); one chosen by the `profile` option or AUTHSOME_PROFILE must exist. */
  get profile(): string {
    this.cachedProfile ??= this.home.existingProfile(this.requestedProfile, this.env, "the profile option");
    return this.cachedProfile;
  }

  private get home(): Home {
    this.cachedHome ??= new Home(this.root);
    return this.cachedHome;
  }

  private get registry(): ProviderRegistry {
    this.cachedRegistry ??= new ProviderRegistry(this.home);
    return this.cachedRegistry;
  }

  private get windowSeconds(): number {
    return configuredRefreshWindow(this.env, this.home.config(), this.home.paths.config) ?? DEFAULT_REFRESH_WINDOW_SECONDS;
  }

  // The vault (and better-sqlite3) is loaded here, on the first call that needs the store.
  private connections(): Promise<Connections> {
    this.store ??= (async () => {
      const [{ Vault }, { Connections }] = await Promise.all([import("../vault/store.js"), import("../vault/connections.js")]);
      return { connections: new Connections(new Vault(this.home, this.profile), this.home.hintScope(this.profile, this.env)) };
    })();
    this.store.catch(() => (this.store = undefined));
    return this.store.then((s) => s.connections);
  }

  /** Closes the store. The instance may be used again afterwards (it reopens). */
  async close(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    if (store) (await store.catch(() => undefined))?.connections.vault.close();
  }

  // ---- providers ----

  /** Every provider in effect (user files override bundled ones); invalid user files are skipped. */
  async listProviders(): Promise<ProviderInfo[]> {
    return this.registry.list().providers.map(({ definition, source }) => ({
      name: definition.name,
      display_name: definition.display_name,
      auth_type: definition.auth_type,
      source,
      definition,
    }));
  }

  /** The definition in effect; ProviderNotFoundError (exit code 3) when there is none. */
  async getProvider(name: string): Promise<ProviderDefinition> {
    return this.registry.get(name).definition;
  }

  /** Validates and stores a definition in <home>/providers; replacing one needs `force`. */
  async registerProvider(definition: ProviderDefinition | Record<string, unknown>, options: { force?: boolean } = {}): Promise<ProviderDefinition> {
    return this.registry.register(definition, "<registerProvider>", { ...options, forceOption: "force: true" }).definition;
  }

  // ---- connections ----

  /** Stored connections, of one provider or all, without secrets; never calls a provider. */
  async listConnections(provider?: string): Promise<ConnectionSummary[]> {
    if (provider !== undefined) assertName("provider", provider);
    const connections = await this.connections();
    const entries = await connections.list(provider);
    // nothing stored: an unknown provider is an error, as for getConnection (leftovers of a deleted definition still list)
    if (provider !== undefined && entries.length === 0) this.registry.get(provider);
    const defaults = new Map<string, string | null>();
    for (const p of new Set(entries.map((e) => e.provider))) {
      defaults.set(p, (await connections.metadata(p).catch(() => undefined))?.default_connection ?? null);
    }
    return entries.map((e) => {
      const base = { provider: e.provider, name: e.connection, default: defaults.get(e.provider) === e.connection };
      if (!e.record) return { ...base, status: "unreadable" as const, error: e.error! };
      return {
        ...base,
        status: e.record.status,
        auth_type: e.record.auth_type,
        account: e.record.account ?? { id: null, label: null },
        scopes: e.record.scopes,
        expires_at: e.record.expires_at,
      };
    });
  }

  /** The connection with its secret fields redacted, as `authsome get` shows it; never refreshes. */
  async getConnection(provider: string, connection?: string): Promise<ConnectionRecord> {
    const definition = this.registry.get(provider).definition;
    const record = await usableConnection(await this.connections(), definition, connection, { handsOutCredential: false });
    return redactSecrets(record);
  }

  // ---- credentials ----

  /** The connection, fresh: refreshed first (single-flight across processes) when about to expire. */
  private async fresh(provider: string, connection?: string): Promise<{ definition: ProviderDefinition; record: ConnectionRecord; connections: Connections }> {
    const definition = this.registry.get(provider).definition;
    const connections = await this.connections();
    const record = await usableConnection(connections, definition, connection, { windowSeconds: this.windowSeconds });
    return { definition, record, connections };
  }

  private async clientFor(connections: Connections, record: ConnectionRecord): Promise<ClientRecord | undefined> {
    return record.auth_type === "oauth1" ? connections.client(record.provider) : undefined;
  }

  /**
   * The access token (the API key for an API-key connection), always fresh. Audited as a secret
   * read, as `authsome get --field access_token --show-secret` is.
   */
  async getAccessToken(provider: string, connection?: string): Promise<string> {
    const { record } = await this.fresh(provider, connection);
    const field = record.auth_type === "api_key" ? "api_key" : "access_token";
    const value = record[field];
    if (typeof value !== "string" || value === "") throw missingFieldError(record, field);
    audit(this.home, "secret_read", { provider, connection: record.connection_name, profile: this.profile, field });
    return value;
  }

  /**
   * The headers that authorize one request: Bearer token, API-key header, or an OAuth 1.0a
   * signature of exactly this method, URL and form body; plus the definition's extra headers.
   * They carry the credential to wherever the caller sends them (the URL is not checked against
   * the provider's routes, as `fetch` checks it), so they are audited as a secret read.
   */
  async getAuthHeaders(provider: string, request: AuthHeadersRequest): Promise<Record<string, string>> {
    const url = typeof request?.url === "string" || request?.url instanceof URL ? absoluteUrl(String(request.url)) : undefined;
    if (!url) throw new UsageError("getAuthHeaders needs the absolute URL the request goes to", { hint: 'pass { url: "https://host/path" }' });
    const { record, definition, connections } = await this.fresh(provider, request.connection);
    let body = request.body;
    let contentType = request.contentType;
    if (body instanceof URLSearchParams) {
      body = body.toString();
      contentType ??= "application/x-www-form-urlencoded";
    }
    const headers = authHeaders(expandBaseUrl(definition, record.base_url ?? undefined), record, await this.clientFor(connections, record), {
      method: (request.method ?? "GET").toUpperCase(),
      url: url.href,
      ...(body !== undefined ? { body } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
    }, connections.hintScope);
    audit(this.home, "secret_read", { provider, connection: record.connection_name, profile: this.profile, field: "auth_headers" });
    return headers;
  }

  /**
   * fetch with the provider's credential. The URL must be one of the provider's routes (https;
   * http only on loopback), or nothing is sent. A 401 on an OAuth 2.0 token is answered by one
   * refresh and one retry when the body can be sent again. Redirects are followed here so that
   * the credential goes only to routed URLs.
   */
  async fetch(provider: string, input: string | URL | Request, init?: RequestInit, options: FetchOptions = {}): Promise<Response> {
    const req = await prepareRequest(input, init);
    const base = this.registry.get(provider).definition;
    const connections = await this.connections();
    // the route check comes first: a refused request causes no refresh and sends nothing
    const stored = await usableConnection(connections, base, options.connection, { handsOutCredential: false });
    const definition = expandBaseUrl(base, stored.base_url ?? undefined);
    const routes = new ProviderRoutes(definition, stored);
    routes.assertAllowed(req.url);

    let record = await usableConnection(connections, base, stored.connection_name, { windowSeconds: this.windowSeconds });
    const client = await this.clientFor(connections, record);
    // signs with whatever `record` holds when called: the retry below uses the refreshed one
    const sign = (url: URL, method: string, body: BodyInit | null) =>
      routes.allows(url) ? authHeaders(definition, record, client, { method, url: url.href, ...signableBody({ body, headers: req.headers }) }, connections.hintScope) : undefined;
    const credentialHeaders = credentialHeaderNames(definition, record);
    const { response, signed } = await this.send(req, sign, credentialHeaders);

    const rejected = record.access_token;
    // only a 401 for the credential itself (not from a host a redirect led to) asks for a refresh
    if (response.status !== 401 || !signed || !req.replayable || record.auth_type !== "oauth2" || !record.refresh_token || !rejected) return response;
    // refreshed unless another process already replaced the rejected token, or it was minted for a 401 it did not cure
    const key = `${connections.profile}\u0000${base.name}\u0000${record.connection_name}`;
    if (!this.after401.mayRefresh(key, rejected)) return response;
    record = await refreshConnection({ connections, definition: base, windowSeconds: this.windowSeconds, rejectedAccessToken: rejected }, record);
    if (!record.access_token || record.access_token === rejected) return response;
    await response.body?.cancel().catch(() => {});
    const again = (await this.send(req, sign, credentialHeaders)).response;
    if (again.status === 401) this.after401.notCured(key, record.access_token);
    return again;
  }

  /**
   * Sends the request, following redirects itself (as fetch would): the credential goes only where
   * `sign` returns headers. `signed`: the last request carried it.
   */
  private async send(
    req: PreparedRequest,
    sign: (url: URL, method: string, body: BodyInit | null) => Record<string, string> | undefined,
    credentialHeaders: string[],
  ): Promise<{ response: Response; signed: boolean }> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    const headers = new Headers(req.headers);
    const follow = req.redirect === "follow";
    for (let hop = 0; ; hop++) {
      const sent = new Headers(headers);
      const auth = sign(url, method, body);
      if (auth) for (const [name, value] of Object.entries(auth)) sent.set(name, value);
      else for (const name of [...credentialHeaders, "authorization"]) sent.delete(name);
      // through the user's proxy (HTTPS_PROXY, ...) as authsome's own calls go, unless the caller picked a dispatcher
      const proxy = "dispatcher" in req.rest ? undefined : egressProxyFor(url);
      const response = await fetch(url, { ...req.rest, ...(proxy ? { dispatcher: await proxyDispatcher(proxy) } : {}), method, headers: sent, body, redirect: follow ? "manual" : req.redirect });
      // what fetch tells of a redirected response (its url is already the last one asked for)
      if (hop > 0) Object.defineProperty(response, "redirected", { value: true });
      const location = response.headers.get("location");
      if (!follow || response.status < 300 || response.status > 399 || response.status === 304 || !location) return { response, signed: auth !== undefined };
      if (hop >= 20) {
        await response.body?.cancel().catch(() => {});
        throw new TypeError("fetch failed: too many redirects");
      }
      const next = new URL(location, url);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        await response.body?.cancel().catch(() => {});
        throw new TypeError(`fetch failed: a redirect to a ${next.protocol} URL`);
      }
      const toGet = response.status === 303 ? method !== "GET" && method !== "HEAD" : (response.status === 301 || response.status === 302) && method === "POST";
      if (!toGet && body !== null && !req.replayable) return { response, signed: auth !== undefined }; // a stream cannot be sent again
      await response.body?.cancel().catch(() => {});
      if (toGet) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = null;
        for (const name of ["content-type", "content-length", "content-encoding", "content-language", "content-location"]) headers.delete(name);
      }
      // as fetch itself does across origins
      if (next.origin !== url.origin) for (const name of ["authorization", "cookie", "proxy-authorization"]) headers.delete(name);
      url = next;
    }
  }

  // ---- login and sign-out ----

  /** Connects an account: the same flows and store as `authsome login`. Returns what was connected, no secret. */
  async login(provider: string, options: LibraryLoginOptions = {}): Promise<LoginSummary> {
    const definition = this.registry.get(provider).definition;
    const flow = options.flow ?? definition.flow;
    if (flow === "device_code" && !options.onDeviceCode) {
      throw new UsageError("the device_code flow needs an onDeviceCode callback to show the code", { hint: "pass onDeviceCode to login()" });
    }
    const fromEnv = this.env.AUTHSOME_CALLBACK_PORT;
    const port = options.port ?? (fromEnv ? Number(fromEnv) : DEFAULT_CALLBACK_PORT);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new UsageError(`${options.port !== undefined ? "port" : "AUTHSOME_CALLBACK_PORT"} must be a whole number from 1 to 65535, not ${JSON.stringify(options.port ?? fromEnv)}`);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
    if (!(timeoutMs > 0 && timeoutMs <= MAX_LOGIN_WAIT_SECONDS * 1000)) {
      throw new UsageError(`timeoutMs must be from 1 to ${MAX_LOGIN_WAIT_SECONDS * 1000} (a day), not ${timeoutMs}`);
    }
    const connections = await this.connections();
    const { record, flow: used } = await runLogin(
      { home: this.home, profile: this.profile, connections },
      definition,
      {
        flow,
        connection: options.connection,
        scopes: options.scopes,
        baseUrl: options.baseUrl,
        clientId: options.clientId,
        force: options.force,
        pin: options.pin,
        existingToken: options.existingToken,
        port,
        timeoutMs,
      },
      programInteraction(options, this.env),
    );
    return loginSummary(record, used, this.profile);
  }

  /** Revokes the connection's tokens at the provider (best effort) and deletes it; as `authsome logout`. */
  async logout(provider: string, options: ConnectionOption = {}): Promise<LogoutResult> {
    const definition = this.registry.get(provider).definition;
    return logoutConnection(this.home, await this.connections(), definition, options.connection);
  }

  /** Every connection of the provider revoked (best effort) and deleted, with its client credentials; as `authsome revoke`. */
  async revoke(provider: string): Promise<RevokeResult> {
    const definition = this.registry.get(provider).definition;
    return revokeProvider(this.home, await this.connections(), definition);
  }

  /** Local deletion only: one connection, or everything of the provider including its registered definition; as `authsome remove`. */
  async remove(provider: string, options: ConnectionOption = {}): Promise<RemoveResult> {
    return removeStored(this.home, await this.connections(), this.registry, provider, options.connection);
  }

  /** The connection's variables as `authsome export --format` prints them (fresh, audited). */
  async export(provider: string, format: ExportFormat = "env", options: ConnectionOption = {}): Promise<string> {
    if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`unknown export format ${JSON.stringify(format)}`, { hint: `one of ${EXPORT_FORMATS.join(", ")}` });
    const definition = this.registry.get(provider).definition;
    return exportConnection(this.home, await this.connections(), definition, { connection: options.connection, format, windowSeconds: this.windowSeconds });
  }
}
