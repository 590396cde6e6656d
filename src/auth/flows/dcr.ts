// dcr_pkce: discover the authorization server, register a client for this machine's exact
// redirect URI (RFC 7591) unless one is already registered for it, then log in with PKCE.
import { AuthenticationError, UsageError } from "../../errors.js";
import { redirectUriFor } from "../../input/callback-server.js";
import type { ClientAuthMethod, ProviderDefinition } from "../../providers/schema.js";
import { assertClientOfOthers, otherConnectionsOfClient, registration, type Registration } from "../client-credentials.js";
import { authorizationServerMetadata, protectedResourceAuthorizationServers, type AuthorizationServerMetadata } from "../discovery.js";
import { clean, displayUrl, requestJson } from "../http.js";
import type { FlowContext, FlowResult } from "../login.js";
import type { OAuthClient } from "../token-client.js";
import { configuredClient, oauthLogin, pkceToken } from "./oauth-login.js";

const CLIENT_NAME = "authsome";

export async function dcrFlow(ctx: FlowContext): Promise<FlowResult> {
  const base = ctx.definition;
  if (!base.oauth) throw new UsageError(`provider "${base.name}" has no oauth section`);
  const server = await discover(base);
  const endpoints = {
    authorization_url: server.authorization_endpoint,
    token_url: server.token_endpoint,
    revocation_url: server.revocation_endpoint ?? base.oauth.revocation_url ?? null,
  };
  const definition: ProviderDefinition = { ...base, oauth: { ...base.oauth, ...endpoints } };
  const flow = { ...ctx, definition };
  // the callback must come from the server discovered here (RFC 9207), with its iss when it says it sends one
  const tokenFlow = pkceToken({ value: server.issuer, required: server.authorization_response_iss_parameter_supported === true });

  // A pre-registered client given by the person wins over registering one.
  if (ctx.options.clientId || (base.oauth.client_id_env && ctx.interaction.env[base.oauth.client_id_env]?.trim())) {
    return oauthLogin(flow, await configuredClient(flow), tokenFlow);
  }

  const redirectUri = redirectUriFor(ctx.options.port);
  const storedClient = await ctx.connections.client(base.name).catch(() => undefined);
  const stored = registration(storedClient);
  let client: OAuthClient;
  let registered: Registration;
  // --force starts afresh with a new registration (the server may have forgotten the stored client,
  // whose login page then never comes back), unless other connections were issued to that client
  const afresh = ctx.options.force && (await otherConnectionsOfClient(ctx, "client_id")).length === 0;
  if (!afresh && stored && storedClient?.client_id && stored.redirect_uri === redirectUri && stored.issuer === server.issuer) {
    client = { clientId: storedClient.client_id, clientSecret: storedClient.client_secret, authMethod: stored.token_endpoint_auth_method };
    registered = { ...stored, endpoints };
  } else {
    // a new registration replaces the provider's client: not while other connections were issued to it
    const sameServer = stored?.issuer === server.issuer;
    const port = stored?.redirect_uri ? new URL(stored.redirect_uri).port : "";
    await assertClientOfOthers(ctx, {
      field: "client_id",
      stored: storedClient?.client_id,
      next: undefined,
      registering: { redirectUri, hint: sameServer && port ? `log in with --port ${port} to use that client (its redirect URI is ${stored!.redirect_uri})` : `the authorization server is now ${server.issuer}` },
    });
    client = await register(server, redirectUri, ctx.options.scopes ?? base.oauth.scopes ?? []);
    registered = { token_endpoint_auth_method: client.authMethod, redirect_uri: redirectUri, issuer: server.issuer, endpoints };
    ctx.interaction.say(`Registered a client with ${base.display_name} for ${redirectUri}.`);
  }
  const result = await oauthLogin(flow, client, tokenFlow);
  return { ...result, client: { ...result.client, metadata: { registration: registered } } };
}

