import { assertAlive, flowOf, loginCommand, storedConnection, usableConnection } from "../auth/credentials.js";
import { isExpired } from "../auth/expiry.js";
import { refreshConnection, RefreshesAfter401 } from "../auth/refresh.js";
import { authHeaders, credentialHeaderNames, extraHeaders, type RequestToAuthorize } from "../auth/request-auth.js";
import { AuthsomeError, RefreshError } from "../errors.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { ClientRecord, ConnectionRecord } from "../vault/records.js";
import type { RouteTarget } from "./router.js";

// Credentials for the proxy, asked of auth/ (never the vault directly). Records are kept in
// memory while their tokens are fresh, so a request costs no store read, and dropped when another
// process writes the store (a login, a logout, its own refresh). A token close to expiry goes
// through the single-flight refresh, one refresh per connection in this process and (through
// auth/refresh's lock) across processes; while it is still valid it serves meanwhile, so a slow
// or failing token endpoint stalls no request, and a failed refresh is tried again only after a
// pause that doubles (1 s to a minute).

export interface Injection {
  /** Fields to set on the request (credential and the definition's extra headers), each with its lowercase name. */
  fields: Array<[name: string, value: string, lower: string]>;
  /** Lowercase names of the credential headers (the child's copies are removed). */
  replace: string[];
  /** Lowercase names of extra headers the child may set itself. */
  extras: string[];
  /** The bearer token used, when a 401 could be cured by a refresh. */
  refreshable?: string;
}

