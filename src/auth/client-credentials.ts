import { CredentialMissingError, UsageError } from "../errors.js";
import type { OAuthSection, ProviderDefinition } from "../providers/schema.js";
import { expandBaseUrl } from "../providers/validate.js";
import type { Connections } from "../vault/connections.js";
import type { ClientRecord, ConnectionAuthType, ConnectionRecord } from "../vault/records.js";
import type { LoginInteraction } from "./interaction.js";
import type { OAuthClient } from "./token-client.js";
import { reloginHint } from "./credentials.js";

export interface StoredOAuthClient {
  client: OAuthClient;
  /** The definition's endpoints, or those a dynamically registered client discovered at login. */
  oauth: OAuthSection;
}

/**
 * The provider's stored OAuth client, with the authentication its definition declares (or that
 * its registration returned), and the endpoints to use it at, for this connection.
 */
export async function oauthClientFor(connections: Connections, definition: ProviderDefinition, connection: ConnectionRecord): Promise<StoredOAuthClient> {
  const record = await connections.client(definition.name);
  if (!record?.client_id) {
    throw new CredentialMissingError(`no OAuth client credentials are stored for "${definition.name}"`, {
      hint: `${reloginHint(connection, connections.hintScope)} to enter them`,
    });
  }
  const secret = record.client_secret?.trim() || null;
  const registered = registration(record);
  return {
    client: {
      clientId: record.client_id,
      clientSecret: secret,
      // a client stored without a secret is a public client, whatever confidential clients use
      authMethod: registered?.token_endpoint_auth_method ?? (secret ? (definition.oauth?.client_auth_method ?? "client_secret_basic") : "none"),
      clientIdInBody: definition.oauth?.client_id_in_body,
    },
    oauth: { ...expandBaseUrl(definition, connection.base_url ?? undefined).oauth!, ...registered?.endpoints },
  };
}

/** What dynamic registration (RFC 7591) stored with a client: how it authenticates and where. */
export interface Registration {
  token_endpoint_auth_method: OAuthClient["authMethod"];
  redirect_uri: string;
  issuer: string;
  endpoints: Pick<OAuthSection, "authorization_url" | "token_url" | "revocation_url">;
}

export function registration(record: ClientRecord | undefined): Registration | undefined {
  const value = record?.metadata?.registration;
  return value && typeof value === "object" ? (value as Registration) : undefined;
}

/** The client a connection was issued to: OAuth 2.0 connections by client_id, OAuth 1.0a and app-only ones by consumer key. */
const SERVES: Record<"client_id" | "consumer_key", { kinds: ConnectionAuthType[]; what: string }> = {
  client_id: { kinds: ["oauth2"], what: "client" },
  consumer_key: { kinds: ["oauth1", "app_only"], what: "consumer key" },
};

export interface ClientChange {
  field: "client_id" | "consumer_key";
  /** The stored client's id. */
  stored: string | null | undefined;
  /** The id the login uses; undefined for a client it would register (RFC 7591). */
  next: string | undefined;
  /** Why a registration would replace it, and how not to (dcr). */
  registering?: { redirectUri: string; hint: string };
}

/** The provider's connections other than the one logging in that were issued to its stored client (or consumer key). */
export async function otherConnectionsOfClient(
  ctx: { definition: { name: string }; connection: string; connections: Connections },
  field: ClientChange["field"],
): Promise<string[]> {
  const { kinds } = SERVES[field];
  return (await ctx.connections.list(ctx.definition.name)).filter((e) => e.connection !== ctx.connection && e.record && kinds.includes(e.record.auth_type)).map((e) => e.connection);
}

/**
 * A provider keeps one client for all its connections (the shared store format): a login that
 * brings another would leave the others refreshing (or signing) with a client that did not issue
 * their tokens. Refused unless --force (which says which connections need a new login), before
 * the login asks anything of the person.
 */
export async function assertClientOfOthers(
  ctx: { definition: { name: string }; connection: string; options: { force?: boolean }; connections: Connections; interaction: Pick<LoginInteraction, "say" | "hints"> },
  change: ClientChange,
): Promise<void> {
  const { field, stored, next } = change;
  if (!stored || stored === next) return;
  const provider = ctx.definition.name;
  const { what } = SERVES[field];
  const others = (await otherConnectionsOfClient(ctx, field)).map((name) => `"${name}"`);
  if (others.length === 0) return;
  const issued = `the connections ${others.join(", ")} of "${provider}" were issued to ${what} ${stored}`;
  if (ctx.options.force) {
    const { hints } = ctx.interaction;
    ctx.interaction.say(`warning: ${issued}; once this login replaces it, log them in again (with ${hints.connection} and ${hints.force})`);
    return;
  }
  if (change.registering) {
    throw new UsageError(`${issued}; registering a new client for ${change.registering.redirectUri} would replace it (a provider keeps one client for all its connections)`, {
      hint: `${change.registering.hint}; ${ctx.interaction.hints.force} registers a new one, and those connections then need a new login`,
    });
  }
  throw new UsageError(`${issued}, not ${next}; a provider keeps one ${what} for all its connections`, {
    hint: `log in with ${what} ${stored}, or keep the other in another profile (${ctx.interaction.hints.profile}); ${ctx.interaction.hints.force} replaces it, and those connections then need a new login`,
  });
}

/**
 * The provider's client record after a login: the login's fields over the stored ones. Another
 * client_id is another client: nothing of the old one's registration (its authentication method
 * and endpoints) carries over to it.
 */
export function mergedClient(stored: ClientRecord | undefined, next: Partial<ClientRecord>): Partial<ClientRecord> {
  if (!stored) return next;
  const metadata = { ...stored.metadata, ...next.metadata };
  if (next.client_id !== undefined && next.client_id !== stored.client_id && !next.metadata?.registration) delete metadata.registration;
  return { ...stored, ...next, metadata };
}
