// Remote revocation for logout and revoke (RFC 7009). Never throws for remote trouble: a
// failed revocation is a warning and the caller still deletes locally, so a dead or
// misconfigured provider can never keep a credential on disk.
import type { ProviderDefinition } from "../providers/schema.js";
import { expandBaseUrl } from "../providers/validate.js";
import type { Connections } from "../vault/connections.js";
import type { ConnectionRecord } from "../vault/records.js";
import { oauthClientFor } from "./client-credentials.js";
import { revokeToken, type OAuthClient } from "./token-client.js";
import { invalidateAppOnlyToken } from "./flows/app-only.js";
import { oauth1Request, refused } from "./oauth1/client.js";
import { oauth1Consumer } from "./oauth1/consumer.js";

export interface RemoteRevocation {
  /** Every token the connection held was revoked at the provider. */
  revoked: boolean;
  /** What went wrong or was skipped; never carries a secret. */
  warnings: string[];
}

// Logout should not hang for the token client's default 30 s on an unresponsive server.
const REVOKE_TIMEOUT_MS = 10_000;

export async function revokeConnectionRemotely(connections: Connections, definition: ProviderDefinition, record: ConnectionRecord): Promise<RemoteRevocation> {
  const label = `"${definition.name}" (connection "${record.connection_name}")`;
  if (record.auth_type === "oauth1" || record.auth_type === "app_only") return revokeConsumerToken(connections, definition, record, label);
  if (record.auth_type !== "oauth2") return { revoked: false, warnings: [] }; // API keys: nothing to revoke remotely
  if (!record.access_token && !record.refresh_token) return { revoked: false, warnings: [] };

  let url: string | undefined;
  let client: OAuthClient;
  try {
    // Without an endpoint there is nothing to revoke, client or not.
    const declared = expandBaseUrl(definition, record.base_url ?? undefined).oauth?.revocation_url;
    const stored = await oauthClientFor(connections, definition, record).catch((err: unknown) => {
      if (declared) throw err;
      return undefined;
    });
    url = stored?.oauth.revocation_url ?? undefined;
    if (!stored || !url) {
      return { revoked: false, warnings: [`${definition.name} has no revocation endpoint: ${label} was only deleted locally; its tokens stay valid at the provider until they expire`] };
    }
    client = stored.client;
  } catch (err) {
    return { revoked: false, warnings: [`could not revoke ${label} at the provider: ${reason(err)}`] };
  }

  const warnings: string[] = [];
  const revoked = new Set<string>();
  const revokeAll = async (rec: ConnectionRecord) => {
    // The refresh token first: with it gone, a leaked access token cannot be renewed.
    const tokens = [
      ["refresh_token", rec.refresh_token],
      ["access_token", rec.access_token],
    ] as const;
    for (const [hint, token] of tokens) {
      if (!token || revoked.has(token)) continue;
      try {
        await revokeToken({ url: url!, token, tokenTypeHint: hint, client, timeoutMs: REVOKE_TIMEOUT_MS });
        revoked.add(token);
      } catch (err) {
        warnings.push(`could not revoke the ${hint.replace("_", " ")} of ${label} at the provider: ${reason(err)}`);
      }
    }
  };
  await revokeAll(record);
  // Logout holds the refresh lock, but the Python implementation does not take it and may have
  // rotated the tokens meanwhile: revoke those too.
  const latest = await connections.get(definition.name, record.connection_name).catch(() => undefined);
  if (latest && warnings.length === 0) await revokeAll(latest);
  return { revoked: warnings.length === 0, warnings };
}

/**
 * OAuth 1.0a tokens (invalidate_token signed with the token itself) and app-only bearer tokens
 * (invalidate_token with the consumer's Basic credentials), at the endpoints the definition names.
 */
async function revokeConsumerToken(connections: Connections, definition: ProviderDefinition, record: ConnectionRecord, label: string): Promise<RemoteRevocation> {
  const kind = record.auth_type as "oauth1" | "app_only";
  const token = record.access_token;
  if (!token) return { revoked: false, warnings: [] };
  const url = kind === "oauth1" ? definition.oauth1?.invalidate_url : definition.app_only?.invalidate_url;
  if (!url) {
    return { revoked: false, warnings: [`${definition.name} has no ${kind} invalidation endpoint: ${label} was only deleted locally; its token stays valid at the provider`] };
  }
  try {
    const consumer = await oauth1Consumer(connections, definition, record);
    if (kind === "app_only") {
      await invalidateAppOnlyToken(url, consumer, token, REVOKE_TIMEOUT_MS);
    } else {
      const tokenSecret = typeof record.token_secret === "string" ? record.token_secret : "";
      const answer = await oauth1Request({ method: "POST", url, what: "invalidation endpoint", consumer, token, tokenSecret, timeoutMs: REVOKE_TIMEOUT_MS });
      if (answer.status < 200 || answer.status >= 300) throw refused(answer, "invalidation endpoint", "the token may already be invalid", [token, tokenSecret]);
    }
    return { revoked: true, warnings: [] };
  } catch (err) {
    return { revoked: false, warnings: [`could not invalidate the token of ${label} at the provider: ${reason(err)}`] };
  }
}

// Token client and definition errors are written without secrets; keep only the message.
function reason(err: unknown): string {
  return err instanceof Error ? err.message : "unknown error";
}