/** Why a request could not get its credential: the proxy answers 502 with this. */
export class InjectionError extends Error {
  constructor(
    readonly provider: string,
    readonly connection: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const recordKey = (target: RouteTarget): string => `${target.provider}\u0000${target.connection}`;

/** How often the store is looked at for another process's writes (at most; only while requests come). */
const STORE_CHECK_MS = 100;
/** A token this close to its expiry is not sent while a refresh runs: it is refreshed first. */
const STILL_VALID_MARGIN_S = 5;
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 60_000;

export class CredentialSource {
  private readonly records = new Map<string, ConnectionRecord>();
  /** Reads and refreshes in flight, by what they do and to which connection. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly clients = new Map<string, Promise<ClientRecord | undefined>>();
  /** Headers of records whose credential does not depend on the request (all but OAuth 1.0a). */
  private readonly fixed = new WeakMap<ConnectionRecord, Injection>();
  /** Connections whose last refresh failed: not tried again before `at` (performance.now()). */
  private readonly retries = new Map<string, { at: number; delayMs: number }>();
  private readonly after401 = new RefreshesAfter401();
  private storeMark: string | undefined;
  private storeCheckedAt = -Infinity;

  constructor(
    private readonly connections: Connections,
    private readonly definitions: Map<string, ProviderDefinition>,
    private readonly windowSeconds: number,
  ) {}

  private definition(provider: string): ProviderDefinition {
    const def = this.definitions.get(provider);
    if (!def) throw new Error(`no definition for ${provider}`);
    return def;
  }

  /** Forgets what was read from the store when another process has written it since (at most every STORE_CHECK_MS). */
  private noticeStoreChanges(): void {
    const now = performance.now();
    if (now - this.storeCheckedAt < STORE_CHECK_MS) return;
    this.storeCheckedAt = now;
    const mark = this.connections.vault.kv.changeMark();
    if (mark === this.storeMark) return;
    this.storeMark = mark;
    // (a pause after a failed refresh stays: another process's failure writes the store too, and a
    // refresh another process made shows as a fresh token, which needs none)
    this.records.clear();
    this.clients.clear();
  }

  /**
   * The connection's record with a token to send: the one in memory (else read) while it is fresh;
   * while it is due for a refresh but still valid, the same, with the refresh started meanwhile;
   * else refreshed now. After a 401 for `rejectedAccessToken`: refreshed unless someone already did.
   */
  private async record(target: RouteTarget, rejectedAccessToken?: string): Promise<ConnectionRecord> {
    const key = recordKey(target);
    const definition = this.definition(target.provider);
    const record = this.records.get(key) ?? (await this.read(target, key));
    if (rejectedAccessToken !== undefined) {
      const work = () => refreshConnection({ connections: this.connections, definition, windowSeconds: this.windowSeconds, rejectedAccessToken }, record);
      return this.refresh(key, work, (refreshed) => refreshed.access_token !== rejectedAccessToken);
    }
    assertAlive(this.connections, definition, record);
    if (record.auth_type !== "oauth2" || !isExpired(record, this.windowSeconds)) return record;
    const refresh = () =>
      this.refresh(
        key,
        () => usableConnection(this.connections, definition, target.connection, { windowSeconds: this.windowSeconds }),
        (refreshed) => !isExpired(refreshed, this.windowSeconds),
      );
    // a few seconds short of its expiry: the service's clock and rounding may count it out already
    if (!isExpired(record, STILL_VALID_MARGIN_S)) {
      if (!this.pending.has(`refresh:${key}`) && !this.waitingToRetry(key)) refresh().catch(() => {});
      return record;
    }
    if (this.waitingToRetry(key)) {
      const seconds = Math.ceil((this.retries.get(key)!.at - performance.now()) / 1000);
      throw new RefreshError(`refreshing "${target.provider}" (connection "${target.connection}") failed moments ago; it is tried again in ${seconds} s`, {
        hint: "the provider could not give a new token; try again shortly",
      });
    }
    return refresh();
  }

  private waitingToRetry(key: string): boolean {
    const retry = this.retries.get(key);
    return retry !== undefined && performance.now() < retry.at;
  }

  /** `work` once at a time per `name`: a call while it runs gets the same promise. */
  private once<T>(name: string, work: () => Promise<T>): Promise<T> {
    const inFlight = this.pending.get(name) as Promise<T> | undefined;
    if (inFlight) return inFlight;
    const running = work().finally(() => this.pending.delete(name));
    this.pending.set(name, running);
    return running;
  }

  /** The stored connection, as it is (kept in memory). */
  private read(target: RouteTarget, key: string): Promise<ConnectionRecord> {
    return this.once(`read:${key}`, async () => {
      const record = await storedConnection(this.connections, target.provider, target.connection);
      this.records.set(key, record);
      return record;
    });
  }

  /**
   * A refresh of the connection; a failed one, or one whose record is not `done` (auth/refresh
   * keeps the token it had when the provider could not be reached), makes the next wait.
   */
  private refresh(key: string, work: () => Promise<ConnectionRecord>, done: (record: ConnectionRecord) => boolean): Promise<ConnectionRecord> {
    return this.once(`refresh:${key}`, async () => {
      try {
        const record = await work();
        this.records.set(key, record);
        if (done(record)) this.retries.delete(key);
        else this.failed(key);
        return record;
      } catch (err) {
        this.records.delete(key);
        this.failed(key);
        throw err;
      }
    });
  }

  /** A refresh failed: the next try waits, each time twice as long. */
  private failed(key: string): void {
    const delayMs = Math.min((this.retries.get(key)?.delayMs ?? FIRST_RETRY_MS / 2) * 2, LAST_RETRY_MS);
    this.retries.set(key, { at: performance.now() + delayMs, delayMs });
  }

  private client(provider: string): Promise<ClientRecord | undefined> {
    let c = this.clients.get(provider);
    if (!c) {
      c = this.connections.client(provider);
      this.clients.set(provider, c);
      c.catch(() => this.clients.delete(provider));
    }
    return c;
  }

  /**
   * The headers for one request; rejects with InjectionError (never with a secret) when there is
   * no credential. At once when a fresh record's headers are already made (most requests).
   */
  inject(target: RouteTarget, req: RequestToAuthorize, rejectedAccessToken?: string): Injection | Promise<Injection> {
    this.noticeStoreChanges();
    const cached = rejectedAccessToken === undefined ? this.records.get(recordKey(target)) : undefined;
    const known = cached && this.fixed.get(cached);
    if (known && !isExpired(cached, this.windowSeconds)) return known;
    return this.make(target, req, rejectedAccessToken);
  }

  private async make(target: RouteTarget, req: RequestToAuthorize, rejectedAccessToken?: string): Promise<Injection> {
    const definition = this.definition(target.provider);
    try {
      const record = await this.record(target, rejectedAccessToken);
      const known = this.fixed.get(record);
      if (known) return known;
      const client = record.auth_type === "oauth1" ? await this.client(target.provider) : undefined;
      const headers = authHeaders(definition, record, client, req, this.connections.hintScope);
      const refreshable = record.auth_type === "oauth2" && record.refresh_token && record.access_token ? record.access_token : undefined;
      const injection: Injection = {
        fields: Object.entries(headers).map(([name, value]) => [name, value, name.toLowerCase()]),
        replace: credentialHeaderNames(definition, record),
        extras: Object.keys(extraHeaders(definition)).map((k) => k.toLowerCase()),
        ...(refreshable ? { refreshable } : {}),
      };
      if (record.auth_type !== "oauth1") this.fixed.set(record, injection);
      return injection;
    } catch (err) {
      const login = this.loginFor(target);
      const message = err instanceof AuthsomeError ? err.message : `no credential for "${target.provider}" (connection "${target.connection}")`;
      throw new InjectionError(target.provider, target.connection, message, err instanceof AuthsomeError && err.hint ? err.hint : `run \`${login}\``);
    }
  }

  /** The login that gives this route's connection a credential (in the run's profile). */
  loginFor(target: RouteTarget): string {
    return loginCommand(target.provider, target.connection, this.connections.hintScope, flowOf(target.authType));
  }

  /**
   * After an upstream 401: refresh once (unless someone already did) and return new headers, or
   * undefined when there is nothing new to try: a refresh failed moments ago, or the refused token
   * was minted for a 401 that it did not cure.
   */
  async retryAfter401(target: RouteTarget, req: RequestToAuthorize, rejectedAccessToken: string): Promise<Injection | undefined> {
    const key = recordKey(target);
    if (this.waitingToRetry(key) || !this.after401.mayRefresh(key, rejectedAccessToken)) return undefined;
    const next = await this.inject(target, req, rejectedAccessToken);
    return !next.refreshable || next.refreshable === rejectedAccessToken ? undefined : next;
  }

  /** The request sent again with a token just minted for its 401 was refused again: see RefreshesAfter401. */
  notCured(target: RouteTarget, token: string): void {
    this.after401.notCured(recordKey(target), token);
  }
}