/** The authorization server's metadata: from the resource's metadata, the issuer, or the definition. */
async function discover(def: ProviderDefinition): Promise<AuthorizationServerMetadata> {
  const oauth = def.oauth!;
  const issuers: string[] = [];
  if (oauth.resource_url) issuers.push(...(await protectedResourceAuthorizationServers(oauth.resource_url)));
  issuers.push(oauth.issuer ?? new URL(oauth.authorization_url).origin);
  for (const issuer of [...new Set(issuers)]) {
    const meta = await authorizationServerMetadata(issuer);
    if (!meta) continue;
    // a server that does not list S256 does not do PKCE (absent: none at all, RFC 8414 §2); MCP clients must refuse it
    const methods = Array.isArray(meta.code_challenge_methods_supported) ? meta.code_challenge_methods_supported : undefined;
    if (!methods?.includes("S256")) {
      const said = methods ? `only ${methods.map((m) => JSON.stringify(clean(String(m), 20))).join(", ")}` : "none";
      throw new AuthenticationError(`the authorization server ${meta.issuer} does not support PKCE with S256 (its metadata lists ${said} in code_challenge_methods_supported)`, {
        hint: "this provider cannot be used with dcr_pkce",
      });
    }
    return { ...meta, registration_endpoint: meta.registration_endpoint ?? oauth.registration_endpoint ?? undefined };
  }
  // Nothing published: the definition's own endpoints (and its word on PKCE), when it names a registration endpoint.
  if (!oauth.registration_endpoint) {
    throw new AuthenticationError(`could not discover ${def.display_name}'s authorization server, and its definition names no registration_endpoint`, {
      hint: "log in with a client registered by hand: --flow pkce --client-id ID",
    });
  }
  return {
    issuer: issuers[issuers.length - 1]!,
    authorization_endpoint: oauth.authorization_url,
    token_endpoint: oauth.token_url,
    registration_endpoint: oauth.registration_endpoint,
  };
}

const PREFERRED_AUTH: ClientAuthMethod[] = ["none", "client_secret_basic", "client_secret_post"];

/** RFC 7591: a client for exactly this redirect URI; a public client with PKCE where allowed. */
async function register(server: AuthorizationServerMetadata, redirectUri: string, scopes: string[]): Promise<OAuthClient> {
  if (!server.registration_endpoint) {
    throw new AuthenticationError(`the authorization server ${server.issuer} does not offer dynamic client registration`, {
      hint: "log in with a client registered by hand: --flow pkce --client-id ID",
    });
  }
  const supported = server.token_endpoint_auth_methods_supported;
  const method = PREFERRED_AUTH.find((m) => !supported || supported.includes(m));
  if (!method) throw new AuthenticationError(`the authorization server ${server.issuer} supports none of ${PREFERRED_AUTH.join(", ")}`);
  const request: Record<string, unknown> = {
    client_name: CLIENT_NAME,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: method,
  };
  if (scopes.length) request.scope = scopes.join(" ");

  const endpoint = displayUrl(new URL(server.registration_endpoint));
  const { status, json } = await requestJson(server.registration_endpoint, "registration endpoint", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  }).catch((err: unknown) => {
    throw new AuthenticationError(err instanceof Error ? err.message : "registration failed", { hint: "check the network connection and try again" });
  });
  if (status !== 201 && status !== 200) {
    const error = typeof json?.error === "string" ? `: ${clean(json.error, 100)}` : "";
    const description = typeof json?.error_description === "string" ? `: ${clean(json.error_description, 300)}` : "";
    throw new AuthenticationError(`the registration endpoint ${endpoint} refused to register a client (HTTP ${status})${error}${description}`, {
      hint: "the provider may not allow dynamic registration for this redirect URI or these scopes",
    });
  }
  const clientId = json?.client_id;
  if (typeof clientId !== "string" || !clientId) {
    throw new AuthenticationError(`the registration endpoint ${endpoint} answered without a client_id`);
  }
  const secret = typeof json?.client_secret === "string" && json.client_secret ? json.client_secret : null;
  const answered = json?.token_endpoint_auth_method;
  const authMethod = (PREFERRED_AUTH as string[]).includes(answered as string) ? (answered as ClientAuthMethod) : secret ? "client_secret_basic" : method;
  return { clientId, clientSecret: secret, authMethod };
}
