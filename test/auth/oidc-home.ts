// A temp home with a user-registered provider ("localidp") pointing at the local oidc-provider
// peer, its client credentials, and a logged-in connection. Shared by the OAuth tests.
import assert from "node:assert/strict";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";
import { newConnection, type ConnectionRecord } from "../../src/vault/records.js";
import { tokenRequest } from "../../src/auth/token-client.js";
import { CLIENTS, type OidcServer } from "../peers/oidc.js";
import { emptyHome, writeProvider } from "../helpers.js";

export const PROVIDER = "localidp";

export function openConnections(home: string): Connections {
  return new Connections(new Vault(new Home(home), "default"));
}

/** A new login at the server (authorization code + PKCE), as a connection record not yet stored. */
export async function freshConnection(server: OidcServer, connection = "default"): Promise<ConnectionRecord> {
  const { code, verifier, redirectUri } = await server.authorizationCode({ clientId: CLIENTS.basic.clientId, scope: "openid offline_access" });
  const tokens = await tokenRequest({
    url: server.tokenEndpoint,
    grant: { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri },
    client: CLIENTS.basic,
  });
  assert.ok(tokens.refresh_token, "the server issues refresh tokens");
  return newConnection({
    provider: PROVIDER,
    profile: "default",
    connection_name: connection,
    auth_type: "oauth2",
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token!,
    token_type: "Bearer",
    obtained_at: new Date().toISOString(),
    expires_at: new Date(Date.now() - 60_000).toISOString(),
  });
}

/**
 * The "localidp" provider definition, pointing at the oidc peer: the one most OAuth tests log in
 * to. `oauth` and `rest` override its parts.
 */
export function localIdpDefinition(server: OidcServer, oauth: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 1,
    name: PROVIDER,
    display_name: "Local IdP",
    auth_type: "oauth2",
    flow: "pkce",
    oauth: {
      authorization_url: server.authorizationEndpoint,
      token_url: server.tokenEndpoint,
      revocation_url: server.revocationEndpoint,
      scopes: ["openid", "offline_access"],
      client_auth_method: "client_secret_basic",
      ...oauth,
    },
    routes: [{ host: "127.0.0.1" }],
    ...rest,
  };
}

/** A home with the provider, its client, and a logged-in connection whose token has expired. */
export async function homeWithExpiredToken(server: OidcServer, opts: { revocationUrl?: string | null } = {}): Promise<{ home: string; record: ConnectionRecord }> {
  const home = emptyHome();
  const revocation = opts.revocationUrl === undefined ? server.revocationEndpoint : opts.revocationUrl;
  writeProvider(
    home,
    localIdpDefinition(server, { revocation_url: revocation ?? undefined, rotates_refresh_token: true }, { export: { env: { access_token: "LOCALIDP_ACCESS_TOKEN" } } }),
  );
  const record = await freshConnection(server);
  const connections = openConnections(home);
  await connections.saveClient(PROVIDER, { client_id: CLIENTS.basic.clientId, client_secret: CLIENTS.basic.clientSecret });
  await connections.save(record);
  connections.vault.close();
  return { home, record };
}
