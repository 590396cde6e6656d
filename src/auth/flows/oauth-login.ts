// What every OAuth 2.0 login shares: which client to use, who the account is, the record to store.
import { UsageError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import type { ClientRecord, ConnectionRecord } from "../../vault/records.js";
import { newConnection } from "../../vault/records.js";
import type { InputField, LoginInteraction } from "../interaction.js";
import type { FlowContext, FlowResult } from "../login.js";
import { assertClientOfOthers } from "../client-credentials.js";
import { displayUrl, requestJson } from "../http.js";
import { identityFrom, type Identity } from "../identity.js";
import { expiresAt, type OAuthClient, type TokenResponse } from "../token-client.js";
import { deviceLogin } from "./device.js";
import { pkceLogin, type ExpectedIssuer } from "./pkce.js";

export interface ClientSources {
  /** --client-id */
  clientId?: string;
  env: NodeJS.ProcessEnv;
  stored?: ClientRecord;
  /** Asks the person (local form or hidden prompt). An empty secret: a public client. */
  ask?: LoginInteraction["ask"];
}

/** The client id and secret for a login; the secret never comes from argv. */
export async function resolveClient(def: ProviderDefinition, src: ClientSources): Promise<OAuthClient> {
  const oauth = def.oauth ?? undefined;
  const fromEnv = (name?: string) => (name ? src.env[name]?.trim() || undefined : undefined);
  const storedId = src.stored?.client_id?.trim() || undefined;
  let clientId = src.clientId?.trim() || fromEnv(oauth?.client_id_env) || storedId;
  // A stored secret belongs to the stored client id only.
  const storedSecret = clientId && storedId === clientId ? src.stored?.client_secret?.trim() || undefined : undefined;
  let secret = fromEnv(oauth?.client_secret_env) ?? storedSecret;
  const wantsSecret = secret === undefined && oauth?.client_auth_method !== "none";
  if ((!clientId || wantsSecret) && src.ask) {
    const fields: InputField[] = [];
    if (!clientId) fields.push({ name: "client_id", label: "Client ID", secret: false });
    if (wantsSecret) fields.push({ name: "client_secret", label: "Client secret", secret: true, optional: true });
    const answers = await src.ask({ title: `${def.display_name} OAuth client`, fields });
    clientId ||= answers.client_id?.trim() || undefined;
    if (wantsSecret) secret = answers.client_secret?.trim() || undefined;
  }
  if (!clientId) {
    const env = oauth?.client_id_env ? ` or set ${oauth.client_id_env}` : "";
    throw new UsageError(`"${def.name}" needs an OAuth client id to log in`, { hint: `pass --client-id ID${env}` });
  }
  return {
    clientId,
    clientSecret: secret ?? null,
    // a client without a secret is a public client (X's native apps), whatever confidential clients use
    authMethod: secret ? (oauth?.client_auth_method ?? "client_secret_basic") : "none",
    clientIdInBody: oauth?.client_id_in_body,
  };
}

/** Who the token belongs to, per the definition's identity section; throws on any failure. */
export async function fetchIdentity(def: ProviderDefinition, token: TokenResponse): Promise<Identity | undefined> {
  const identity = def.identity;
  if (!identity?.url) return undefined;
  const { status, json } = await requestJson(identity.url, "identity endpoint", { headers: { authorization: `Bearer ${token.access_token}` } });
  if (status < 200 || status >= 300) throw new Error(`the identity endpoint ${displayUrl(new URL(identity.url))} answered ${status}`);
  if (!json) throw new Error(`the identity endpoint ${displayUrl(new URL(identity.url))} did not answer with a JSON object`);
  return identityFrom(identity, json);
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
    host_url: def.host_url ?? null,
    scopes,
    access_token: token.access_token,
    refresh_token: token.refresh_token ?? null,
    token_type: token.token_type,
    expires_at: expiresAt(token.expires_in),
    account: { id: account?.id ?? null, label: account?.label ?? null },
  });
}

/** Gets a token for a resolved client; pkce, device code and dcr differ only here. */
export type TokenFlow = (ctx: FlowContext, client: OAuthClient, scopes: string[]) => Promise<TokenResponse>;

/** An OAuth 2.0 login: the client, the token, who it belongs to, the record to store. */
export async function oauthLogin(ctx: FlowContext, client: OAuthClient, getToken: TokenFlow): Promise<FlowResult> {
  const { definition, interaction } = ctx;
  const scopes = ctx.options.scopes ?? definition.oauth?.scopes ?? [];
  const token = await getToken(ctx, client, scopes);
  const account = await fetchIdentity(definition, token).catch((err: unknown) => {
    interaction.say(`warning: could not read the account identity: ${err instanceof Error ? err.message : "unknown error"}`);
    return undefined;
  });
  return {
    record: oauthConnection(definition, { profile: ctx.profile, connection: ctx.connection }, token, scopes, account),
    client: { client_id: client.clientId, client_secret: client.clientSecret ?? null },
  };
}

/** The client for a login with a pre-registered client: --client-id, env, stored, or asked. */
export async function configuredClient(ctx: FlowContext): Promise<OAuthClient> {
  if (!ctx.definition.oauth) throw new UsageError(`provider "${ctx.definition.name}" has no oauth section`);
  const stored = await ctx.connections.client(ctx.definition.name).catch(() => undefined);
  const client = await resolveClient(ctx.definition, { clientId: ctx.options.clientId, env: ctx.interaction.env, stored, ask: ctx.interaction.ask });
  await assertClientOfOthers(ctx, { field: "client_id", stored: stored?.client_id, next: client.clientId });
  return client;
}

/** The code flow with PKCE; `issuer`: the discovered authorization server the callback must come from. */
export const pkceToken =
  (issuer?: ExpectedIssuer): TokenFlow =>
  (ctx, client, scopes) =>
    pkceLogin(ctx.definition, { client, scopes, port: ctx.options.port, timeoutMs: ctx.options.timeoutMs, interaction: ctx.interaction, ...(issuer ? { issuer } : {}) });

export const pkceFlow = async (ctx: FlowContext): Promise<FlowResult> => oauthLogin(ctx, await configuredClient(ctx), pkceToken());

export const deviceFlow = async (ctx: FlowContext): Promise<FlowResult> =>
  oauthLogin(ctx, await configuredClient(ctx), (c, client, scopes) => deviceLogin(c.definition, { client, scopes, timeoutMs: c.options.timeoutMs, interaction: c.interaction }));
