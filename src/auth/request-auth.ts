import { CredentialMissingError } from "../errors.js";
import type { HintScope } from "../home/home.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { ClientRecord, ConnectionRecord } from "../vault/records.js";
import { storedConsumer } from "./oauth1/consumer.js";
import { signOAuth1Request } from "./oauth1/sign.js";
import { reloginHint } from "./credentials.js";

// The one place that turns a usable connection into a request's credential headers. The proxy
// and the library's getAuthHeaders both call it, so both inject exactly the same way.

export interface RequestToAuthorize {
  method: string;
  /** Absolute URL of the request (query included: OAuth 1.0a signs it). */
  url: string;
  /** The body, when it is form-encoded and known: OAuth 1.0a signs its parameters. */
  body?: string | Buffer;
  contentType?: string;
}

const FORM = "application/x-www-form-urlencoded";

/** Header names that carry the credential (lowercase): the proxy replaces the child's placeholders in these. */
export function credentialHeaderNames(definition: ProviderDefinition, record: Pick<ConnectionRecord, "auth_type">): string[] {
  if (record.auth_type === "api_key") return [(definition.api_key?.header_name ?? "Authorization").toLowerCase()];
  return ["authorization"];
}

/** The definition's extra headers (Notion-Version and the like). */
export function extraHeaders(definition: ProviderDefinition): Record<string, string> {
  return { ...(definition.headers ?? {}) };
}

function apiKeyValue(definition: ProviderDefinition, key: string): string {
  const section = definition.api_key ?? {};
  const format = section.value_format ?? "raw";
  const value =
    format === "basic_username"
      ? Buffer.from(`${key}:`).toString("base64")
      : format === "basic_password"
        ? Buffer.from(`:${key}`).toString("base64")
        : key;
  const prefix = section.header_prefix ?? (format === "raw" ? "Bearer" : "Basic");
  return prefix ? `${prefix} ${value}` : value;
}

function missing(record: ConnectionRecord, what: string, hintScope: HintScope | undefined): CredentialMissingError {
  return new CredentialMissingError(`the connection "${record.connection_name}" of "${record.provider}" has no ${what}`, { hint: reloginHint(record, hintScope) });
}

function formParams(req: RequestToAuthorize): URLSearchParams | undefined {
  if (req.body === undefined) return undefined;
  const type = (req.contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== FORM) return undefined; // JSON, multipart and binary bodies are never signed
  return new URLSearchParams(typeof req.body === "string" ? req.body : req.body.toString("utf8"));
}

/**
 * The headers that authorize `req` with `record`: the definition's extra headers, then the
 * credential (Bearer token, API-key header, or an OAuth 1.0a signature for this very request).
 * `client` is the provider's client record (its `consumer_key` / `consumer_secret` sign OAuth 1.0a);
 * `hintScope` is where a failure's hint points (Connections.hintScope).
 */
export function authHeaders(
  definition: ProviderDefinition,
  record: ConnectionRecord,
  client: ClientRecord | undefined,
  req: RequestToAuthorize,
  hintScope: HintScope | undefined,
): Record<string, string> {
  const headers = extraHeaders(definition);
  let name = "Authorization";
  let value: string;
  switch (record.auth_type) {
    case "oauth2":
    case "app_only":
      if (!record.access_token) throw missing(record, "access token", hintScope);
      value = `Bearer ${record.access_token}`;
      break;
    case "api_key":
      if (!record.api_key) throw missing(record, "API key", hintScope);
      name = definition.api_key?.header_name ?? "Authorization";
      value = apiKeyValue(definition, record.api_key);
      break;
    case "oauth1": {
      const tokenSecret = typeof record.token_secret === "string" ? record.token_secret : null;
      if (!record.access_token || tokenSecret === null) throw missing(record, "OAuth 1.0a token", hintScope);
      const consumer = storedConsumer(client);
      if (!consumer) {
        throw new CredentialMissingError(`no OAuth 1.0a consumer key and secret for "${record.provider}"`, { hint: reloginHint(record, hintScope) });
      }
      value = signOAuth1Request({
        method: req.method,
        url: req.url,
        form: formParams(req),
        consumerKey: consumer.key,
        consumerSecret: consumer.secret,
        token: record.access_token,
        tokenSecret,
      });
      break;
    }
    default:
      throw new CredentialMissingError(`the connection "${record.connection_name}" of "${record.provider}" has an unknown kind`, { hint: reloginHint(record, hintScope) });
  }
  if (/[\r\n]/.test(value)) throw missing(record, "usable credential (it contains a line break)", hintScope);
  // the credential header replaces any extra header of the same name, whatever its case
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
  headers[name] = value;
  return headers;
}
