import { CredentialMissingError } from "../errors.js";
import type { OAuthSection, ProviderDefinition } from "../providers/schema.js";
import { expandBaseUrl } from "../providers/validate.js";
import type { Connections } from "../vault/connections.js";
import type { ClientRecord, ConnectionRecord } from "../vault/records.js";
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
      hint: `${reloginHint(connection, connections.hintProfile)} to enter them`,
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
