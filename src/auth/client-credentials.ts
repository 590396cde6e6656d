import { CredentialMissingError } from "../errors.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { OAuthClient } from "./token-client.js";

/** The provider's stored OAuth client, with the authentication its definition declares. */
export async function oauthClientFor(connections: Connections, definition: ProviderDefinition): Promise<OAuthClient> {
  const record = await connections.client(definition.name);
  if (!record?.client_id) {
    throw new CredentialMissingError(`no OAuth client credentials are stored for "${definition.name}"`, {
      hint: `run \`authsome login ${definition.name} --force\` to enter them`,
    });
  }
  const secret = record.client_secret?.trim() || null;
  return {
    clientId: record.client_id,
    clientSecret: secret,
    authMethod: definition.oauth?.client_auth_method ?? (secret ? "client_secret_basic" : "none"),
    clientIdInBody: definition.oauth?.client_id_in_body,
  };
}
