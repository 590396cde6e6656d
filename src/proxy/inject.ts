import { flowOf, loginCommand, usableConnection } from "../auth/credentials.js";
import { isExpired } from "../auth/expiry.js";
import { refreshConnection } from "../auth/refresh.js";
import { authHeaders, credentialHeaderNames, extraHeaders, type RequestToAuthorize } from "../auth/request-auth.js";
import { AuthsomeError } from "../errors.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { ClientRecord, ConnectionRecord } from "../vault/records.js";
import type { RouteTarget } from "./router.js";

// Credentials for the proxy, asked of auth/ (never the vault directly). Records are kept in
// memory while their tokens are fresh, so a request costs no store read; a token close to
// expiry goes through the single-flight refresh, one refresh per connection in this process
// and (through auth/refresh's lock) across processes.

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

export class CredentialSource {
  private readonly records = new Map<string, ConnectionRecord>();
  private readonly pending = new Map<string, Promise<ConnectionRecord>>();
  private readonly clients = new Map<string, Promise<ClientRecord | undefined>>();
  /** Headers of records whose credential does not depend on the request (all but OAuth 1.0a). */
  private readonly fixed = new WeakMap<ConnectionRecord, Injection>();

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

  /** The connection's record, refreshed when it is about to expire; single-flight per connection. */
  private record(target: RouteTarget, rejectedAccessToken?: string): Promise<ConnectionRecord> {
    const key = recordKey(target);
    const cached = this.records.get(key);
    if (cached && rejectedAccessToken === undefined && !isExpired(cached, this.windowSeconds)) return Promise.resolve(cached);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const definition = this.definition(target.provider);
    const work = (async () => {
      if (rejectedAccessToken !== undefined) {
        const current = cached ?? (await usableConnection(this.connections, definition, target.connection, { windowSeconds: this.windowSeconds }));
        return refreshConnection({ connections: this.connections, definition, windowSeconds: this.windowSeconds, rejectedAccessToken }, current);
      }
      return usableConnection(this.connections, definition, target.connection, { windowSeconds: this.windowSeconds });
    })();
    this.pending.set(key, work);
    return work.then(
      (record) => {
        this.pending.delete(key);
        this.records.set(key, record);
        return record;
      },
      (err: unknown) => {
        this.pending.delete(key);
        this.records.delete(key);
        throw err;
      },
    );
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

  /** After an upstream 401: refresh once (unless someone already did) and return new headers, or undefined. */
  async retryAfter401(target: RouteTarget, req: RequestToAuthorize, rejectedAccessToken: string): Promise<Injection | undefined> {
    const next = await this.inject(target, req, rejectedAccessToken);
    return next.refreshable === rejectedAccessToken ? undefined : next;
  }
}
