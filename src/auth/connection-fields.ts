// The fields `get --field` can name. Every connection record has the shared format's fields
// (reference/store-format.md), empty where its kind has no use for them; an OAuth 1.0a one also
// keeps its token secret. A name outside these is a typo (exit 2), not a missing credential (exit 5).
import { CredentialMissingError, UsageError } from "../errors.js";
import type { ConnectionRecord } from "../vault/records.js";
import { fieldValue } from "./export.js";

const FORMAT_FIELDS = ["schema_version", "provider", "profile", "connection_name", "auth_type", "status", "base_url", "host_url", "scopes", "access_token", "refresh_token", "token_type", "expires_at", "obtained_at", "api_key", "account", "account.id", "account.label"];
const KIND_FIELDS: Record<string, readonly string[]> = { oauth1: ["token_secret"] };
// metadata is where new information goes (store-format.md), so any key under it may be asked for
const OPEN = "metadata";

/** The secrets a connection can hold; client secrets belong to the provider's client record, not to a connection. */
export const CONNECTION_SECRET_FIELDS: ReadonlySet<string> = new Set(["access_token", "refresh_token", "api_key", "token_secret"]);

const KIND_NAMES: Partial<Record<string, string>> = {
  oauth2: "an OAuth 2.0 connection",
  oauth1: "an OAuth 1.0a connection",
  app_only: "an app-only connection",
  api_key: "an API key connection",
};

/** The fields of a connection of this kind (of any kind when undefined), metadata aside. */
function fieldsOf(authType?: string): string[] {
  const extra = authType === undefined ? Object.values(KIND_FIELDS).flat() : (KIND_FIELDS[authType] ?? []);
  return [...FORMAT_FIELDS, ...extra];
}

export const isEmpty = (value: unknown) => value === undefined || value === null || value === "";
const isField = (field: string, authType?: string) => field === OPEN || (field.startsWith(`${OPEN}.`) && field.length > OPEN.length + 1) || fieldsOf(authType).includes(field);
const fieldList = (authType?: string) => [...fieldsOf(authType), OPEN, `${OPEN}.NAME`].join(", ");

/** Refuses a name that no connection of any kind has, before anything is read. */
export function checkFieldName(field: string): void {
  if (!isField(field)) {
    throw new UsageError(`--field ${JSON.stringify(field)} is not a field of any connection`, { hint: `fields: ${fieldList()}` });
  }
}

/**
 * Refuses a name this connection's kind cannot have (exit 2), and an empty field that no refresh
 * can fill (exit 5), so neither calls the provider: a refresh renews an OAuth 2.0 access token only.
 */
export function checkFieldOf(record: ConnectionRecord, field: string): void {
  if (!isField(field, record.auth_type)) {
    throw new UsageError(`--field ${JSON.stringify(field)} is not a field of the connection "${record.connection_name}" of "${record.provider}": it is ${kindName(record.auth_type)}`, {
      hint: `its fields: ${fieldList(record.auth_type)}`,
    });
  }
  const refreshable = record.auth_type === "oauth2" && field === "access_token";
  if (!refreshable && isEmpty(fieldValue(record, field))) throw missingFieldError(record, field);
}

/** The error for a field the connection can have but does not hold. */
export function missingFieldError(record: ConnectionRecord, field: string): CredentialMissingError {
  const held = [...CONNECTION_SECRET_FIELDS].filter((f) => !isEmpty(record[f]));
  return new CredentialMissingError(`the connection "${record.connection_name}" of "${record.provider}" has no ${field}`, {
    hint: CONNECTION_SECRET_FIELDS.has(field)
      ? `it is ${kindName(record.auth_type)}; its secret fields: ${held.join(", ") || "none"}`
      : `it is ${kindName(record.auth_type)}; \`authsome get\` without --field shows what it holds`,
  });
}

/** "an OAuth 2.0 connection", "an API key connection"...: a kind of connection in words. */
export function kindName(authType: string): string {
  return KIND_NAMES[authType] ?? `a connection of kind ${JSON.stringify(authType)}`;
}
