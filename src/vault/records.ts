// Typed records of the shared store (reference/store-format.md). Each record is kept as the
// whole parsed object so that fields this implementation does not know survive a rewrite.

export type ConnectionStatus = "not_connected" | "connected" | "expired" | "revoked" | "invalid";
export type ConnectionAuthType = "oauth2" | "api_key" | "oauth1" | "app_only";

/**
 * The Python reader knows only "oauth2" and "api_key" as auth_type, and a record it cannot parse
 * breaks its every listing (../shared/reference/store-format.md). OAuth 1.0a and app-only
 * connections are stored as "oauth2" (app-only tokens are OAuth 2.0 bearer tokens; an OAuth 1.0a
 * token is useless to it without its secret), their own kind kept in `metadata`.
 */
const STORED_KIND = "authsome_auth_type";

/** A connection record as it is written to the store. */
export function connectionForStore(record: ConnectionRecord): ConnectionRecord {
  if (record.auth_type === "oauth2" || record.auth_type === "api_key") return record;
  return { ...record, auth_type: "oauth2", metadata: { ...record.metadata, [STORED_KIND]: record.auth_type } };
}

/** A connection record as read from the store (records written with their own kind as auth_type, by earlier versions, too). */
export function connectionFromStore(stored: ConnectionRecord): ConnectionRecord {
  const kind = stored.metadata?.[STORED_KIND];
  if (kind !== "oauth1" && kind !== "app_only") return stored;
  const { [STORED_KIND]: _, ...metadata } = stored.metadata;
  return { ...stored, auth_type: kind, metadata };
}

export interface ConnectionRecord {
  schema_version: number;
  provider: string;
  profile: string;
  connection_name: string;
  auth_type: ConnectionAuthType;
  status: ConnectionStatus;
  base_url: string | null;
  host_url: string | null;
  scopes: string[] | null;
  access_token: string | null;
  refresh_token: string | null;
  token_type: string | null;
  expires_at: string | null;
  obtained_at: string | null;
  api_key: string | null;
  account: { id: string | null; label: string | null; [k: string]: unknown };
  metadata: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ClientRecord {
  schema_version: number;
  profile: string;
  provider: string;
  client_id: string | null;
  client_secret: string | null;
  base_url: string | null;
  host_url: string | null;
  scopes: string[] | null;
  metadata: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ProviderMetadataRecord {
  schema_version: number;
  profile: string;
  provider: string;
  default_connection: string | null;
  connection_names: string[];
  last_used_connection: string | null;
  metadata: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ProviderStateRecord {
  schema_version: number;
  provider: string;
  profile: string;
  last_refresh_at: string | null;
  last_refresh_error: string | null;
  metadata: Record<string, unknown>;
  [k: string]: unknown;
}

export const SCHEMA_VERSION = 2;

/** Fields of a connection that hold secrets: never printed without --show-secret, never logged. */
export const SECRET_FIELDS = new Set(["access_token", "refresh_token", "api_key", "client_secret", "token_secret", "consumer_secret"]);

export const REDACTED = "********";

/** A copy of a record with every secret field that holds a value replaced by REDACTED. */
export function redactSecrets<T extends Record<string, unknown>>(record: T): T {
  const copy: Record<string, unknown> = { ...record };
  for (const field of SECRET_FIELDS) if (copy[field]) copy[field] = REDACTED;
  return copy as T;
}

export const keys = {
  profilePrefix: (profile: string) => `profile:${profile}:`,
  providerPrefix: (profile: string, provider: string) => `profile:${profile}:${provider}:`,
  connection: (profile: string, provider: string, connection: string) =>
    `profile:${profile}:${provider}:connection:${connection}`,
  client: (profile: string, provider: string) => `profile:${profile}:${provider}:client`,
  metadata: (profile: string, provider: string) => `profile:${profile}:${provider}:metadata`,
  state: (profile: string, provider: string) => `profile:${profile}:${provider}:state`,
};

export type RecordKind = "connection" | "client" | "metadata" | "state";

export interface ParsedKey {
  profile: string;
  provider: string;
  kind: RecordKind;
  connection?: string;
}

export function parseKey(key: string): ParsedKey | undefined {
  const parts = key.split(":");
  if (parts[0] !== "profile" || parts.length < 4) return undefined;
  const [, profile, provider, kind, connection] = parts as [string, string, string, string, string?];
  if (kind === "connection" && parts.length === 5 && connection) return { profile, provider, kind, connection };
  if ((kind === "client" || kind === "metadata" || kind === "state") && parts.length === 4) return { profile, provider, kind };
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks what every reader relies on; throws a short reason (no values) when the record is unusable. */
export function checkRecord(kind: RecordKind, value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw new Error("record is not a JSON object");
  const version = value.schema_version;
  if (typeof version !== "number") throw new Error("record has no schema_version");
  if (version < SCHEMA_VERSION) throw new Error(`record has old schema_version ${version}`);
  const need: Record<RecordKind, string[]> = {
    connection: ["provider", "connection_name", "auth_type", "status"],
    client: ["provider"],
    metadata: ["provider"],
    state: ["provider"],
  };
  for (const field of need[kind]) {
    if (typeof value[field] !== "string") throw new Error(`record field "${field}" is missing or not a string`);
  }
  if (kind === "metadata" && !Array.isArray(value.connection_names)) throw new Error('record field "connection_names" is not a list');
  return value;
}

export function newConnection(init: Pick<ConnectionRecord, "provider" | "profile" | "connection_name" | "auth_type"> & Partial<ConnectionRecord>): ConnectionRecord {
  return {
    schema_version: SCHEMA_VERSION,
    status: "connected",
    base_url: null,
    host_url: null,
    scopes: null,
    access_token: null,
    refresh_token: null,
    token_type: null,
    expires_at: null,
    obtained_at: nowIso(),
    api_key: null,
    account: { id: null, label: null },
    metadata: {},
    ...init,
  };
}

/** A provider's metadata; `names`: connections already stored (when a damaged record is rebuilt), the first the default. */
export function newMetadata(profile: string, provider: string, names: string[] = []): ProviderMetadataRecord {
  return {
    schema_version: SCHEMA_VERSION,
    profile,
    provider,
    default_connection: names[0] ?? null,
    connection_names: [...names],
    last_used_connection: names[0] ?? null,
    metadata: {},
  };
}

/** ISO-8601 with a timezone, as the Python reader requires. */
export function nowIso(date = new Date()): string {
  return date.toISOString();
}
