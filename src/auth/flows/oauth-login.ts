// What every OAuth 2.0 login shares: which client to use, who the account is, the record to store.
import { UsageError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import type { ClientRecord, ConnectionRecord } from "../../vault/records.js";
import { newConnection } from "../../vault/records.js";
import { fieldValue } from "../export.js";
import { assertSecureEndpoint, expiresAt, type OAuthClient, type TokenResponse } from "../token-client.js";

export interface ClientSources {
  /** --client-id */
  clientId?: string;
  env: NodeJS.ProcessEnv;
  stored?: ClientRecord;
  /** A hidden prompt, when a terminal is there. Empty answer: a public client. */
  askSecret?: () => Promise<string>;
}

/** The client id and secret for a login; the secret never comes from argv. */
export async function resolveClient(def: ProviderDefinition, src: ClientSources): Promise<OAuthClient> {
  const oauth = def.oauth ?? undefined;
  const fromEnv = (name?: string) => (name ? src.env[name]?.trim() || undefined : undefined);
  const storedId = src.stored?.client_id?.trim() || undefined;
  const clientId = src.clientId?.trim() || fromEnv(oauth?.client_id_env) || storedId;
  if (!clientId) {
    const env = oauth?.client_id_env ? ` or set ${oauth.client_id_env}` : "";
    throw new UsageError(`"${def.name}" needs an OAuth client id to log in`, { hint: `pass --client-id ID${env}` });
  }
  // A stored secret belongs to the stored client id only.
  const storedSecret = storedId === clientId ? src.stored?.client_secret?.trim() || undefined : undefined;
  let secret = fromEnv(oauth?.client_secret_env) ?? storedSecret;
  if (secret === undefined && src.askSecret && oauth?.client_auth_method !== "none") {
    secret = (await src.askSecret()).trim() || undefined;
  }
  return {
    clientId,
    clientSecret: secret ?? null,
    authMethod: oauth?.client_auth_method ?? (secret ? "client_secret_basic" : "none"),
    clientIdInBody: oauth?.client_id_in_body,
  };
}

export interface Identity {
  id: string | null;
  label: string | null;
}

/** Who the token belongs to, per the definition's identity section; throws on any failure. */
export async function fetchIdentity(def: ProviderDefinition, token: TokenResponse): Promise<Identity | undefined> {
  const identity = def.identity;
  if (!identity?.url) return undefined;
  const url = assertSecureEndpoint(identity.url, "identity endpoint");
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token.access_token}`, accept: "application/json" },
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`the identity endpoint ${url.origin}${url.pathname} answered ${res.status}`);
  const body: unknown = JSON.parse((await res.text()).slice(0, 1024 * 1024));
  const id = pick(body, identity.id_path);
  const label = identity.label_path ? pick(body, identity.label_path) : undefined;
  return {
    id: id === undefined || id === null ? null : String(id),
    label: label === undefined || label === null ? null : String(label),
  };
}

/** A scalar at a dotted path of the identity response; objects are not an id or a label. */
function pick(value: unknown, path: string): unknown {
  const found = fieldValue(value as Record<string, unknown>, path);
  return typeof found === "object" ? undefined : found;
}

export function oauthConnection(
  def: ProviderDefinition,
  where: { profile: string; connection: string },
  token: TokenResponse,
  requested: string[],
  account: Identity | undefined,
): ConnectionRecord {
  const scopes = token.scope ? token.scope.split(/\s+/).filter(Boolean) : requested;
  return newConnection({
    provider: def.name,
    profile: where.profile,
    connection_name: where.connection,
    auth_type: "oauth2",
    status: "connected",
    base_url: def.oauth?.base_url ?? null,
    scopes,
    access_token: token.access_token,
    refresh_token: token.refresh_token ?? null,
    token_type: token.token_type,
    expires_at: expiresAt(token.expires_in),
    account: { id: account?.id ?? null, label: account?.label ?? null },
  });
}
